"""The guides' promises that no other test keeps: the README's Quick start and its table of
every variable, the commands and options the guides name, the other-engines snippet and
the export examples of docs/analysts.md and docs/reports.md run as written, and the
refusal sentences docs/operations.md and docs/reports.md quote."""

import argparse
import datetime as dt
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from assets.resources import FromEnvironment
from pipelines.cli import build_parser, main
from pipelines.configuration import CodeLocationSettings
from pipelines.dagster_home import prepare_dagster_home
from tests.e2e.support import fresh_source, pipeline_runner
from warehouse.settings import PROJECT_ROOT, ConfigurationError
from warehouse.tables import DAILY_TABLES

README = PROJECT_ROOT / "README.md"
DOCS = PROJECT_ROOT / "docs"
# the guides this test holds to their word (contract.md, design.md and team-deployment.md
# have their own authors)
GUIDES = [README, DOCS / "analysts.md", DOCS / "operations.md", DOCS / "reports.md"]
RUN_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/analytics-warehouse demo"
)
TEST_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && { [ -x /usr/bin/chromium ] "
    "|| { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium "
    ">/dev/null; }; } && .venv/bin/ruff check . && .venv/bin/ruff format --check . && "
    ".venv/bin/pytest -q -n 4"
)
DEMO_ORGANIZATION = "48492a28-ce06-9bde-0f4f-8e33ae26c8b9"
DEMO_AGENT = "fc8ce2bd-8539-c58e-e4c0-8e63cd9c30b9"
YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
TODAY = YESTERDAY + dt.timedelta(days=1)
COMMAND = str(Path(sys.executable).with_name("analytics-warehouse"))


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


def test_the_quick_start_runs_the_demo_first_and_the_tests_second_each_on_one_line():
    quick_start = _section(README.read_text(), "Quick start")
    blocks = re.findall(r"```\w*\n(.*?)```", quick_start, flags=re.DOTALL)
    assert blocks[0] == RUN_COMMAND + "\n"
    assert blocks[1] == TEST_COMMAND + "\n"  # what .ci/run runs
    assert ".venv/bin/analytics-warehouse ui\n" in blocks
    assert '.venv/bin/pytest -q -m "not e2e"\n' in blocks


def _settings_classes(cls: type) -> list[type]:
    found = []
    for subclass in cls.__subclasses__():
        found += [subclass, *_settings_classes(subclass)]
    return found


def _every_variable() -> set[str]:
    variables = {"DAGSTER_HOME", "DAGSTER_PG_DSN"}  # Dagster's own, read by the commands
    for cls in _settings_classes(FromEnvironment):
        try:
            variables |= set(cls.variables().values())
        except NotImplementedError:  # a base class with no fields of its own
            continue
    return variables


def test_the_configuration_table_lists_every_variable_and_nothing_else():
    table = _section(README.read_text(), "Configuration")
    documented = {
        name
        for line in table.splitlines()
        if line.startswith("| `")
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split(" | ")[0])
    }
    assert CodeLocationSettings in _settings_classes(FromEnvironment)
    assert documented == _every_variable()


