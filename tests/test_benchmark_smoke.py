"""The benchmark runs end to end at a tiny size, so it cannot rot. No timing is asserted."""

import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
FIGURES = (
    "limit:",
    "extraction:",
    "whole day:",
    "range: 2 days in one run",
    "range: 2 single-day runs",
    "peer:",
    "peak RSS",
    "lake bytes per event",
)


def test_the_benchmark_appends_its_table_to_the_results_file(postgres_dsn, tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Earlier results\n")
    command = [sys.executable, "-m", "bench.run_benchmark", "--events-per-day", "2000"]
    command += ["--days", "2", "--repeat", "1", "--dsn", postgres_dsn]
    command += ["--results-file", str(results)]
    finished = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    text = results.read_text()
    assert text.startswith("# Earlier results\n")
    assert "2,000 events/day, 2 days, median of 1" in text
    assert "cores" in text and "PostgreSQL" in text
    table_rows = [line for line in text.splitlines() if line.startswith("| ")]
    for figure in FIGURES:
        assert any(row.startswith(f"| {figure}") for row in table_rows), figure
    assert "| figure | value | x limit | x peer | note |" in finished.stdout
