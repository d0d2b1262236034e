"""A run failed by run monitoring is retried even when the daemon reads its failure before its status."""

import threading
import time

from dagster import (
    DagsterEvent,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    EventLogEntry,
    RunsFilter,
    job,
    op,
)

from nyc_rental.runtime import launcher, retries
from nyc_rental.runtime.testing import runs_the_daemon_retries


@op
def train():
    pass


@job
def weekly():
    train()


def failure_stored_before_its_status(instance: DagsterInstance, status_after: float):
    """A STARTED run whose RUN_FAILURE event is stored now and whose status follows `status_after` seconds later,
    as Dagster stores a failure (the event, then the run's row); its record as read between the two."""
    run = instance.create_run_for_job(weekly, status=DagsterRunStatus.STARTED)
    failure = DagsterEvent(DagsterEventType.RUN_FAILURE.value, job_name=run.job_name, message="process gone")
    entry = EventLogEntry(None, "ERROR", "", run.run_id, time.time(), dagster_event=failure)
    instance.event_log_storage.store_event(entry)
    (stale,) = instance.get_run_records(RunsFilter(run_ids=[run.run_id]))
    follow = threading.Timer(status_after, instance.run_storage.handle_run_event, (run.run_id, failure))
    follow.start()
    return stale, follow


def test_the_daemon_retries_a_run_whose_status_follows_its_stored_failure(tmp_path, monkeypatch):
    (tmp_path / "dagster.yaml").write_text("run_retries:\n  enabled: true\n  max_retries: 2\n")
    monkeypatch.setattr(
        retries.auto_run_reexecution,
        "filter_runs_to_should_retry",
        retries.auto_run_reexecution.filter_runs_to_should_retry,
    )  # restored after the test
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        stale, follow = failure_stored_before_its_status(instance, status_after=0.3)
        assert stale.dagster_run.status == DagsterRunStatus.STARTED
        assert runs_the_daemon_retries(instance, [stale]) == []  # Dagster's own decision: never retried
        follow.join()

        retries.decide_on_settled_runs()
        retries.decide_on_settled_runs()  # installed once
        stale, follow = failure_stored_before_its_status(instance, status_after=0.3)
        started = time.monotonic()
        retried = runs_the_daemon_retries(instance, [stale])
        assert [run.run_id for run in retried] == [stale.dagster_run.run_id]
        assert retried[0].status == DagsterRunStatus.FAILURE  # what the retry is made from
        assert 0.25 < time.monotonic() - started < retries.SETTLE_SECONDS
        follow.join()


def test_runs_still_unfinished_after_the_wait_are_decided_on_as_they_are(tmp_path):
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        run = instance.create_run_for_job(weekly, status=DagsterRunStatus.STARTED)
        started = time.monotonic()
        assert [r.status for r in retries.settled([run, run], instance, timeout=0.2)] == [DagsterRunStatus.STARTED] * 2
        assert time.monotonic() - started < 2


def test_the_daemons_launcher_installs_the_wait_and_other_processes_leave_dagster_as_it_is(tmp_path, monkeypatch):
    consumer = retries.auto_run_reexecution
    monkeypatch.setattr(consumer, "filter_runs_to_should_retry", consumer.filter_runs_to_should_retry)
    (tmp_path / "dagster.yaml").write_text(
        "run_launcher:\n  module: nyc_rental.runtime.launcher\n  class: MonitoredRunLauncher\n"
    )
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_launcher, launcher.MonitoredRunLauncher)
    assert not getattr(consumer.filter_runs_to_should_retry, "reads_settled_runs", False)  # here: pytest
    monkeypatch.setattr(launcher, "in_the_daemon", lambda: True)
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_launcher, launcher.MonitoredRunLauncher)
    assert consumer.filter_runs_to_should_retry.reads_settled_runs
