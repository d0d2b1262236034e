"""Backfills of 4, 8 and 16 synthetic weeks under `dagster dev` with the shipped instance settings.

For each size, on a fresh temporary home and Dagster instance (the repository's `.dagster/dagster.yaml`: two
runs at once, one step per pool): `dagster dev` starts, the sensor is switched off, the demo's generator
writes that many consecutive weekly deliveries of 20,000 listings to incoming/, and one asset backfill of all
six assets over those weeks is launched the way the UI's Materialize dialog launches it. Timed from the launch
to the end of the last run. Prints JSON: total seconds, seconds per week, run durations, the most runs in
flight at once, and each week's model step (wall seconds, `fit_seconds`, threads, slowest over fastest) for
each size; the spread of seconds per week across sizes (flat means the cost of a week
does not grow with the backfill); and a line through the totals: fixed seconds per backfill plus marginal
seconds per week.

    .venv/bin/python benchmarks/backfill.py [--weeks 4,8,16] [--rows 20000]
"""

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from nyc_rental.cli.demo import DEMO_START, write_demo_deliveries  # noqa: E402
from nyc_rental.core.delivery import week_start  # noqa: E402
from nyc_rental_tests.integration.dagster_dev import DagsterDev, max_in_flight  # noqa: E402

ASSETS = ["raw_listings", "clean_listings", "validated_listings", "splits", "model", "test_metrics"]


def start_dev(root: Path) -> DagsterDev:
    """`dagster dev` over a fresh home and instance under `root`."""
    (root / "home" / "incoming").mkdir(parents=True)
    return DagsterDev(root / "home", root / "dagster_home").start()


def one_backfill(weeks: int, rows: int, seed: int, start=start_dev) -> dict:
    """One backfill of `weeks` fresh synthetic weeks on what `start(root)` starts (a DagsterUI with `home`,
    `stop_sensor`, `stop`, `log_tail`): `dagster dev` by default."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        dev = start(root)
        try:
            dev.stop_sensor()
            with contextlib.redirect_stdout(sys.stderr):
                paths = write_demo_deliveries(dev.home / "incoming", weeks, rows, DEMO_START, seed)
            keys = [week_start(dt.date.fromisoformat(p.stem.removeprefix("listings_"))).isoformat() for p in paths]
            launched = time.time()
            backfill = dev.wait_for_backfill(dev.launch_backfill(keys, ASSETS), timeout=600 + 240 * weeks)
            runs = backfill["runs"]
            failed = [r["runId"] for r in runs if r["status"] != "SUCCESS"]
            if failed or len(runs) != weeks:
                raise RuntimeError(f"backfill of {weeks} weeks: {len(runs)} runs, failed: {failed}\n{dev.log_tail()}")
            model_steps = [model_step(dev, run["runId"]) for run in runs]
        finally:
            dev.stop()
    total = max(r["endTime"] for r in runs) - launched
    durations = [r["endTime"] - r["startTime"] for r in runs]
    return {
        "weeks": weeks,
        "rows_per_week": rows,
        "total_seconds": round(total, 1),
        "seconds_per_week": round(total / weeks, 1),
        "seconds_to_first_run": round(min(r["startTime"] for r in runs) - launched, 1),
        "run_seconds_median": round(statistics.median(durations), 1),
        "run_seconds_max": round(max(durations), 1),
        "most_runs_in_flight": max_in_flight([(r["startTime"], r["endTime"]) for r in runs]),
        **spread("model_step_seconds", [step["seconds"] for step in model_steps]),
        **spread("fit_seconds", [step["fit_seconds"] for step in model_steps]),
        "model_threads": sorted({step["threads"] for step in model_steps}),
    }


def model_step(dev: DagsterDev, run_id: str) -> dict:
    """The model step of a run: wall seconds from its start to its success, and what it reported."""
    times = {
        event["__typename"]: float(event["timestamp"]) / 1000
        for event in dev.events(run_id)
        if event.get("stepKey") == "model"
        and event["__typename"] in {"ExecutionStepStartEvent", "ExecutionStepSuccessEvent"}
    }
    metadata = dev.materialization(run_id, "model")
    return {
        "seconds": times["ExecutionStepSuccessEvent"] - times["ExecutionStepStartEvent"],
        "fit_seconds": float(metadata["fit_seconds"]),
        "threads": metadata.get("threads"),
    }


def spread(name: str, values: list[float]) -> dict:
    """Each value (sorted) and the slowest over the fastest: 1.0 means every week took the same time."""
    return {name: sorted(round(v, 1) for v in values), f"{name}_max_over_min": round(max(values) / min(values), 2)}


def flatness(backfills: list[dict]) -> dict:
    """Whether a week costs the same in small and large backfills.

    Besides total / weeks, a least-squares line total = fixed + weeks x marginal splits the cost into what a
    backfill pays once (the daemon picking it up, the first run starting alone) and what each week adds.
    """
    per_week = [b["seconds_per_week"] for b in backfills]
    figures = {"seconds_per_week_max_over_min": round(max(per_week) / min(per_week), 2)}
    if len(backfills) > 1:
        weeks, totals = [b["weeks"] for b in backfills], [b["total_seconds"] for b in backfills]
        mean_weeks, mean_total = statistics.fmean(weeks), statistics.fmean(totals)
        slope = sum((w - mean_weeks) * (t - mean_total) for w, t in zip(weeks, totals)) / sum(
            (w - mean_weeks) ** 2 for w in weeks
        )
        figures["marginal_seconds_per_week"] = round(slope, 1)
        figures["fixed_seconds_per_backfill"] = round(mean_total - slope * mean_weeks, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", default="4,8,16", help="backfill sizes, comma-separated")
    parser.add_argument("--rows", type=int, default=20_000, help="listings per weekly delivery")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "backfills": []}
    for weeks in (int(n) for n in args.weeks.split(",")):
        figures = one_backfill(weeks, args.rows, args.seed)
        print(json.dumps(figures), file=sys.stderr, flush=True)
        report["backfills"].append(figures)
    report |= flatness(report["backfills"])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
