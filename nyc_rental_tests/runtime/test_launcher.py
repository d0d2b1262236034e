"""The run launcher's health check: a run whose process is gone is reported FAILED, a live one never is, and
one that died after its last step is ended as the success it was."""

import dataclasses
import os
import signal
import subprocess
import sys
import time

import pytest
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    HookContext,
    execute_job,
    job,
    op,
    reconstructable,
    serialize_value,
    success_hook,
)

from nyc_rental.runtime.executor import patient_in_process_executor
from nyc_rental.runtime.launcher import (
    EngineEventData,
    MonitoredRunLauncher,
    RunWorker,
    WorkerStatus,
    recorded_worker,
    start_mark,
    this_host,
    worker_health,
)
from nyc_rental_tests.runtime.test_executor import pooled_job

LAUNCHER = {"run_launcher": {"module": "nyc_rental.runtime.launcher", "class": "MonitoredRunLauncher"}}


@pytest.fixture
def monitored(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path), overrides=LAUNCHER) as instance:
        yield instance


@pytest.fixture
def me() -> RunWorker:
    return RunWorker.of_this_process(os.getpid())


@success_hook
def power_cut(_: HookContext) -> None:
    """Everything dies right after a step's success is stored (hooks run after it), before the run's end."""
    os.kill(os.getpid(), signal.SIGKILL)


@op
def first_step() -> int:
    return 1


@op
def last_step(value: int) -> int:
    return value + 1


@job(executor_def=patient_in_process_executor)
def cut_after_the_last_step():
    last_step.with_hooks({power_cut})(first_step())


@job(executor_def=patient_in_process_executor)
def cut_after_the_first_step():
    last_step(first_step.with_hooks({power_cut})())


def run_until_cut(instance: DagsterInstance, job_name: str):
    """Execute a job of this module in a process of its own, which its hook kills; the run, as stored."""
    code = (
        "import sys\n"
        "from dagster import DagsterInstance, deserialize_value, execute_job, reconstructable\n"
        "from nyc_rental_tests.runtime import test_launcher\n"
        "instance = DagsterInstance.from_ref(deserialize_value(sys.argv[1]))\n"
        f"execute_job(reconstructable(test_launcher.{job_name}), instance)\n"
    )
    child = subprocess.run([sys.executable, "-c", code, serialize_value(instance.get_ref())], timeout=120)
    assert child.returncode == -signal.SIGKILL
    (run,) = instance.get_runs()
    assert run.status == DagsterRunStatus.STARTED  # nothing is left to say how it ended
    return run


def test_a_run_whose_process_died_after_its_last_step_is_ended_as_a_success(monitored):
    run = run_until_cut(monitored, "cut_after_the_last_step")
    health = monitored.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.SUCCESS and "every step succeeded" in health.msg
    assert monitored.get_run_by_id(run.run_id).status == DagsterRunStatus.SUCCESS


def test_a_run_whose_process_died_with_steps_to_go_is_failed(monitored):
    run = run_until_cut(monitored, "cut_after_the_first_step")
    health = monitored.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED and "no longer exists" in health.msg
    assert monitored.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED  # run monitoring fails it


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
