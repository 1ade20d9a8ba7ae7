"""What a command shows of the run it makes: each step's days done of the days asked.

A run launched by `analytics-warehouse materialize` or `demo` logs to this logger instead
of Dagster's console: on a terminal it keeps one line per step up to date ("daily_tables
23/61 days"), elsewhere (a pipe, CI, cron) it is quiet; a warning of the run (a retried
source read, as-of dates left out) is one line either way. A failed step is not printed
here: the command ends with its sentence (`RunFailed`). Each step reports its progress
through `assets/publishing.py` (`PROGRESS`), which the UI's run log shows too.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any, TextIO

from dagster import Field, InitLoggerContext, LoggerDefinition, logger

from assets.publishing import PROGRESS

_PROGRESS = re.compile(PROGRESS.replace("{done}", r"(\d+)").replace("{total}", r"(\d+)"))


class ProgressHandler(logging.Handler):
    """Writes the run's progress and warnings to `stream`."""

    def __init__(self, stream: TextIO, interactive: bool) -> None:
        super().__init__(level=logging.DEBUG)
        self._stream = stream
        self._interactive = interactive
        self._open_line: str | None = None  # the step whose progress line is not ended

    def emit(self, record: logging.LogRecord) -> None:
        meta: dict[str, Any] = getattr(record, "dagster_meta", {}) or {}
        message = str(meta.get("orig_message") or record.getMessage())
        step = str(meta.get("step_key") or "run")
        found = _PROGRESS.fullmatch(message)
        if found:
            self._progress(step, int(found.group(1)), int(found.group(2)))
        elif record.levelno == logging.WARNING:
            self._line(f"warning: {step}: {message.strip().splitlines()[0]}")

    def _progress(self, step: str, done: int, total: int) -> None:
        if not self._interactive:
            return
        if self._open_line not in (None, step):
            self._stream.write("\n")
        self._stream.write(f"\r{step:<24} {done}/{total} days")
        self._open_line = step
        if done == total:
            self._stream.write("\n")
            self._open_line = None
        self._stream.flush()

    def _line(self, text: str) -> None:
        if self._open_line is not None:
            self._stream.write("\n")
            self._open_line = None
        self._stream.write(text + "\n")
        self._stream.flush()


@logger(
    config_schema={"interactive": Field(bool, default_value=False)},
    description="Each step's days done of the days asked, on a terminal; warnings as lines.",
)
def progress_logger(init_context: InitLoggerContext) -> logging.Logger:
    progress = logging.Logger("analytics-warehouse", level=logging.DEBUG)
    progress.addHandler(ProgressHandler(sys.stderr, init_context.logger_config["interactive"]))
    return progress


PROGRESS_LOGGERS: dict[str, LoggerDefinition] = {"progress": progress_logger}
