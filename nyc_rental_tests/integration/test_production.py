"""The production profile for real: `deploy/prod.py` with Postgres behind Dagster's instance, the warehouse and
MLflow's server, and steps on two Celery workers over RabbitMQ. One stack for the module."""

import datetime as dt
import os
import signal
import subprocess
import time

import pandas as pd
import pytest
from dagster import DagsterEventType
from mlflow.tracking import MlflowClient

from nyc_rental.ml.tracking import CHAMPION, EXPERIMENT, MODEL_NAME
from nyc_rental.runtime.launcher import celery_steps_in_flight
from nyc_rental.storage.warehouse import Warehouse
from nyc_rental_tests.helpers import serving_champion, synthetic_delivery
from nyc_rental_tests.integration.dagster_dev import FINISHED, REPO, max_in_flight, wait_for
from nyc_rental_tests.integration.production import ProductionStack
from nyc_rental_tests.integration.readme import PRODUCTION, bash_commands, section

pytestmark = pytest.mark.integration

ROWS = 16_000  # above the row_count check's floor: a backfill runs with the default config
WEEKS = ["2019-07-01", "2019-07-08", "2019-07-15", "2019-07-22"]
ALL_ASSETS = [
    "raw_listings",
    "clean_listings",
    "validated_listings",
    "splits",
    "model",
    "test_metrics",
    "portfolio_prices",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    production = ProductionStack(tmp_path_factory.mktemp("production"), workers=2)
    try:
        production.start()
        yield production
    except BaseException:
        print(production.log_tail())
        raise
    finally:
        production.stop()


def run_tags(run: dict) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def test_a_backfill_runs_its_steps_on_two_celery_workers_over_postgres_and_the_mlflow_server(stack):
    stack.stop_sensor()  # the weeks come from the backfill, as a user launches it from the UI
    deliveries = []
    for number, week in enumerate(WEEKS):
        day = (dt.date.fromisoformat(week) + dt.timedelta(days=2)).isoformat()
        deliveries.append(synthetic_delivery(stack.home / "incoming", day, rows=ROWS, seed=20 + number))
    backfill = stack.wait_for_backfill(stack.launch_backfill(WEEKS, ALL_ASSETS), timeout=900)
    runs = backfill["runs"]
    assert sorted(run["status"] for run in runs) == ["SUCCESS"] * 4, stack.log_tail()
    assert max_in_flight([(run["startTime"], run["endTime"]) for run in runs]) >= 2  # runs overlapped

    # Every step ran in a Celery worker's process, never in the run's own process; both workers took steps.
    instance = stack.instance()
    workers = stack.worker_processes()
    used = set()
    for run in runs:
        run_pid = stack.run_pid(run["runId"])
        starts = instance.all_logs(run["runId"], of_type=DagsterEventType.STEP_START)
        assert {record.step_key for record in starts} >= {"raw_listings", "model", "test_metrics"}
        for record in starts:
            pid = record.dagster_event.pid
            assert pid != run_pid and pid in workers, (record.step_key, pid, workers)
            used.add(workers[pid])
        # the week's six data checks, and raw_listings' freshness check, which an asset backfill's runs include
        checks = instance.all_logs(run["runId"], of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        names = sorted(c.dagster_event.event_specific_data.check_name for c in checks)
        assert len(names) == 7 and "freshness_check" in names, names
        assert all(c.dagster_event.event_specific_data.passed for c in checks)
    assert len(used) == 2, used

    # Each week's rows, model version and champion decision are in the Postgres warehouse, and no DuckDB file.
    warehouse = Warehouse(url=stack.warehouse_url)
    assert [str(week.date()) for week in warehouse.rows_per_week("raw_listings").index] == WEEKS
    assert set(warehouse.rows_per_week("raw_listings")) == {ROWS}
    assert warehouse.rows_per_week("validated_listings").equals(warehouse.rows_per_week("clean_listings"))
    metrics = warehouse.read_all("test_metrics")
    assert sorted(metrics["model_version"].astype(int)) == [1, 2, 3, 4]
    decisions = {
        str(row.week.date()): (row.model_version, row.champion_version, row.promoted, row.decided_at)
        for row in metrics.itertuples()
    }
    assert not (stack.home / "warehouse.duckdb").exists()

    # MLflow's server holds one run per Dagster run, ended FINISHED by the sensor, and the champion alias.
    client = MlflowClient(tracking_uri=stack.mlflow_uri, registry_uri=stack.mlflow_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment.artifact_location.startswith("mlflow-artifacts:")  # proxied by the server

    def mlflow_runs_finished():
        found = client.search_runs([experiment.experiment_id], "attributes.status = 'FINISHED'")
        found = [run for run in found if "dagster_run_id" in run.data.tags]  # not the trend run
        return len(found) == 4 and found

    finished = wait_for("the MLflow runs to be FINISHED", mlflow_runs_finished, 60)
    assert sorted(run.data.tags["dagster_run_id"] for run in finished) == sorted(run["runId"] for run in runs)
    # The four weeks, scored on two workers at once, logged their test MAE into one trend run.
    (trend,) = client.search_runs([experiment.experiment_id], "tags.`nyc_rental.trend` = 'true'")
    assert len({point.step for point in client.get_metric_history(trend.info.run_id, "test_mae")}) == 4
    champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version
    assert str(champion) == stack.champion_by_decisions(decisions)
    artifacts = {artifact.path for artifact in client.list_artifacts(finished[0].info.run_id)}
    assert "feature_importance.png" in artifacts

    # The production page's commands against the production stores: the report, predict, serve.
    commands = bash_commands(section(PRODUCTION))
    export = next(command for command in commands if command.startswith("export "))
    predict = next(command for command in commands if "nyc-rental predict" in command)
    assert set(commands) == {"make prod", export, "make report", predict, "make serve"}, commands
    priced = stack.root / "priced.csv"
    script = "\n".join([export, "make report", predict])
    for readme_value, ours in [
        ("http://127.0.0.1:5000", stack.mlflow_uri),
        ("postgresql://postgres@127.0.0.1:5432/nyc_rental_warehouse", stack.warehouse_url),
        ("data/incoming/listings_2019-07-10.csv", str(deliveries[1])),
        ("--output priced.csv", f"--output {priced}"),
    ]:
        assert readme_value in script
        script = script.replace(readme_value, ours)
    env = {k: v for k, v in stack.env.items() if k not in ("MLFLOW_TRACKING_URI", "NYC_RENTAL_WAREHOUSE_URL")}
    done = subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "weeks in postgresql://postgres@127.0.0.1:5432/nyc_rental_test_warehouse_" in done.stdout
    assert all(week in done.stdout for week in WEEKS)
    frame = pd.read_csv(priced)
    assert len(frame) == ROWS and (frame["predicted_price"] > 0).all()
    with serving_champion(stack.mlflow_uri) as invocations:  # what `make serve` runs, on a free port
        records = frame.drop(columns=["predicted_price", "price"]).head(3)
        records = records.astype({c: float for c in records if records[c].dtype.kind in "iu"}).astype(
            object
        )  # issue 13
        predictions = invocations(records.where(records.notna(), None).to_dict(orient="records"))
    assert len(predictions) == 3 and all(p > 0 for p in predictions)


def test_a_celery_worker_killed_mid_step_fails_the_run_and_the_retry_finishes_the_week(stack):
    """SIGKILL of the worker running `model`: the run is failed naming the step and the worker (not left STARTED
    waiting for a result that cannot come), retried once, and the retry finishes the week; the script starts
    the worker again."""
    week = "2019-07-29"
    synthetic_delivery(stack.home / "incoming", "2019-07-31", rows=ROWS, seed=40)
    stack.launch_backfill([week], ALL_ASSETS)
    instance = stack.instance()

    def model_step_running():
        for run in stack.week_runs(week):
            for step in celery_steps_in_flight(instance, instance.get_run_by_id(run["runId"])):
                if step.step_key == "model" and step.pid:
                    return run["runId"], step
        return None

    run_id, step = wait_for("the model step to start on a worker", model_step_running, 300, every=0.5)
    worker_name = step.worker.split("@")[0]
    main = next(
        pid for pid, name in stack.worker_processes().items() if name.startswith(worker_name) and pid != step.pid
    )
    os.killpg(os.getpgid(main), signal.SIGKILL)  # the worker's whole process group: its pool too
    killed = time.monotonic()

    failed = wait_for("the run to fail", lambda: instance.get_run_by_id(run_id).status.value == "FAILURE", 120)
    assert failed and time.monotonic() - killed < 60
    reason = stack.failure_text(run_id)
    assert f"step model was executing in process {step.pid} of Celery worker {step.worker}" in reason, reason

    def retry_finished():
        retries = [run for run in stack.week_runs(week) if run_tags(run).get("dagster/parent_run_id") == run_id]
        return retries and retries[0]["status"] in FINISHED and retries

    retries = wait_for("the retry to finish", retry_finished, 600, every=2)
    assert len(retries) == 1 and retries[0]["status"] == "SUCCESS", stack.failure_text(retries[0]["runId"])
    assert not [run for run in stack.week_runs(week) if run["status"] not in FINISHED]
    assert Warehouse(url=stack.warehouse_url).rows_per_week("test_metrics").index[-1].date() == dt.date(2019, 7, 29)
    client = MlflowClient(tracking_uri=stack.mlflow_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)

    def mlflow_run_failed():
        found = client.search_runs([experiment.experiment_id], f"tags.dagster_run_id = '{run_id}'")
        return found and all(run.info.status == "FAILED" for run in found)

    wait_for("the failed run's MLflow run to be FAILED", mlflow_run_failed, 60)
    wait_for("the killed worker to be started again", lambda: worker_name in str(stack.worker_processes()), 60)
