"""Where the platform's own time goes for one week of sample2 (the week `e2e.py` runs).

Each view comes from a fresh process, each run from a fresh temporary home:
- start-up: seconds to import the code location (`import nyc_rental.definitions`, what the UI, the daemon and every run
  process pay), and the import time of each top-level package it pulls in (`-X importtime`, own times summed);
- first run only: creating the MLflow store and the Dagster instance's storage (SQL migrations), which every
  later week finds done (the run below is such a week);
- steps: wall seconds of every step of `weekly_pipeline` in-process (the asset steps and the checks' step),
  split by the run's own events into loading inputs (DuckDB reads), computing, storing the output (DuckDB
  writes) and the rest (type checks such as pandera's, events, metadata); plus the run's set-up and tear-down
  around the steps (resources, the MLflow run);
- by package: a second run under cProfile (which slows it), with each function's own time charged to the
  package it belongs to (duckdb, pandera, mlflow, matplotlib, sklearn, numpy, pandas, dagster,
  nyc_rental.core, ...); time in C built-ins is charged to the package of their caller.
Prints JSON.

    .venv/bin/python benchmarks/profile_week.py [--samples DIR] [--estimator gradient_boosting|random_forest]
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))
from e2e import DEFAULT_SAMPLES, QUIET, WEEK, fresh_home, prepare  # noqa: E402

RUN = """
import cProfile, json, sys, time
from dagster import DagsterEventType, DagsterInstance
from nyc_rental.definitions import build_defs
from pathlib import Path
home, week, run_config, stats_file = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
job = build_defs(home).resolve_job_def("weekly_pipeline")
PHASES = {
    DagsterEventType.STEP_START: "start",
    DagsterEventType.LOADED_INPUT: "inputs_loaded",
    DagsterEventType.STEP_OUTPUT: "output",
    DagsterEventType.HANDLED_OUTPUT: "output_stored",
    DagsterEventType.STEP_SUCCESS: "end",
}
with DagsterInstance.ephemeral() as instance:
    profiler = cProfile.Profile() if stats_file else None
    started = time.time()
    if profiler:
        profiler.enable()
    result = job.execute_in_process(partition_key=week, instance=instance, run_config=run_config)
    if profiler:
        profiler.disable()
        profiler.dump_stats(stats_file)
    ended = time.time()
    assert result.success
    steps = {}
    for record in instance.all_logs(result.run_id):
        event = record.dagster_event
        if event is not None and record.step_key is not None and event.event_type in PHASES:
            steps.setdefault(record.step_key, {})[PHASES[event.event_type]] = record.timestamp
print(json.dumps({"started": started, "ended": ended, "steps": steps}))
"""


def step_phases(moments: dict) -> dict:
    """A step's wall time split into loading its inputs, computing, storing its output, and the rest."""
    start, end = moments["start"], moments["end"]
    loaded = moments.get("inputs_loaded", start)
    computed = moments.get("output", loaded)
    stored = moments.get("output_stored", computed)
    return {
        "seconds": round(end - start, 2),
        "load_inputs": round(loaded - start, 2),
        "compute": round(computed - loaded, 2),
        "store_output": round(stored - computed, 2),
        "events_and_checks": round(end - stored, 2),
    }


def run_week(home: Path, run_config: dict, env: dict, stats_file: str = "") -> dict:
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(home), WEEK, json.dumps(run_config), stats_file],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


# Packages whose own time is reported by name; everything else in site-packages is 'other libraries'.
PACKAGES = (
    "duckdb", "pandera", "mlflow", "matplotlib", "sklearn", "numpy", "scipy", "pandas", "dagster",
    "dagster_mlflow", "dagster_pandera", "sqlalchemy", "alembic", "pydantic", "skops", "threadpoolctl",
)  # fmt: skip


