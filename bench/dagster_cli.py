"""Runs of `dagster asset materialize`, the command line an operator uses, timed from outside.

Each run is a fresh process, so its wall time counts everything the command costs
(interpreter, imports, loading the code location, the instance, the run) and its peak
resident memory is its own: `os.wait4` returns the rusage of that one child, where
`getrusage(RUSAGE_CHILDREN)` would give the largest of every child waited for so far.
Dagster's own record of the run (its duration, each step's start and end) is read back
from the instance in `DAGSTER_HOME`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
WAREHOUSE_MODULE = "pipelines.definitions"
FLOOR_MODULE = "bench.floor_definitions"
INSTANCE_SETTINGS = PROJECT_ROOT / "deploy" / "dagster.yaml"
# the project's own packages: their import time is the code location's own modules'
PROJECT_PACKAGES = frozenset({"pipelines", "assets", "warehouse", "bench"})


@dataclass(frozen=True)
class CliRun:
    """One `dagster asset materialize` process and the run it recorded."""

    wall: float  # seconds from starting the process to its exit
    peak_rss: int  # bytes, the process's own maximum resident set
    run_id: str
    duration: float  # Dagster's run duration: run start to run success
    steps: dict[str, float]  # step key: seconds from its start to its end
    before_run: float  # seconds from starting the process to the run's start
    after_run: float  # seconds from the run's success to the process's exit

    def steps_seconds(self, *keys: str) -> float:
        return sum(self.steps[key] for key in keys)


@dataclass(frozen=True)
class ImportProfile:
    """Where a code location's load goes, from `python -X importtime` and a clock."""

    imports: float  # seconds to import the module
    resolution: float  # seconds for the definitions, the repository, selection and job
    packages: dict[str, float]  # top-level package: self seconds of its modules' imports


def wait_for(process: subprocess.Popen[bytes], log: Path) -> int:
    """Waits for the process; its own peak RSS in bytes. A failure raises with its log's end."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        command = " ".join(map(str, process.args))  # type: ignore[arg-type]
        raise RuntimeError(f"{command} exited {process.returncode}:\n{tail}")
    return usage.ru_maxrss * 1024


def peak_rss_of(command: Sequence[str], log: Path) -> int:
    """Peak RSS in bytes of `command`, run in the folder of `log` (with the worktree on the
    path) with its output there."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(_worktree_first())}
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=log.parent, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    return wait_for(process, log)