def test_the_guides_point_at_files_of_the_clone_and_never_at_a_shared_folder():
    for guide in GUIDES:
        text = guide.read_text()
        assert "../shared" not in text and "metrics.md" not in text, guide.name
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
            if not target.startswith(("http://", "https://")):
                assert (guide.parent / target).exists(), f"{guide.name}: {target}"


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    (action,) = [
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    return dict(action.choices)


def test_every_command_and_option_the_guides_name_exists_with_that_spelling():
    commands = _subcommands()
    seen = set()
    for guide in GUIDES:
        text = re.sub(r"\\\n\s*", " ", guide.read_text())  # continued shell lines
        for command, rest in re.findall(r"analytics-warehouse (\w+)([^`\n]*)", text):
            assert command in commands, f"{guide.name}: analytics-warehouse {command}"
            options = {
                option for action in commands[command]._actions for option in action.option_strings
            }
            used = re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", re.split(r"&&|\|", rest)[0])
            assert [option for option in used if option not in options] == [], (
                f"{guide.name}: analytics-warehouse {command}{rest}"
            )
            seen.add(command)
    assert seen == set(commands)  # every command is documented somewhere


@pytest.fixture(scope="module")
def demo_like(postgres_dsn, tmp_path_factory):
    """The demo's organisation and agent on the last two days, in `data/warehouse` of a
    folder of its own, as a clone would have it: (that folder, the source)."""
    folder = tmp_path_factory.mktemp("clone")
    with fresh_source(postgres_dsn) as source:
        source.insert(
            *(
                {
                    "organization_id": DEMO_ORGANIZATION,
                    "event_type": event_type,
                    "resource_type": "agent",
                    "resource_id": DEMO_AGENT,
                    "properties": {"tokens": 10, "responseTime": 500},
                    "created_at": f"{day} 09:00",
                }
                for day in (YESTERDAY - dt.timedelta(days=1), YESTERDAY)
                for event_type in ("conversation.started", "message.received")
            ),
            {
                "organization_id": uuid.UUID(int=7),
                "event_type": "message.sent",
                "created_at": f"{YESTERDAY} 10:00",
            },
        )
        run = pipeline_runner(source, folder / "data" / "warehouse")
        assert run(
            str(YESTERDAY - dt.timedelta(days=1)),
            str(YESTERDAY),
            select=[spec.name for spec in DAILY_TABLES],
        ).success
        yield folder, source


def test_the_other_engines_snippet_filters_by_an_id_given_as_a_string(demo_like):
    folder, _ = demo_like
    (snippet,) = _code_blocks(
        _section((DOCS / "analysts.md").read_text(), "Other engines"), "python"
    )
    done = subprocess.run(
        [sys.executable, "-c", snippet],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # the organisation's two days, by each engine; the other organisation left out
    assert done.stdout.split() == ["2", "2", "2"]


def test_the_export_examples_run_as_written_on_a_fresh_clone(demo_like, tmp_path):
    folder, _ = demo_like
    export = _section((DOCS / "reports.md").read_text(), "Export")
    examples = _code_blocks(export, "bash")[0]
    assert examples.count("mkdir -p exports &&") == examples.count("analytics-warehouse export")
    done = subprocess.run(
        ["bash", "-e", "-c", examples.replace(".venv/bin/analytics-warehouse", COMMAND)],
        cwd=tmp_path,  # no exports/ folder yet
        env={
            "PATH": "/usr/bin:/bin",
            "ANALYTICS_WAREHOUSE_DIR": str(folder / "data" / "warehouse"),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    written = sorted(path.name for path in (tmp_path / "exports").iterdir())
    assert written == sorted(re.findall(r"--output exports/([\w.]+)", examples))
    assert "exported 0 rows" not in done.stderr  # every example finds the demo's rows


def _error(capsys) -> str:
    return capsys.readouterr().err.strip()


def test_a_selection_naming_no_asset_is_refused_with_the_nearest_names(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    arguments = ["--start", "2025-03-01", "--end", "2025-03-01", "--select", "daily_metrix+"]

    assert main(["materialize", *arguments]) == 2
    assert _error(capsys) == (
        "error: --select names 'daily_metrix', which is no asset of the warehouse; the nearest "
        "are daily_metrics, daily_metrics_local, daily_measurements (analytics-warehouse status "
        "lists them all)"
    )
    assert not (tmp_path / "home").exists()


def test_a_range_published_with_another_zone_setting_is_refused_before_any_run(
    demo_like, tmp_path, monkeypatch, capsys
):
    folder, source = demo_like
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "ANALYTICS_SOURCE_DSN": source.dsn,
        "ANALYTICS_SOURCE_TABLE": source.table,
        "ANALYTICS_WAREHOUSE_DIR": str(folder / "data" / "warehouse"),
        "ANALYTICS_ORG_TIMEZONES_TABLE": "public.organization_zones",
        "DAGSTER_HOME": str(tmp_path / "home"),
    }.items():
        monkeypatch.setenv(name, value)
    first = YESTERDAY - dt.timedelta(days=1)

    assert main(["materialize", "--start", str(first), "--end", str(YESTERDAY)]) == 2
    assert _error(capsys) == (
        f"error: organization_timezones for {first} was published with "
        "ANALYTICS_ORG_TIMEZONES_TABLE=none and this run computes it with "
        "ANALYTICS_ORG_TIMEZONES_TABLE=public.organization_zones: refused, so that "
        "organisations' zones do not change silently; set the variable back to what it was, "
        "or re-run with allow_timezone_change (analytics-warehouse materialize "
        "--allow-timezone-change) if the change is wanted"
    )
    assert not (tmp_path / "home").exists()


def test_an_as_of_in_the_future_or_before_the_first_snapshot_is_refused(
    demo_like, tmp_path, monkeypatch, capsys
):
    folder, _ = demo_like
    monkeypatch.setenv("ANALYTICS_WAREHOUSE_DIR", str(folder / "data" / "warehouse"))
    arguments = ["export", "daily_metrics", "--start", str(YESTERDAY), "--end", str(YESTERDAY)]
    output = ["--output", str(tmp_path / "daily.csv")]

    assert main([*arguments, "--as-of", f"{TODAY + dt.timedelta(days=1)}T00:00", *output]) == 2
    assert _error(capsys).startswith(
        f"error: --as-of {TODAY + dt.timedelta(days=1)}T00:00 is in the future: it is "
    )
    assert main([*arguments, "--as-of", "2025-01-01T00:00", *output]) == 2
    refusal = _error(capsys)
    assert refusal.startswith(
        "error: --as-of 2025-01-01T00:00 is before daily_metrics's first snapshot, "
    )
    assert refusal.endswith(
        "UTC: time travel reaches that far back at most (and no further than "
        "ANALYTICS_SNAPSHOT_RETENTION_DAYS)"
    )
    assert not (tmp_path / "daily.csv").exists()


def test_a_dagster_storage_url_without_the_psycopg2_driver_is_refused(tmp_path):
    with pytest.raises(ConfigurationError) as refused:
        prepare_dagster_home(
            {"DAGSTER_HOME": str(tmp_path), "DAGSTER_PG_DSN": "postgresql://dagster@db/dagster"}
        )
    assert str(refused.value) == (
        "DAGSTER_PG_DSN must start with postgresql+psycopg2:// (the driver Dagster's PostgreSQL "
        "storage is tested with), got postgresql://..."
    )
