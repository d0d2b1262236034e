"""The workers' Celery app: dagster-celery's step task, dropped when its run has ended, and the settings that
let the broker hand a dead worker's step to another worker."""

import importlib

import pytest
from dagster import DagsterEventType, DagsterInstance, job, op

from nyc_rental import settings
from nyc_rental.runtime.testing import celery_step_task


@op
def count_rows() -> int:
    return 3


@job
def one_step_job():
    count_rows()


@pytest.fixture
def worker_app(monkeypatch):
    # The app connects to nothing until a worker starts: a URL is all it needs to be built.
    monkeypatch.setenv(settings.CELERY_BROKER_ENV, "pyamqp://127.0.0.1:5672//")
    from nyc_rental.runtime import celery_worker

    return importlib.reload(celery_worker)


@pytest.fixture
def instance(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path)) as temp:
        yield temp


def test_a_worker_acknowledges_a_step_once_it_has_ended_and_takes_one_at_a_time(worker_app):
    conf = worker_app.app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_cancel_long_running_tasks_on_connection_loss
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_url == "pyamqp://127.0.0.1:5672//" and conf.result_backend == "rpc://"
    assert worker_app.execute_plan.name == "execute_plan"  # the name dagster-celery's executor sends
    assert worker_app.execute_plan.acks_late


def test_the_runs_executor_sends_steps_with_the_workers_settings(monkeypatch):
    from nyc_rental.definitions import executor_for

    monkeypatch.setenv(settings.CELERY_BROKER_ENV, "pyamqp://127.0.0.1:5672//")
    config = executor_for("celery").config_schema.resolve_config({}).value["config"]
    assert config["config_source"] == settings.CELERY_SETTINGS
    assert config["broker"] == "pyamqp://127.0.0.1:5672//" and config["backend"] == "rpc://"


def test_a_step_of_an_unfinished_run_executes(worker_app, instance):
    run = instance.create_run_for_job(one_step_job)
    events = worker_app.execute_plan(**celery_step_task(instance, run, one_step_job, "count_rows"))
    assert any('"STEP_SUCCESS"' in event for event in events)
    assert instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_SUCCESS)


def test_a_step_redelivered_after_its_run_ended_is_dropped_unexecuted(worker_app, instance):
    run = instance.create_run_for_job(one_step_job)
    instance.report_run_failed(run, "run monitoring: the run's process is gone")
    assert worker_app.execute_plan(**celery_step_task(instance, run, one_step_job, "count_rows")) == []
    assert not instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START)


def test_a_worker_needs_the_broker_url(monkeypatch):
    monkeypatch.delenv(settings.CELERY_BROKER_ENV, raising=False)
    with pytest.raises(RuntimeError, match=settings.CELERY_BROKER_ENV):
        from nyc_rental.runtime import celery_worker

        importlib.reload(celery_worker)
