"""A year of weeks: 52 weekly synthetic deliveries backfilled on the embedded default, against the bare loop.

The demo's generator writes 52 consecutive weekly deliveries (20,000 listings each, one market evolving week
after week) once. Then, over those same files:

- the bare loop: `benchmarks/bare_pipeline.py`'s work (read, clean, split, fit, score) for each file in turn, in
  one process, with the platform's default model;
- the platform: `dagster dev` on a fresh home and instance with the repository's `.dagster/dagster.yaml` (the
  shipped settings), the sensor switched off, the 52 files in incoming/, and one asset backfill of the six
  weekly assets over the 52 weeks, launched as the UI's Materialize dialog launches it, timed from the launch
  to the end of the last run.

Prints JSON: both walls, the platform's over the bare loop's, and each side's per-week spread (median, slowest,
slowest over median).

    .venv/bin/python benchmarks/year.py [--weeks 52] [--rows 20000]      (make bench-year)
"""

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from backfill import ASSETS, start_dev  # noqa: E402
from bare_pipeline import run as bare_week  # noqa: E402

from nyc_rental.cli.demo import DEMO_START, write_demo_deliveries  # noqa: E402
from nyc_rental.core.delivery import week_start  # noqa: E402
from nyc_rental.core.training import ModelParams  # noqa: E402


def spread(seconds: list[float]) -> dict:
    median = statistics.median(seconds)
    return {
        "week_seconds_median": round(median, 1),
        "week_seconds_max": round(max(seconds), 1),
        "week_max_over_median": round(max(seconds) / median, 2),
    }


def bare_loop(deliveries: list[Path], out: Path) -> dict:
    estimator = ModelParams().estimator
    started = time.perf_counter()
    weeks = [bare_week(path, out / path.stem, estimator)["seconds"] for path in deliveries]
    return {"estimator": estimator, "seconds": round(time.perf_counter() - started, 1), **spread(weeks)}


def platform_backfill(deliveries: list[Path], root: Path) -> dict:
    dev = start_dev(root)
    try:
        dev.stop_sensor()
        for path in deliveries:
            shutil.copy(path, dev.home / "incoming" / path.name)
        weeks = [week_start(dt.date.fromisoformat(p.stem.removeprefix("listings_"))).isoformat() for p in deliveries]
        launched = time.time()
        backfill = dev.wait_for_backfill(dev.launch_backfill(weeks, ASSETS), timeout=600 + 240 * len(weeks))
        runs = backfill["runs"]
        failed = [run["runId"] for run in runs if run["status"] != "SUCCESS"]
        if failed or len(runs) != len(weeks):
            raise RuntimeError(f"{len(runs)} runs for {len(weeks)} weeks, failed: {failed}\n{dev.log_tail()}")
    finally:
        dev.stop()
    durations = [run["endTime"] - run["startTime"] for run in runs]
    return {"seconds": round(max(run["endTime"] for run in runs) - launched, 1), "runs": len(runs), **spread(durations)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--rows", type=int, default=20_000, help="listings per weekly delivery")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "deliveries").mkdir()
        with contextlib.redirect_stdout(sys.stderr):
            deliveries = write_demo_deliveries(root / "deliveries", args.weeks, args.rows, DEMO_START, args.seed)
        bare = bare_loop(deliveries, root / "bare")
        print(json.dumps({"bare_loop": bare}), file=sys.stderr, flush=True)
        backfill = platform_backfill(deliveries, root / "platform")
    print(
        json.dumps(
            {
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "weeks": args.weeks,
                "rows_per_week": args.rows,
                "bare_loop": bare,
                "platform_backfill": backfill,
                "platform_over_bare": round(backfill["seconds"] / bare["seconds"], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
