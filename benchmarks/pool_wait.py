"""What a run costs while its step waits for a concurrency pool slot, under `dagster dev`.

On a fresh temporary home and instance (the repository's `.dagster/dagster.yaml`), the benchmark holds the
`warehouse` pool's only slot itself (as a week writing the warehouse in another run would), drops one synthetic
delivery, and waits until that week's run reaches `raw_listings` and is blocked by the pool. It then samples the
CPU time of the run's process for `--seconds`, frees the slot, and waits for the run to succeed. Prints JSON:
CPU seconds used while blocked, wall seconds, their ratio (1.0 is a whole core), and how long the step took to
start once the slot was free.

    .venv/bin/python benchmarks/pool_wait.py [--seconds 60] [--rows 20000]
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import psutil
from dagster import DagsterInstance

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from nyc_rental.defs.resources import WAREHOUSE_POOL  # noqa: E402
from nyc_rental_tests.helpers import synthetic_delivery  # noqa: E402
from nyc_rental_tests.integration.dagster_dev import DagsterDev, wait_for  # noqa: E402

HOLDER = "pool-wait-benchmark"
WEEK = "2019-07-01"
STEP = "raw_listings"  # the run's first step in the pool


def step_event(dev: DagsterDev, run_id: str, step: str, kind: str) -> dict | None:
    return next(
        (e for e in dev.events(run_id) if e.get("stepKey") == step and e["__typename"] == kind),
        None,
    )


def blocked(dev: DagsterDev, run_id: str) -> bool:
    return any(
        e.get("stepKey") == STEP and "blocked by limit for pool" in (e.get("message") or "") for e in dev.events(run_id)
    )


def measure(seconds: float, rows: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "home" / "incoming").mkdir(parents=True)
        # The shipped instance limits no pool: the benchmark gives `warehouse` one slot, and lets the run launch
        # while that slot is taken (by default the queue holds back a run whose first step's pool is full).
        pools = {"default_limit": 1, "op_granularity_run_buffer": 1}
        dev = DagsterDev(root / "home", root / "dagster_home", pools=pools).start()
        try:
            with DagsterInstance.from_config(str(dev.dagster_home)) as instance:
                storage = instance.event_log_storage
                storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)
                if not storage.claim_concurrency_slot(WAREHOUSE_POOL, HOLDER, STEP).is_claimed:
                    raise RuntimeError("could not take the warehouse pool's slot")
                synthetic_delivery(dev.home / "incoming", "2019-07-02", rows=rows, seed=1)
                run = wait_for("the week's run", lambda: dev.week_runs(WEEK), 180)[0]
                wait_for("its first step to wait for the pool", lambda: blocked(dev, run["runId"]), 300, 0.5)
                process = psutil.Process(dev.run_pid(run["runId"]))
                cpu_before, wall_before = sum(process.cpu_times()[:2]), time.monotonic()
                time.sleep(seconds)
                cpu = sum(process.cpu_times()[:2]) - cpu_before
                wall = time.monotonic() - wall_before
                freed = time.time()
                storage.free_concurrency_slots_for_run(HOLDER)
            done = dev.wait_for_run(WEEK, timeout=600)
            if done["status"] != "SUCCESS":
                raise RuntimeError(f"the run ended {done['status']}\n{dev.log_tail()}")
            started = step_event(dev, run["runId"], STEP, "ExecutionStepStartEvent")
        finally:
            dev.stop()
    return {
        "blocked_cpu_seconds": round(cpu, 2),
        "blocked_wall_seconds": round(wall, 1),
        "cores_used_while_blocked": round(cpu / wall, 3),
        "seconds_from_free_slot_to_step_start": round(float(started["timestamp"]) / 1000 - freed, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long to sample the blocked run")
    parser.add_argument("--rows", type=int, default=20_000, help="listings in the delivery")
    args = parser.parse_args()
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", **measure(args.seconds, args.rows)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
