"""`analytics-warehouse ui`: the Dagster UI and daemon over the project's code location.

It runs `dagster dev -w workspace.yaml` in the working directory with the settings every
command reads (the environment over its `.env`, where the demo wrote its own), on the
instance in DAGSTER_HOME made ready first: the schedule, the sensors and every backfill
launched from the UI run against the same source, zones and warehouse as the demo did,
with nothing set by hand. `dagster dev` stops cleanly on Ctrl-C (SIGINT) only, so a
SIGTERM sent to this command (a service manager, `kill`) is passed on as SIGINT.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

import yaml

from pipelines.configuration import environment
from pipelines.dagster_home import prepare_dagster_home
from warehouse.settings import PROJECT_ROOT

WORKSPACE = PROJECT_ROOT / "workspace.yaml"


def project_workspace(home: Path) -> Path:
    """workspace.yaml with the project folder as each location's working directory, in
    `home`: Dagster resolves a module's relative working directory from the folder it runs
    in, where a `warehouse/` folder of data would shadow the package."""
    workspace = yaml.safe_load(WORKSPACE.read_text())
    for location in workspace["load_from"]:
        location["python_module"]["working_directory"] = str(PROJECT_ROOT)
    written = home / "workspace.yaml"
    written.write_text(yaml.safe_dump(workspace, sort_keys=False))
    return written


def run_ui(host: str, port: int) -> int:
    """Runs the UI until it is stopped; returns its exit status."""
    env = environment()
    home = prepare_dagster_home(env)
    env["DAGSTER_HOME"] = str(home)
    dagster = Path(sys.executable).with_name("dagster")
    workspace = project_workspace(home)
    command = [str(dagster), "dev", "-w", str(workspace), "-h", host, "-p", str(port)]
    print(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={home}); Ctrl-C stops it")
    # in the working directory, where Dagster reads the same .env again
    process = subprocess.Popen(command, env=env)

    def stop(signum: int, frame: FrameType | None) -> None:
        process.send_signal(signal.SIGINT)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                process.send_signal(signal.SIGINT)  # and wait for it to stop its children
    finally:
        signal.signal(signal.SIGTERM, previous)
