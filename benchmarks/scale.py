"""How a week's cost grows with its rows: one synthetic week of 50,000, 200,000 and 500,000 listings.

For each size, in a fresh process on a fresh temporary home (its MLflow store and Dagster storage created):
the demo's generator writes one delivery of that many listings, and `weekly_pipeline` (default model) runs it
in-process while a thread samples the process's resident memory every 20 ms. Each step's wall time comes
from the run's own step events, and its peak RSS is the largest sample inside the step. Prints JSON: per size,
seconds and peak RSS (MB) of every step and of the whole run; and per step the growth exponent of its time
between the smallest and the largest size (1 = linear, below 1 = better than linear).

    .venv/bin/python benchmarks/scale.py [--rows 50000,200000,500000]
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCHMARKS))
from e2e import QUIET, REPO, WEEK, prepare  # noqa: E402

RUN = """
import json, os, resource, sys, threading, time
from pathlib import Path
from dagster import DagsterEventType, DagsterInstance
from nyc_rental.definitions import build_defs

home, week, run_config = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
page, samples, done = os.sysconf("SC_PAGE_SIZE"), [], threading.Event()

def sample():
    with open("/proc/self/statm") as statm:
        while not done.is_set():
            statm.seek(0)
            samples.append((time.time(), int(statm.read().split()[1]) * page / 2**20))
            time.sleep(0.02)

sampler = threading.Thread(target=sample, daemon=True)
job = build_defs(home).resolve_job_def("weekly_pipeline")
with DagsterInstance.ephemeral() as instance:
    sampler.start()
    started = time.time()
    result = job.execute_in_process(partition_key=week, instance=instance, run_config=run_config)
    ended = time.time()
    done.set()
    sampler.join()
    assert result.success
    steps, begun = {}, {}
    for record in instance.all_logs(result.run_id):
        event = record.dagster_event
        if event is None or record.step_key is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            begun[record.step_key] = record.timestamp
        elif event.event_type == DagsterEventType.STEP_SUCCESS:
            start, end = begun[record.step_key], record.timestamp
            inside = [rss for at, rss in samples if start <= at <= end] or [0.0]
            steps[record.step_key] = {"seconds": round(end - start, 2), "peak_rss_mb": round(max(inside))}
    clean_rows = result.asset_materializations_for_node("clean_listings")[0].metadata["rows_out"].value
print(json.dumps({
    "clean_rows": clean_rows,
    "run_seconds": round(ended - started, 2),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "steps": steps,
}))
"""


def one_week(rows: int, root: Path) -> dict:
    from nyc_rental.synthetic import generate_listings, write_delivery

    home = Path(tempfile.mkdtemp(dir=root))
    (home / "incoming").mkdir()
    (home / "dagster").mkdir()
    write_delivery(generate_listings(rows, seed=42), home / "incoming" / "listings_2019-07-10.csv")
    prepare(home)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NYC_RENTAL_", "MLFLOW_", "DAGSTER_"))}
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(home), WEEK, json.dumps(QUIET)],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if done.returncode:
        raise RuntimeError(f"{rows} rows: the run failed:\n{done.stderr[-3000:]}")
    return {"rows": rows, **json.loads(done.stdout.strip().splitlines()[-1])}


def growth(weeks: list[dict]) -> dict:
    """Per step, log(time ratio) / log(rows ratio) between the smallest and the largest week."""
    small, large = weeks[0], weeks[-1]
    rows_ratio = large["rows"] / small["rows"]
    exponents = {}
    for step, figures in large["steps"].items():
        before = small["steps"].get(step, {}).get("seconds")
        if before and figures["seconds"]:
            exponents[step] = round(math.log(figures["seconds"] / before) / math.log(rows_ratio), 2)
    exponents["run"] = round(math.log(large["run_seconds"] / small["run_seconds"]) / math.log(rows_ratio), 2)
    return exponents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="50000,200000,500000", help="week sizes, comma-separated")
    args = parser.parse_args()
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "weeks": []}
    with tempfile.TemporaryDirectory() as folder:
        for rows in sorted(int(n) for n in args.rows.split(",")):
            figures = one_week(rows, Path(folder))
            print(json.dumps(figures), file=sys.stderr, flush=True)
            report["weeks"].append(figures)
    if len(report["weeks"]) > 1:
        report["time_growth_exponent"] = growth(report["weeks"])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
