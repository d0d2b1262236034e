"""One backfill of synthetic weeks three ways: the embedded default, the production profile with its steps in
each run's process, and the production profile with its steps on two Celery workers.

- `embedded`: `dagster dev` with the repository's `.dagster/dagster.yaml` (two runs at once, one step per pool),
  the DuckDB file, MLflow's SQLite store;
- `production`: `make prod` with the in-process executor (NYC_RENTAL_EXECUTOR=in_process; its one worker
  idles), Postgres behind
  Dagster's instance, the warehouse and MLflow's server, `deploy/dagster.yaml` (four runs at once, no pool
  limits);
- `celery`: the same with two Celery workers (`--concurrency 1` each) executing every step.

Each on fresh databases (created on this machine's Postgres and dropped), a fresh RabbitMQ virtual host and a
fresh home: the sensor is switched off, the demo's generator writes the weekly deliveries, one asset backfill of
all six assets is launched as the UI launches it. Timed from the launch to the end of the last run. Prints JSON:
total and per-week seconds, run durations, the most runs in flight at once, and each week's model step.

    .venv/bin/python benchmarks/production_backfill.py [--weeks 8] [--rows 20000] [--profiles embedded,celery]
"""

import argparse
import json
import os
import platform
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from backfill import one_backfill, start_dev  # noqa: E402

from nyc_rental_tests.integration.production import ProductionStack  # noqa: E402


def starter(profile: str):
    """What one_backfill starts for `profile`."""
    if profile == "embedded":
        return start_dev
    if profile == "celery":
        return lambda root: ProductionStack(root, workers=2).start()
    return lambda root: ProductionStack(root, workers=1, executor="in_process").start()  # the worker stays idle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--rows", type=int, default=20_000, help="listings per weekly delivery")
    parser.add_argument("--profiles", default="embedded,production,celery")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "backfills": []}
    for profile in args.profiles.split(","):
        figures = {
            "profile": profile,
            **one_backfill(args.weeks, args.rows, args.seed, starter(profile)),
        }
        print(json.dumps(figures), file=sys.stderr, flush=True)
        report["backfills"].append(figures)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
