"""A backlog of real weeks: six deliveries dropped at once, run by the sensor and by an asset backfill, against the
bare loop over the same files.

Six weeks are cut from sample2 (a different 45 % of its listings each, about 21,000 clean listings, dated a week
apart) once. Then, over those same files, one after another on this machine:

- the bare loop: `benchmarks/bare_pipeline.py`'s work (read, clean, split, fit, score) for each file in turn, in
  one process, with the platform's default model;
- the sensor: the six files in incoming/ of a fresh home, then `dagster dev` with the repository's
  `.dagster/dagster.yaml` and the sensor's shipped interval; timed from `dagster dev`'s start to the end of the
  sixth week's run;
- a backfill: the same on another fresh home with the sensor switched off, and one asset backfill of the six
  weekly assets over the six weeks, launched as the UI's Materialize dialog launches it; timed from the launch
  to the end of the last run.

Prints JSON: the three walls, each over the bare loop's, and each side's per-week spread (median, slowest,
slowest over median).

    .venv/bin/python benchmarks/backlog.py [--samples DIR] [--weeks 6] [--share 0.45]      (make bench-backlog)
"""

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
from e2e import DEFAULT_SAMPLES  # noqa: E402
from year import bare_loop, platform_backfill, spread  # noqa: E402

from nyc_rental.core.delivery import week_start  # noqa: E402
from nyc_rental.settings import DEFAULT_SENSOR_INTERVAL_SECONDS  # noqa: E402
from nyc_rental_tests.integration.dagster_dev import DagsterDev  # noqa: E402

FIRST_DAY = dt.date(2019, 7, 3)


def cut_weeks(sample: Path, folder: Path, weeks: int, share: float) -> list[Path]:
    """`weeks` deliveries a week apart, each a different `share` of the sample's listings."""
    listings = pd.read_csv(sample)
    paths = []
    for number in range(weeks):
        path = folder / f"listings_{FIRST_DAY + dt.timedelta(weeks=number)}.csv"
        listings.sample(frac=share, random_state=number).to_csv(path, index=False)
        paths.append(path)
    return paths


def week_of(path: Path) -> str:
    return week_start(dt.date.fromisoformat(path.stem.removeprefix("listings_"))).isoformat()


def finished_runs(dev: DagsterDev, weeks: list[str], since: float) -> dict:
    ended = {week: dev.wait_for_run(week, timeout=900) for week in weeks}
    failed = [week for week, run in ended.items() if run["status"] != "SUCCESS"]
    if failed:
        reasons = "\n".join(f"{week}: {dev.failure_text(ended[week]['runId'])[-2000:]}" for week in failed)
        raise RuntimeError(f"weeks {failed} did not succeed:\n{reasons}")
    durations = [run["endTime"] - run["startTime"] for run in ended.values()]
    return {
        "seconds": round(max(run["endTime"] for run in ended.values()) - since, 1),
        "first_run_started_after": round(min(run["startTime"] for run in ended.values()) - since, 1),
        **spread(durations),
    }


def by_sensor(deliveries: list[Path], root: Path) -> dict:
    (root / "home" / "incoming").mkdir(parents=True)
    for path in deliveries:
        (root / "home" / "incoming" / path.name).write_bytes(path.read_bytes())
    dev = DagsterDev(root / "home", root / "dagster_home", sensor_interval=DEFAULT_SENSOR_INTERVAL_SECONDS)
    started = time.time()
    dev.start()
    try:
        return finished_runs(dev, [week_of(path) for path in deliveries], started)
    finally:
        dev.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=Path(os.environ.get("NYC_RENTAL_SAMPLES") or DEFAULT_SAMPLES))
    parser.add_argument("--weeks", type=int, default=6)
    parser.add_argument("--share", type=float, default=0.45, help="the share of sample2's listings in each week")
    args = parser.parse_args()
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "weeks": args.weeks, "share": args.share}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "deliveries").mkdir()
        deliveries = cut_weeks(args.samples / "sample2.csv", root / "deliveries", args.weeks, args.share)
        with contextlib.redirect_stdout(sys.stderr):
            report["bare_loop"] = bare_loop(deliveries, root / "bare")
        print(json.dumps({"bare_loop": report["bare_loop"]}), file=sys.stderr, flush=True)
        report["sensor"] = by_sensor(deliveries, root / "sensor")
        print(json.dumps({"sensor": report["sensor"]}), file=sys.stderr, flush=True)
        report["backfill"] = platform_backfill(deliveries, root / "backfill")
    bare = report["bare_loop"]["seconds"]
    report["sensor_over_bare"] = round(report["sensor"]["seconds"] / bare, 2)
    report["backfill_over_bare"] = round(report["backfill"]["seconds"] / bare, 2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