def _worktree_first() -> list[str]:
    return [str(PROJECT_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]


def _command() -> list[str]:
    dagster = Path(sys.executable).with_name("dagster")
    return [str(dagster)] if dagster.exists() else [sys.executable, "-m", "dagster"]


class DagsterCli:
    """`dagster asset materialize` against one instance folder and one environment.

    `settings` are the ANALYTICS_* variables of the warehouse (the source, the warehouse
    folder, the first partition); any others of this process are left out, and the
    worktree comes first on the path so it is its code that runs. Commands run in the
    instance folder: the project root's `.env` (a developer's demo settings) would
    override these settings.
    """

    def __init__(self, home: Path, settings: Mapping[str, str], logs: Path) -> None:
        self.home = home
        self.logs = logs
        environment = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("ANALYTICS_") and name != "DAGSTER_HOME"
        }
        self.environment = {
            **environment,
            **settings,
            "DAGSTER_HOME": str(home),
            "PYTHONPATH": os.pathsep.join(_worktree_first()),
        }
        self._runs = 0
        home.mkdir(parents=True, exist_ok=True)
        logs.mkdir(parents=True, exist_ok=True)
        settings_file = home / "dagster.yaml"
        if not settings_file.exists():
            settings_file.write_text(INSTANCE_SETTINGS.read_text())
        # the storage is created once here, not by whichever timed run comes first
        self._run_ids()

    def materialize(
        self,
        first: dt.date,
        last: dt.date | None = None,
        select: str = "*",
        module: str = WAREHOUSE_MODULE,
    ) -> CliRun:
        """One run of `select` for the day `first`, or the range [first, last] as one run."""
        before = set(self._run_ids())
        started = time.time()
        process, log = self._start(first, last, select, module)
        peak_rss = wait_for(process, log)
        ended = time.time()
        (run_id,) = set(self._run_ids()) - before
        return self._recorded(run_id, started, ended, peak_rss)

    def in_parallel(
        self, ranges: Sequence[tuple[dt.date, dt.date]], select: str = "*"
    ) -> tuple[float, list[int]]:
        """Wall time of the ranges run at once, one process each, and each one's peak RSS."""
        started = time.perf_counter()
        running = [self._start(first, last, select, WAREHOUSE_MODULE) for first, last in ranges]
        peaks, failures = [], []
        for process, log in running:  # every one is waited for, even after a failure
            try:
                peaks.append(wait_for(process, log))
            except RuntimeError as failure:
                failures.append(failure)
        if failures:
            raise failures[0]
        return time.perf_counter() - started, peaks

    def import_profile(self, module: str = WAREHOUSE_MODULE) -> ImportProfile:
        """Imports and resolution of the code location, as the command does them, in a child."""
        done = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", _PROFILE_SCRIPT, module],
            cwd=self.home,
            env=self.environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"Loading {module} failed:\n{done.stderr[-3000:]}")
        clock = json.loads(done.stdout.strip().splitlines()[-1])
        return ImportProfile(clock["imports"], clock["resolution"], _self_times(done.stderr))

    def _start(
        self, first: dt.date, last: dt.date | None, select: str, module: str
    ) -> tuple[subprocess.Popen[bytes], Path]:
        self._runs += 1
        log = self.logs / f"run-{self._runs:03d}.log"
        partition = (
            ["--partition", first.isoformat()]
            if last is None or last == first
            else ["--partition-range", f"{first}...{last}"]
        )
        command = [*_command(), "asset", "materialize", "-m", module, "--select", select]
        with log.open("wb") as output:
            process = subprocess.Popen(
                [*command, *partition],
                cwd=self.home,
                env=self.environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        return process, log

    def _run_ids(self) -> list[str]:
        from dagster import DagsterInstance

        with DagsterInstance.from_config(str(self.home)) as instance:
            return list(instance.get_run_ids())

    def _recorded(self, run_id: str, started: float, ended: float, peak_rss: int) -> CliRun:
        from dagster import DagsterInstance

        with DagsterInstance.from_config(str(self.home)) as instance:
            stats = instance.get_run_stats(run_id)
            steps = {
                step.step_key: step.end_time - step.start_time
                for step in instance.get_run_step_stats(run_id)
                if step.start_time is not None and step.end_time is not None
            }
        if stats.start_time is None or stats.end_time is None:
            raise RuntimeError(f"Dagster recorded no start or end for run {run_id}")
        return CliRun(
            wall=ended - started,
            peak_rss=peak_rss,
            run_id=run_id,
            duration=stats.end_time - stats.start_time,
            steps=steps,
            before_run=stats.start_time - started,
            after_run=ended - stats.end_time,
        )


# What `dagster asset materialize -m MODULE --select '*'` does before its run starts: import
# the module, then load its definitions (a `@definitions` function, as the warehouse's, is
# called: it reads the configuration and builds them; a module-level `Definitions`, as the
# floor's, was built by the import), resolve the repository, the selection and the
# implicit asset job. Prints the two clocks as JSON; -X importtime writes stderr.
_PROFILE_SCRIPT = """
import importlib, json, sys, time
started = time.perf_counter()
module = importlib.import_module(sys.argv[1])
imported = time.perf_counter()
from dagster import AssetSelection, Definitions
loaded = module.defs if isinstance(module.defs, Definitions) else module.defs()
repository = loaded.get_repository_def()
keys = AssetSelection.from_coercible(["*"]).resolve(repository.asset_graph)
repository.get_implicit_job_def_for_assets(keys)
resolved = time.perf_counter()
print(json.dumps({"imports": imported - started, "resolution": resolved - imported}))
"""


def _self_times(importtime: str) -> dict[str, float]:
    """Seconds of import per top-level package (its modules' self times), largest first."""
    seconds: Counter[str] = Counter()
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        seconds[name.strip().split(".")[0]] += int(own) / 1e6
    return dict(seconds.most_common())


def project_and_libraries(packages: Mapping[str, float], top: int) -> list[tuple[str, float]]:
    """The project's modules as one entry, the `top` largest libraries, and the rest."""
    project = sum(seconds for name, seconds in packages.items() if name in PROJECT_PACKAGES)
    libraries = [(name, s) for name, s in packages.items() if name not in PROJECT_PACKAGES]
    rest = sum(seconds for _, seconds in libraries[top:])
    return [("project modules", project), *libraries[:top], ("other modules", rest)]
