"""The run launcher's health check: a run whose process is gone is reported FAILED, a live one never is."""

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    MetadataValue,
    build_run_status_sensor_context,
    execute_job,
    reconstructable,
)

from nyc_rental.defs.sensors import stop_processes_of_lost_runs
from nyc_rental.runtime.launcher import (
    LOST_RESULT,
    CeleryStep,
    EngineEventData,
    MonitoredRunLauncher,
    RunWorker,
    WorkerStatus,
    lost_step,
    recorded_worker,
    start_mark,
    stop_process_of_lost_run,
    this_host,
    worker_health,
)
from nyc_rental.runtime.testing import step_started
from nyc_rental_tests.runtime.test_executor import pooled_job

LAUNCHER = {"run_launcher": {"module": "nyc_rental.runtime.launcher", "class": "MonitoredRunLauncher"}}


@pytest.fixture
def monitored(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path), overrides=LAUNCHER) as instance:
        yield instance


@pytest.fixture
def me() -> RunWorker:
    return RunWorker.of_this_process(os.getpid())


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_run_whose_process_is_gone_is_failed_saying_which_process_and_why(monitored, me):
    assert isinstance(monitored.run_launcher, MonitoredRunLauncher)
    assert monitored.run_launcher.supports_check_run_worker_health
    run = monitored.create_run_for_job(pooled_job)
    gone = dataclasses.replace(me, pid=dead_pid())
    monitored.report_engine_event("Executing steps in process", run, EngineEventData(metadata=gone.metadata()))

    health = monitored.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED
    assert f"process {gone.pid} on {this_host()}" in health.msg and "no longer exists" in health.msg


def test_a_run_whose_process_lives_is_running_as_its_executor_recorded_it(monitored, me):
    with execute_job(reconstructable(pooled_job), monitored) as result:
        run = result.dagster_run
    assert recorded_worker(monitored, run) == dataclasses.replace(
        me, recorded_at=recorded_worker(monitored, run).recorded_at
    )
    assert monitored.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING


def test_a_process_id_taken_by_another_process_or_a_restarted_machine_is_not_the_run_s(me):
    reused = worker_health(dataclasses.replace(me, started="ticks 1"))
    assert reused.status == WorkerStatus.FAILED and "belongs to another process" in reused.msg
    rebooted = worker_health(dataclasses.replace(me, boot="an-earlier-boot"))
    assert rebooted.status == WorkerStatus.FAILED and "restarted" in rebooted.msg


def test_a_zombie_is_not_alive(me):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while start_mark(child.pid) is not None:  # exited, not yet reaped by us
            assert time.monotonic() < deadline, "the child never exited"
            time.sleep(0.05)
        assert worker_health(dataclasses.replace(me, pid=child.pid)).status == WorkerStatus.FAILED
    finally:
        child.wait()


def test_nothing_is_failed_that_cannot_be_judged_from_here(monitored, me):
    elsewhere = dataclasses.replace(me, pid=dead_pid(), host="worker-7.example.internal")
    assert worker_health(elsewhere).status == WorkerStatus.RUNNING
    assert worker_health(None).status == WorkerStatus.RUNNING
    # A run that only Dagster recorded (another executor): its process id alone proves nothing.
    run = monitored.create_run_for_job(pooled_job)
    pid = dead_pid()
    monitored.report_engine_event(f"Started process for run (pid: {pid}).", run, EngineEventData.in_process(pid))
    assert monitored.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING


def test_a_celery_step_is_lost_only_when_its_worker_process_is_gone_or_is_another_process():
    host, now = this_host(), time.time()
    alive = CeleryStep("model", f"nyc_rental_worker1@{host}", os.getpid(), now)  # started long before the step
    assert lost_step(alive) is None
    gone = dataclasses.replace(alive, pid=dead_pid())
    assert f"step model was executing in process {gone.pid} of Celery worker nyc_rental_worker1@{host}" in lost_step(
        gone
    )
    reused = dataclasses.replace(alive, started_at=now - 365 * 86400)  # this pid's process started after that step
    assert "no longer exists" in lost_step(reused)
    assert lost_step(dataclasses.replace(gone, worker="nyc_rental_worker1@elsewhere")) is None  # not visible here
    assert lost_step(dataclasses.replace(gone, pid=None)) is None  # taken, not started yet


def test_a_run_whose_celery_worker_died_is_failed_by_the_health_check_and_stopped_by_the_sensor(monitored):
    """The health check only reads: the run's waiting process outlives it. Once run monitoring has failed the
    run, the sensor stop_processes_of_lost_runs stops that process (and leaves other failed runs alone)."""
    waiting = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # the run's own process
    try:
        run = monitored.create_run_for_job(pooled_job)
        worker = RunWorker.of_this_process(waiting.pid)
        monitored.report_engine_event("Executing steps in process", run, EngineEventData(metadata=worker.metadata()))
        celery = EngineEventData(metadata={"Celery worker": MetadataValue.text(f"nyc_rental_worker1@{this_host()}")})
        monitored.report_engine_event("Executing steps using celery", run, celery, step_key="pooled_step")
        step_started(monitored, run, "pooled_step", dead_pid())

        health = monitored.run_launcher.check_run_worker_health(run)
        assert health.status == WorkerStatus.FAILED and LOST_RESULT in health.msg
        assert waiting.poll() is None, "the health check stopped a process: it must only read state"

        monitored.report_run_failed(run, f"Detected run worker status {health}. Marking run {run.run_id} as failed.")
        failure = monitored.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)[0].dagster_event
        context = build_run_status_sensor_context(
            sensor_name="stop_processes_of_lost_runs",
            dagster_event=failure,
            dagster_instance=monitored,
            dagster_run=monitored.get_run_by_id(run.run_id),
        ).for_run_failure()
        stop_processes_of_lost_runs(context)
        assert waiting.wait(10) == -signal.SIGKILL
    finally:
        waiting.kill()
        waiting.wait()


def test_the_sensor_leaves_the_process_of_a_run_that_failed_otherwise_alone(monitored):
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        run = monitored.create_run_for_job(pooled_job)
        worker = RunWorker.of_this_process(alive.pid)
        monitored.report_engine_event("Executing steps in process", run, EngineEventData(metadata=worker.metadata()))
        assert stop_process_of_lost_run(monitored, run, "step model failed: estimator 'svm' is unknown") is None
        assert alive.poll() is None
    finally:
        alive.kill()
        alive.wait()