def package_of(filename: str) -> str:
    """The package a profiled function belongs to, from its source file."""
    if filename == "~":
        return "~"
    path = Path(filename).as_posix()
    if "/nyc_rental/core/" in path:
        return "nyc_rental.core"
    if "/nyc_rental/" in path:
        return "nyc_rental (shell)"
    match = re.search(r"site-packages/([^/]+)", path)
    if match:
        name = match.group(1).removesuffix(".py")
        return name if name in PACKAGES else "other libraries"
    return "python stdlib"


def own_time_by_package(stats_file: str) -> dict[str, float]:
    """Self time per package; a C built-in's self time goes to its callers' packages in proportion."""
    import pstats

    stats = pstats.Stats(stats_file).stats
    totals: dict[str, float] = {}
    for (filename, _, _), (_, _, own, _, callers) in stats.items():
        package = package_of(filename)
        if package != "~":
            totals[package] = totals.get(package, 0.0) + own
            continue
        shared = sum(caller[2] for caller in callers.values()) or 1.0
        for (caller_file, _, _), caller in callers.items():
            owner = package_of(caller_file)
            owner = "python stdlib" if owner == "~" else owner
            totals[owner] = totals.get(owner, 0.0) + own * caller[2] / shared
    return dict(sorted(((k, round(v, 2)) for k, v in totals.items() if v >= 0.05), key=lambda kv: -kv[1]))


def import_costs(env: dict) -> dict:
    """Seconds to import the code location, and the import time of each top-level package it pulls in.

    Each module's own import time (`-X importtime`'s self column) is charged to its top-level package, so the
    packages add up to the whole.
    """
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import nyc_rental.definitions"],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    by_package, total = {}, 0.0
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not match:
            continue
        package = match.group(4).split(".")[0].lstrip("_") or match.group(4)
        by_package[package] = by_package.get(package, 0.0) + int(match.group(1)) / 1e6
        if match.group(4) == "nyc_rental.definitions":
            total = int(match.group(2)) / 1e6
    heavy = {name: round(s, 2) for name, s in sorted(by_package.items(), key=lambda kv: -kv[1]) if s >= 0.1}
    return {"import_nyc_rental_seconds": round(total, 2), "import_seconds_by_package": heavy}


def imported_modules(env: dict) -> dict:
    """Which heavy libraries are imported at all by loading the code location."""
    probe = (
        "import sys, json, nyc_rental.definitions; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    return {name: name in loaded for name in ("sklearn", "matplotlib", "mlflow", "pandera", "scipy", "duckdb")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=Path(os.environ.get("NYC_RENTAL_SAMPLES") or DEFAULT_SAMPLES))
    parser.add_argument("--estimator", default="gradient_boosting", choices=["gradient_boosting", "random_forest"])
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NYC_RENTAL_", "MLFLOW_", "DAGSTER_"))}
    run_config = {"ops": {"model": {"config": {"estimator": args.estimator}}}, **QUIET}
    report = {
        "sample": "sample2.csv",
        "week": WEEK,
        "estimator": args.estimator,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "start_up": import_costs(env) | {"imported_by_definitions": imported_modules(env)},
    }
    with tempfile.TemporaryDirectory() as folder:
        report["first_run_only"] = prepare(fresh_home(Path(folder), args.samples / "sample2.csv", prepared=False))
        run = run_week(fresh_home(Path(folder), args.samples / "sample2.csv"), run_config, env)
        moments = sorted(run["steps"].items(), key=lambda item: item[1]["start"])
        report["run_seconds"] = round(run["ended"] - run["started"], 2)
        report["steps"] = {key: step_phases(step) for key, step in moments}
        report["outside_steps_seconds"] = {
            "before_first_step": round(moments[0][1]["start"] - run["started"], 2),
            "after_last_step": round(run["ended"] - max(step["end"] for _, step in moments), 2),
        }
        stats_file = str(Path(folder) / "run.prof")
        profiled = run_week(fresh_home(Path(folder), args.samples / "sample2.csv"), run_config, env, stats_file)
        report["profiled_run_seconds"] = round(profiled["ended"] - profiled["started"], 2)
        report["own_seconds_by_package"] = own_time_by_package(stats_file)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
