"""One MLflow run per Dagster run when every step runs in a process of its own (the multiprocess executor, as on
Celery workers): each step attaches to the run, none ends it, the run-status sensors end it with the Dagster run."""

import pytest
from dagster import DagsterEventType, build_run_status_sensor_context, execute_job, reconstructable

from nyc_rental import settings
from nyc_rental.definitions import build_defs
from nyc_rental.defs.sensors import close_mlflow_runs_of_failed_runs, finish_mlflow_runs_of_successful_runs
from nyc_rental.ml.tracking import ModelRegistry
from nyc_rental_tests.defs.test_modeling import MIN_ROWS, ROWS, mlflow_run_of
from nyc_rental_tests.helpers import SMALL_MODEL, failure_messages, run_week, synthetic_delivery

pytestmark = pytest.mark.integration  # a Python process per step: about 25 s
WEEK = "2019-07-01"


def weekly_pipeline_of_this_environment():
    """weekly_pipeline as each step process rebuilds it (NYC_RENTAL_HOME and NYC_RENTAL_EXECUTOR from the test)."""
    return build_defs().resolve_job_def("weekly_pipeline")


def run_in_step_processes(instance, assets: list[str], model_config: dict):
    config = {"ops": {"model": {"config": model_config}}, "resources": {"data_tests": {"config": {"min_rows": 1}}}}
    job = reconstructable(weekly_pipeline_of_this_environment)
    with execute_job(
        job, instance, run_config=config, tags={"dagster/partition": WEEK}, asset_selection=_keys(assets)
    ) as result:
        return result.dagster_run, result.success, failure_messages(result) if not result.success else ""


def _keys(names):
    from dagster import AssetKey

    return [AssetKey(name) for name in names]


def _sensor_context(instance, run, event_type):
    event = instance.all_logs(run.run_id, of_type=event_type)[0].dagster_event
    registry = ModelRegistry(tracking_uri=settings.mlflow_tracking_uri())
    return build_run_status_sensor_context(
        sensor_name="test",
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"registry": registry},
    )


def test_steps_in_processes_of_their_own_share_one_mlflow_run_that_the_sensors_end(
    incoming, home, instance, monkeypatch
):
    synthetic_delivery(incoming, "2019-07-03", rows=ROWS, seed=11)
    listings = run_week(build_defs(home), instance, WEEK, assets=None, min_rows=MIN_ROWS,
                        run_config={"ops": {"model": {"config": SMALL_MODEL}}})  # fmt: skip
    assert listings.success, failure_messages(listings)
    monkeypatch.setenv("NYC_RENTAL_EXECUTOR", "multiprocess")

    run, success, failures = run_in_step_processes(instance, ["model", "test_metrics"], SMALL_MODEL)
    assert success, failures
    starts = instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)
    pids = {record.step_key: record.dagster_event.pid for record in starts}
    assert set(pids) == {"model", "test_metrics"} and len(set(pids.values())) == 2  # two processes
    mlflow_run = mlflow_run_of(home, run.run_id)  # exactly one, though two processes started and logged to it
    assert "estimator" in mlflow_run.data.params and "test_mae" in mlflow_run.data.metrics  # model's, test_metrics'
    assert mlflow_run.info.status == "RUNNING"  # no step process ended it, not even at its exit
    finish_mlflow_runs_of_successful_runs(_sensor_context(instance, run, DagsterEventType.RUN_SUCCESS))
    finished = mlflow_run_of(home, run.run_id)
    last_step = max(r.timestamp for r in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_SUCCESS))
    assert finished.info.status == "FINISHED" and finished.info.end_time >= int(last_step * 1000)

    broken, success, failures = run_in_step_processes(instance, ["model"], {**SMALL_MODEL, "estimator": "svm"})
    assert not success and "estimator 'svm' is unknown" in failures
    assert mlflow_run_of(home, broken.run_id).info.status == "RUNNING"
    failure = _sensor_context(instance, broken, DagsterEventType.RUN_FAILURE).for_run_failure()
    close_mlflow_runs_of_failed_runs(failure)
    failed = mlflow_run_of(home, broken.run_id)
    assert failed.info.status == "FAILED" and "model" in failed.data.tags["dagster_failure"]
