"""One week of sample2 through the platform against the same work as a bare script (`bare_pipeline.py`).

For each model setting (the course forest; the default booster; the booster's sweep) and each of `--repeat`
runs, on a fresh temporary home every time (its MLflow store and Dagster storage already created, as every
week but the first finds them):
- bare: `bare_pipeline.py` in a fresh process;
- in-process: `weekly_pipeline` through `execute_in_process`, timed inside its process (start-up excluded,
  as for the bare script's own figure);
- CLI: `dagster asset materialize --select '*' --partition ...` in a fresh process, as a user runs it;
- with `--preloaded`, the same command in a process that has first imported every library a week imports (a
  warm run process's list, `runtime/warm_runs.py`, and MLflow's module-to-package map), timed from the end of
  those imports: what the command costs beyond importing libraries, a floor that no faster import can go below.
Prints JSON: median wall seconds and peak RSS of each, and the ratios platform / bare (in-process against
the bare script's own time, CLI against the bare script's whole process).

    .venv/bin/python benchmarks/e2e.py [--samples DIR] [--repeat 3] [--settings forest,default,sweep] [--preloaded]
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
DEFAULT_SAMPLES = REPO.parent / "shared" / "data" / "nyc_airbnb"
WEEK, DELIVERY_NAME = "2019-07-08", "listings_2019-07-10.csv"
SETTINGS = {
    "forest": {"estimator": "random_forest"},
    "default": {"estimator": "gradient_boosting"},
    "sweep": {"estimator": "gradient_boosting", "sweep": True},
}
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
IN_PROCESS = """
import json, resource, sys, time
from dagster import DagsterInstance
from nyc_rental.definitions import build_defs
from pathlib import Path
home, week, run_config = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
job = build_defs(home).resolve_job_def("weekly_pipeline")
with DagsterInstance.ephemeral() as instance:
    started = time.perf_counter()
    result = job.execute_in_process(partition_key=week, instance=instance, run_config=run_config)
    seconds = time.perf_counter() - started
assert result.success
print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


# `dagster asset materialize` (its arguments follow) after importing what a warm run process imports; prints the
# seconds from the end of those imports to the command's end.
PRELOADED_CLI = """
import importlib, json, os, sys, time
os.environ.setdefault("MPLBACKEND", "Agg")
from nyc_rental.ml.skops_io import skops_io
from nyc_rental.runtime.warm_runs import PRELOAD
skops_io()
for name in PRELOAD:
    importlib.import_module(name)
from mlflow.utils.requirements_utils import _init_packages_to_modules_map
_init_packages_to_modules_map()
from dagster._cli import main
sys.argv = ["dagster", *sys.argv[1:]]
started = time.perf_counter()
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def timed(command: list[str], env: dict) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and stdout of one fresh process (reaped with wait4 for its own rusage)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, cwd=REPO)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0), err.seek(0)
        if process.returncode:
            raise RuntimeError(f"{' '.join(command[:4])} ... failed:\n{err.read().decode()[-3000:]}")
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


# Every weekly run but the very first finds the MLflow store and the Dagster instance's storage created.
# Creating them (SQL migrations) costs about 3 s and 1 s once; `profile_week.py` reports it apart.
PREPARE = """
import json, sys, time
from pathlib import Path
from dagster import DagsterInstance
from nyc_rental import settings
from nyc_rental.ml.tracking import EXPERIMENT, ensure_experiment
home = Path(sys.argv[1])
started = time.perf_counter()
ensure_experiment(settings.mlflow_tracking_uri(home), EXPERIMENT, str(settings.mlflow_artifact_root(home)))
store = time.perf_counter()
DagsterInstance.from_config(str(home / "dagster")).dispose()
ended = time.perf_counter()
seconds = {"mlflow_store_seconds": store - started, "dagster_storage_seconds": ended - store}
print(json.dumps({key: round(value, 2) for key, value in seconds.items()}))
"""


def fresh_home(root: Path, sample: Path, prepared: bool = True) -> Path:
    """A new NYC_RENTAL_HOME with the week's delivery in incoming/ (DAGSTER_HOME is its dagster/)."""
    home = Path(tempfile.mkdtemp(dir=root))
    (home / "incoming").mkdir()
    shutil.copyfile(sample, home / "incoming" / DELIVERY_NAME)
    (home / "dagster").mkdir()
    shutil.copyfile(REPO / ".dagster" / "dagster.yaml", home / "dagster" / "dagster.yaml")
    if prepared:
        prepare(home)
    return home


