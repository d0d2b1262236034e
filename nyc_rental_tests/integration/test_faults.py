"""Faults under `dagster dev`: killed runs, a power cut and a restart, a re-delivered fix, a warehouse held open."""

import os
import signal
import time

import pytest
from mlflow.tracking import MlflowClient

from nyc_rental.ml.tracking import CHAMPION, MODEL_NAME
from nyc_rental.storage.duckdb_backend import flock_holders
from nyc_rental_tests.helpers import reading, synthetic_delivery, warehouse_held_open, week_counts
from nyc_rental_tests.integration.conftest import new_dev
from nyc_rental_tests.integration.dagster_dev import FINISHED, wait_for

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


def run_tags(run: dict) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def weekly_run_succeeded(run: dict) -> bool:
    """A run of the weekly pipeline succeeded (not a repricing of a week's portfolio)."""
    return run["status"] == "SUCCESS" and run["jobName"] == "weekly_pipeline"


def model_in_progress(dev, skip: set[str]) -> dict | None:
    """A run (not in `skip`) whose model step is executing now."""
    for run in dev.runs({}, statuses=["STARTED"]):
        if run["runId"] not in skip and dev.step_statuses(run["runId"]).get("model") == "IN_PROGRESS":
            return run
    return None


def run_story(dev, run_id: str) -> str:
    """A run's status, its last events and the daemon's run monitoring, for a failure message."""
    status = [run["status"] for run in dev.runs({}) if run["runId"] == run_id]
    events = [f"{event['__typename']} {event.get('stepKey') or ''}" for event in dev.events(run_id)[-8:]]
    monitoring = [line for line in dev.log.read_text(errors="replace").splitlines() if "MonitoringDaemon" in line]
    return f"run {run_id}: {status}; its last events: {events}; run monitoring:\n" + "\n".join(monitoring[-12:])


def test_runs_killed_alone_or_with_the_whole_platform_are_failed_retried_and_every_week_finishes(dev_factory):
    """History lands at once; one run's process is killed while it trains; then, while another week trains,
    every process of `dagster dev` is SIGKILLed (a power cut) and a delivery lands while it is down. After a
    restart, with no hand on anything, every week is validated and trained exactly once, no run is left in
    progress, no process holds the warehouse, and the champion is what the weeks' decisions say it is."""
    dev = dev_factory()
    incoming = dev.home / "incoming"
    history = {f"2019-07-{day:02d}": f"2019-07-{day + 1:02d}" for day in (1, 8, 15)}  # week -> delivery day
    for seed, day in enumerate(history.values(), start=1):
        synthetic_delivery(incoming, day, rows=ROWS, seed=seed)

    alone = wait_for("a run to start training", lambda: model_in_progress(dev, set()), 300, 0.5)
    time.sleep(1)
    os.kill(dev.run_pid(alone["runId"]), signal.SIGKILL)  # run monitoring finds its process gone
    wait_for("one week to succeed", lambda: any(weekly_run_succeeded(run) for run in dev.runs({})), 300)
    with_all = wait_for("another run to train", lambda: model_in_progress(dev, {alone["runId"]}), 300, 0.5)
    killed = dev.power_cut()  # at once: the run may be the last one in progress, and training alone it is quick
    assert any(" dev -w " in line for line in killed) and len(killed) >= 4, killed  # dagster dev and its services
    synthetic_delivery(incoming, "2019-07-23", rows=ROWS, seed=4)  # lands while everything is down
    weeks = [*history, "2019-07-22"]

    restarted_at = time.monotonic()
    again = dev_factory()

    def failed_after_restart():
        run = again.runs({})
        found = [r for r in run if r["runId"] == with_all["runId"] and r["status"] == "FAILURE"]
        return found and time.monotonic() - restarted_at

    try:
        seconds_to_fail = wait_for("the dead run to be failed", failed_after_restart, 180)
    except AssertionError as timeout:
        raise AssertionError(f"{timeout}\n{run_story(again, with_all['runId'])}") from None
    assert seconds_to_fail < 120, f"the dead run was failed {seconds_to_fail:.0f} s after the restart"
    assert "no longer exists" in again.failure_text(with_all["runId"])

    for week in weeks:
        wait_for(
            f"week {week} to succeed",
            lambda week=week: any(weekly_run_succeeded(run) for run in again.week_runs(week)),
            600,
            2,
        )

    def every_run_finished():  # a repricing of the latest week may follow the weeks (when the champion changed)
        runs = again.runs({})
        return not [run for run in runs if run["status"] not in FINISHED and "dagster/partition" in run_tags(run)]

    wait_for("every run to finish", every_run_finished, 120, 2)
    runs = again.runs({})
    by_id = {run["runId"]: run for run in runs}
    for week in weeks:
        week_runs = again.week_runs(week)  # its weekly runs, and a repricing of its portfolio if the champion changed
        weekly = [run["status"] for run in week_runs if run["jobName"] == "weekly_pipeline"]
        assert weekly.count("SUCCESS") == 1, (week, week_runs)
        for run in week_runs:  # every failed run was retried, and only those
            retries = [r for r in runs if run_tags(r).get("dagster/parent_run_id") == run["runId"]]
            assert len(retries) == (run["status"] == "FAILURE"), (week, run, retries)
    assert {by_id[alone["runId"]]["status"], by_id[with_all["runId"]]["status"]} == {"FAILURE"}

    access_lock = again.home / "warehouse.duckdb.access.lock"
    wait_for("no process to hold the warehouse", lambda: not flock_holders(access_lock), 60)
    for dead in (alone, with_all):
        wait_for(
            "the killed runs' MLflow runs to be FAILED",
            lambda dead=dead: set(mlflow_status_of(again, dead["runId"])) <= {"FAILED"},
            60,
        )
    final = counts(again)
    assert all(final[table].keys() == set(weeks) for table in TABLES), final
    assert all(final["raw_listings"][week] == ROWS for week in weeks)
    assert all(final[table][week] == 1 for table in ("model", "test_metrics") for week in weeks)

    # The champion is what the decisions say, in the order they were taken: each week was compared with the
    # champion of its moment, and the last week promoted holds the alias.
    with reading(again.home) as con:
        decisions = {
            week.isoformat(): (version, before, promoted, decided_at)
            for week, version, before, promoted, decided_at in con.execute(
                "SELECT week, model_version, champion_version, promoted, decided_at FROM nyc_rental.test_metrics"
            ).fetchall()
        }
    assert str(champion(again)) == again.champion_by_decisions(decisions)


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
    # A week the data stopped is not retried: the same file would fail the same way.
    wait_for(
        "the run to be marked as not to retry",
        lambda: run_tags(dev.week_runs("2019-07-01")[0]).get("dagster/will_retry") == "false",
        60,
    )
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
