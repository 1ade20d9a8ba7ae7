"""What a command shows of its run (pipelines/progress.py): each step's days done of the
days asked on a terminal, nothing but warnings elsewhere."""

import io
import logging

from assets.publishing import PROGRESS
from pipelines.progress import ProgressHandler


def record(step, message, level=logging.INFO):
    entry = logging.LogRecord("run", level, __file__, 1, message, None, None)
    entry.dagster_meta = {"step_key": step, "orig_message": message}
    return entry


def shown(interactive, *records):
    stream = io.StringIO()
    handler = ProgressHandler(stream, interactive)
    for entry in records:
        handler.emit(entry)
    return stream.getvalue()


def test_on_a_terminal_each_step_keeps_one_line_of_its_days_done():
    output = shown(
        True,
        record("events", PROGRESS.format(done=1, total=2)),
        record("events", PROGRESS.format(done=2, total=2)),
        record("daily_tables", PROGRESS.format(done=1, total=2)),
    )
    assert output.split("\n") == [
        "\revents                   1/2 days\revents                   2/2 days",
        "\rdaily_tables             1/2 days",
    ]


def test_off_a_terminal_progress_is_quiet():
    assert shown(False, record("events", PROGRESS.format(done=1, total=2))) == ""


def test_a_warning_is_one_line_either_way():
    warning = record("period_comparison", "as-of dates left out\nmore detail", logging.WARNING)
    assert shown(False, warning) == "warning: period_comparison: as-of dates left out\n"


def test_other_log_lines_are_not_shown():
    assert shown(True, record("events", "events 2025-03-01: 3 rows published")) == ""