def prepare(home: Path) -> dict:
    """Create the home's MLflow store and Dagster storage; how long each took."""
    done = subprocess.run([sys.executable, "-c", PREPARE, str(home)], check=True, cwd=REPO, capture_output=True)
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def cli_week(root: Path, sample: Path, run_config: dict, env: dict) -> tuple[list[str], dict]:
    """A fresh home for one CLI week: the arguments of `dagster asset materialize` after `dagster`, and the
    command's environment."""
    home = fresh_home(root, sample)
    config = home / "run_config.yaml"
    config.write_text(yaml.safe_dump(run_config))
    args = ["asset", "materialize", "-m", "nyc_rental.definitions", "--select", "*", "--partition", WEEK]
    env = {**env, "NYC_RENTAL_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    return [*args, "-c", str(config)], env


def one_round(root: Path, sample: Path, setting: dict, preloaded: bool = False) -> dict:
    python = sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NYC_RENTAL_", "MLFLOW_", "DAGSTER_"))}
    run_config = {"ops": {"model": {"config": setting}}, **QUIET}
    figures = {}

    home = fresh_home(root, sample)
    estimator = setting["estimator"]
    wall, peak, out = timed(
        [python, str(BENCHMARKS / "bare_pipeline.py"), str(sample), str(home / "bare"), "--estimator", estimator]
        + (["--sweep"] if setting.get("sweep") else []),
        env,
    )
    bare = json.loads(out)
    figures["bare"] = {"seconds": bare["seconds"], "process_seconds": wall, "peak_rss_mb": bare["peak_rss_mb"]}

    home = fresh_home(root, sample)
    _, _, out = timed([python, "-c", IN_PROCESS, str(home), WEEK, json.dumps(run_config)], env)
    figures["in_process"] = json.loads(out)

    args, cli_env = cli_week(root, sample, run_config, env)
    wall, peak, _ = timed([str(Path(python).parent / "dagster"), *args], cli_env)
    figures["cli"] = {"seconds": wall, "peak_rss_mb": peak}
    if preloaded:
        args, cli_env = cli_week(root, sample, run_config, env)
        _, _, out = timed([python, "-c", PRELOADED_CLI, *args], cli_env)
        figures["cli_preloaded"] = json.loads(out.strip().splitlines()[-1])
    return figures


def median_of(rounds: list[dict], kind: str, key: str) -> float:
    return round(statistics.median(r[kind][key] for r in rounds), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=Path(os.environ.get("NYC_RENTAL_SAMPLES") or DEFAULT_SAMPLES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--settings", default="forest,default,sweep")
    parser.add_argument("--preloaded", action="store_true", help="also the CLI week with its libraries imported first")
    args = parser.parse_args()
    sample = args.samples / "sample2.csv"
    report = {"sample": sample.name, "machine": f"{platform.machine()}, {os.cpu_count()} cores", "repeat": args.repeat}
    with tempfile.TemporaryDirectory() as folder:
        for name in args.settings.split(","):
            rounds = [one_round(Path(folder), sample, SETTINGS[name], args.preloaded) for _ in range(args.repeat)]
            figures = {
                "bare_seconds": median_of(rounds, "bare", "seconds"),
                "bare_process_seconds": median_of(rounds, "bare", "process_seconds"),
                "bare_peak_rss_mb": median_of(rounds, "bare", "peak_rss_mb"),
                "in_process_seconds": median_of(rounds, "in_process", "seconds"),
                "in_process_peak_rss_mb": median_of(rounds, "in_process", "peak_rss_mb"),
                "cli_seconds": median_of(rounds, "cli", "seconds"),
                "cli_peak_rss_mb": median_of(rounds, "cli", "peak_rss_mb"),
            }
            figures["in_process_over_bare"] = round(figures["in_process_seconds"] / figures["bare_seconds"], 2)
            figures["cli_over_bare_process"] = round(figures["cli_seconds"] / figures["bare_process_seconds"], 2)
            if args.preloaded:
                figures["cli_preloaded_seconds"] = median_of(rounds, "cli_preloaded", "seconds")
                preloaded = figures["cli_preloaded_seconds"] / figures["bare_process_seconds"]
                figures["cli_preloaded_over_bare_process"] = round(preloaded, 2)
            report[name] = figures
            print(json.dumps({name: figures}), file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
