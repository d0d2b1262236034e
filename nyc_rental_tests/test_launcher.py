"""The run launcher's health check: a run whose process is gone is reported FAILED, a live one never is."""

import os
import subprocess
import sys
import time

import psutil
import pytest
from dagster import DagsterInstance, execute_job, reconstructable
from dagster._core.events import EngineEventData
from dagster._core.launcher import WorkerStatus

from nyc_rental.launcher import MonitoredRunLauncher, RunWorker, recorded_worker, this_host, worker_health
from nyc_rental_tests.test_executor import pooled_job

LAUNCHER = {"run_launcher": {"module": "nyc_rental.launcher", "class": "MonitoredRunLauncher"}}


@pytest.fixture
def monitored(tmp_path):
    with DagsterInstance.local_temp(str(tmp_path), overrides=LAUNCHER) as instance:
        yield instance


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_run_whose_process_is_gone_is_failed_saying_which_process_and_why(monitored):
    assert isinstance(monitored.run_launcher, MonitoredRunLauncher)
    assert monitored.run_launcher.supports_check_run_worker_health
    run = monitored.create_run_for_job(pooled_job)
    pid = dead_pid()
    monitored.report_engine_event(f"Started process for run (pid: {pid}).", run, EngineEventData.in_process(pid))

    health = monitored.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED
    assert f"process {pid} on {this_host()}" in health.msg and "no longer exists" in health.msg


def test_a_run_whose_process_lives_is_running_as_recorded_by_the_executor(monitored):
    with execute_job(reconstructable(pooled_job), monitored) as result:
        run = result.dagster_run
    worker = recorded_worker(monitored, run)
    assert worker == RunWorker(pid=os.getpid(), host=this_host(), recorded_at=worker.recorded_at)
    assert monitored.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING


def test_a_process_id_reused_by_a_later_process_is_not_the_run_s():
    me = psutil.Process()
    recorded_before_this_process_started = me.create_time() - 3600
    health = worker_health(RunWorker(pid=me.pid, host=None, recorded_at=recorded_before_this_process_started))
    assert health.status == WorkerStatus.FAILED and "another process, started later" in health.msg


def test_nothing_is_failed_that_cannot_be_seen_from_here():
    elsewhere = RunWorker(pid=dead_pid(), host="worker-7.example.internal", recorded_at=0)
    assert worker_health(elsewhere).status == WorkerStatus.RUNNING
    assert worker_health(None).status == WorkerStatus.RUNNING
    parent = RunWorker(pid=os.getppid(), host="localhost", recorded_at=time.time())
    assert worker_health(parent).status == WorkerStatus.RUNNING
