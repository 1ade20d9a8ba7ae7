"""The benchmark's tables: rows with a target and a verdict, the machine line, RESULTS.md.

Shared by `bench.run_benchmark` (a day against PostgreSQL's COPY and dlt) and
`bench.backfill` (a year's backfill): every figure issue 13 sets a target for is printed
beside it, with `met` or `missed`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

RESULTS_FILE = Path(__file__).with_name("RESULTS.md")
GIB = 2**30
MIB = 2**20


@dataclass(frozen=True)
class Row:
    """One line of a table; `seconds` is set for timings, which get ratios to the limit.

    `target` is issue 13's bound for the figure (empty when it sets none) and `verdict`
    whether this run met it: `met`, `missed`, or why it cannot say.
    """

    figure: str
    value: str
    seconds: float | None = None
    note: str = ""
    target: str = ""
    verdict: str = ""


def verdict(met: bool | None) -> str:
    """`met` or `missed`; `-` when the figure was not measured."""
    if met is None:
        return "-"
    return "met" if met else "missed"


def at_most(value: float | None, bound: float) -> str:
    return verdict(None if value is None else value <= bound)


def at_least(value: float | None, bound: float) -> str:
    return verdict(None if value is None else value >= bound)


def ratio_of(seconds: float | None, base: float | None) -> float | None:
    return seconds / base if seconds is not None and base else None


def mib(size: int) -> str:
    return f"{size / MIB:.0f} MiB"


def table(header: Sequence[str], lines: Sequence[Sequence[str]], numeric: int = 0) -> str:
    """A Markdown table; the `numeric` columns after the first are right-aligned."""
    alignment = ["---"] + ["---:"] * numeric + ["---"] * (len(header) - 1 - numeric)
    rendered = [f"| {' | '.join(header)} |", f"|{'|'.join(alignment)}|"]
    rendered += [f"| {' | '.join(cells)} |" for cells in lines]
    return "\n".join(rendered)


def target_table(rows: Sequence[Row]) -> str:
    """figure, value, target, verdict, note: a table without a limit to divide by."""
    return table(
        ("figure", "value", "target", "verdict", "note"),
        [(row.figure, row.value, row.target, row.verdict, row.note) for row in rows],
        numeric=1,
    )


def machine(dsn: str | None) -> str:
    """Cores, memory, PostgreSQL version (with a `dsn`) and load: other work on the cores
    skews every timing."""
    postgres = ""
    if dsn is not None:
        with psycopg.connect(dsn) as connection:
            (version,) = connection.execute("show server_version").fetchone() or ("?",)
        postgres = f", PostgreSQL {version}"
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{os.cpu_count()} cores, {memory:.0f} GiB RAM{postgres}; load average at the end {load}"


def heading(title: str, dsn: str | None) -> str:
    """The report's heading: the time, what was measured, and the machine line."""
    return f"## {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: {title}\n\n{machine(dsn)}\n"


def publish(report: str, results_file: Path) -> None:
    """Prints the report and appends it to the results file."""
    print(report)
    with results_file.open("a") as results:
        results.write(f"\n{report}")
