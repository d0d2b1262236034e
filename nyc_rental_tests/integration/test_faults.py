"""Faults under `dagster dev`: a killed run, a restart, a re-delivered fix, and a warehouse held open elsewhere."""

import os
import re
import signal
import time

import duckdb
import pytest
from mlflow.tracking import MlflowClient

from nyc_rental.tracking import CHAMPION, MODEL_NAME
from nyc_rental_tests.helpers import synthetic_delivery, warehouse_held_open, week_counts
from nyc_rental_tests.integration.conftest import new_dev
from nyc_rental_tests.integration.dagster_dev import wait_for

pytestmark = pytest.mark.integration

ROWS = 16_500
TABLES = ("raw_listings", "clean_listings", "validated_listings", "splits", "model", "test_metrics")


def registry(dev) -> MlflowClient:
    uri = f"sqlite:///{dev.home / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def champion(dev) -> str:
    return registry(dev).get_model_version_by_alias(MODEL_NAME, CHAMPION).version


def counts(dev) -> dict[str, dict[str, int]]:
    return {table: week_counts(dev.home, table) for table in TABLES}


def mlflow_status_of(dev, run_id: str) -> list[str]:
    client = registry(dev)
    experiment = client.get_experiment_by_name("nyc_rental")
    return [
        run.info.status for run in client.search_runs([experiment.experiment_id], f"tags.dagster_run_id = '{run_id}'")
    ]


def run_pid(dev, run_id: str) -> int:
    for event in dev.events(run_id):
        found = re.search(r"Started process for run \(pid: (\d+)\)", event.get("message") or "")
        if found:
            return int(found.group(1))
    raise AssertionError(f"no process id in the events of run {run_id}")


def step_started(dev, run_id: str, step: str) -> bool:
    return any(
        event["__typename"] == "ExecutionStepStartEvent" and event["stepKey"] == step for event in dev.events(run_id)
    )


def test_a_killed_run_leaves_the_platform_whole_and_a_restart_keeps_history_and_runs_what_arrived(dev_factory):
    """A run SIGKILLed during `model`, its week rerun, then `dagster dev` stopped and started again."""
    dev = dev_factory()
    incoming = dev.home / "incoming"
    synthetic_delivery(incoming, "2019-07-02", rows=ROWS, seed=1)
    done = dev.wait_for_run("2019-07-01")
    assert done["status"] == "SUCCESS"
    before, champion_before = counts(dev), champion(dev)

    synthetic_delivery(incoming, "2019-07-09", rows=ROWS, seed=2)
    run = wait_for("the week's run", lambda: dev.week_runs("2019-07-08"), 120)[0]
    wait_for("the model step to start", lambda: step_started(dev, run["runId"], "model"), 180, 0.5)
    time.sleep(1)
    os.kill(run_pid(dev, run["runId"]), signal.SIGKILL)

    killed = dev.wait_for_run("2019-07-08", timeout=120)
    assert killed["status"] == "FAILURE"
    with duckdb.connect(str(dev.home / "warehouse.duckdb")) as con:  # opens, read-write: no lock left behind
        con.execute("SELECT count(*) FROM nyc_rental.raw_listings").fetchone()
    after = counts(dev)
    assert {table: rows.get("2019-07-01") for table, rows in after.items()} == {
        table: rows.get("2019-07-01") for table, rows in before.items()
    }
    assert "2019-07-08" not in after["model"] and "2019-07-08" not in after["test_metrics"]
    assert champion(dev) == champion_before
    # The run-failure sensor closes the MLflow run the killed process could not end.
    wait_for(
        "the killed run's MLflow run to be FAILED", lambda: mlflow_status_of(dev, killed["runId"]) == ["FAILED"], 60
    )

    rerun = dev.wait_for_backfill(dev.launch_backfill(["2019-07-08"], list(TABLES)))
    assert rerun["status"] == "COMPLETED_SUCCESS", rerun
    final = counts(dev)
    assert final["raw_listings"]["2019-07-08"] == ROWS  # replaced, not appended to the killed run's rows
    assert all(final[table]["2019-07-08"] == 1 for table in ("model", "test_metrics"))
    assert final["splits"]["2019-07-08"] == final["validated_listings"]["2019-07-08"]

    # Stopped, a delivery lands while it is down, started again on the same instance and homes.
    dev.stop()
    synthetic_delivery(incoming, "2019-07-16", rows=ROWS, seed=3)
    again = dev_factory()
    assert again.wait_for_run("2019-07-15")["status"] == "SUCCESS"
    time.sleep(3 * 2)  # a few more sensor ticks: nothing else may run
    assert [run["runId"] for run in again.week_runs("2019-07-01")] == [done["runId"]]
    assert len(again.week_runs("2019-07-08")) == 2  # the killed run and its rerun, nothing more
    assert len(again.week_runs("2019-07-15")) == 1
    assert len(again.runs()) == 4


@pytest.fixture(scope="module")
def dev_short_lock(tmp_path_factory):
    """One `dagster dev` for the tests below (each uses its own week), with a 5 s warehouse lock timeout."""
    server = new_dev(tmp_path_factory.mktemp("dev"), env={"NYC_RENTAL_LOCK_TIMEOUT_SECONDS": "5"}).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_fixed_file_redelivered_for_a_failed_week_runs_again(dev_short_lock):
    dev = dev_short_lock
    incoming = dev.home / "incoming"
    cut_short = synthetic_delivery(incoming, "2019-07-02", rows=ROWS, seed=1, edit=lambda frame: frame.head(9_000))
    failed = dev.wait_for_run("2019-07-01")
    assert failed["status"] == "FAILURE"
    assert "row_count" in dev.failure_text(failed["runId"])
    assert week_counts(dev.home, "validated_listings") == {}

    cut_short.unlink()
    synthetic_delivery(incoming, "2019-07-02", rows=ROWS, seed=1)  # same name, corrected content
    fixed = dev.wait_for_run("2019-07-01", count=2)
    assert fixed["status"] == "SUCCESS" and fixed["runId"] != failed["runId"]
    assert week_counts(dev.home, "test_metrics") == {"2019-07-01": 1}


def test_a_warehouse_held_open_by_another_process_fails_the_run_naming_the_file_and_holder(dev_short_lock):
    dev = dev_short_lock
    warehouse = dev.home / "warehouse.duckdb"
    with warehouse_held_open(warehouse) as holder:
        synthetic_delivery(dev.home / "incoming", "2019-07-23", rows=ROWS, seed=4)
        run = dev.wait_for_run("2019-07-22", timeout=180)
        assert run["status"] == "FAILURE"
        message = dev.failure_text(run["runId"])
        assert str(warehouse) in message and f"PID {holder}" in message
        assert "close that DuckDB session" in message
    assert "2019-07-22" not in week_counts(dev.home, "raw_listings")
