"""Runs forked from the launcher's warm process: each runs to the end in a process of its own, forked from the
same warm process, which had imported the libraries before; a warm run is cancelled as the UI cancels one."""

import json
import os
import time
from pathlib import Path

import psutil
import pytest
from dagster import DagsterInstance, DagsterRunStatus, job, op, reconstructable

from nyc_rental.runtime.executor import patient_in_process_executor
from nyc_rental.runtime.launcher import LaunchRunContext  # Dagster's, as launcher.py imports it
from nyc_rental.runtime.testing import NO_COMPUTE_LOGS

WARM = {
    "run_launcher": {
        "module": "nyc_rental.runtime.launcher",
        "class": "MonitoredRunLauncher",
        "config": {"warm_processes": True},
    },
    "compute_logs": NO_COMPUTE_LOGS,
}


@op
def where_am_i() -> dict:
    import sys

    utils = sys.modules.get("skops.io._utils")
    return {
        "pid": os.getpid(),
        "parent": os.getppid(),
        "sklearn_loaded": "sklearn" in sys.modules,
        "skops_fast_lookup": hasattr(getattr(utils, "whichmodule", None), "__wrapped__"),  # see ml/skops_io.py
    }


@op
def write_pid(context, place: dict) -> None:
    Path(os.environ["WARM_RUNS_TEST_FOLDER"], f"{context.run_id}.json").write_text(json.dumps(place))


@job(executor_def=patient_in_process_executor)
def located():
    write_pid(where_am_i())


@op
def a_long_step() -> None:
    Path(os.environ["WARM_RUNS_TEST_FOLDER"], "long_step_started").touch()
    time.sleep(120)


@job(executor_def=patient_in_process_executor)  # which records the run's process, as every job of the platform
def long_running():
    a_long_step()


@pytest.fixture
def warm(tmp_path, monkeypatch):
    monkeypatch.setenv("WARM_RUNS_TEST_FOLDER", str(tmp_path))
    (tmp_path / "instance").mkdir()
    with DagsterInstance.local_temp(str(tmp_path / "instance"), overrides=WARM) as instance:
        yield instance


def launch(instance: DagsterInstance, job_def) -> str:
    recon = reconstructable(job_def)
    run = instance.create_run_for_job(job_def, job_code_origin=recon.get_python_origin())
    instance.run_launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    return run.run_id


def wait_for_end(instance: DagsterInstance, run_id: str, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run.is_finished:
            return run
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not end within {timeout} s")


def test_runs_are_forked_from_one_warm_process_that_imported_the_libraries_first(warm, tmp_path):
    first, second = launch(warm, located), launch(warm, located)
    assert [wait_for_end(warm, run_id).status for run_id in (first, second)] == [DagsterRunStatus.SUCCESS] * 2
    places = [json.loads((tmp_path / f"{run_id}.json").read_text()) for run_id in (first, second)]
    (parent,) = {place["parent"] for place in places}  # one warm process forked both
    warm_process = psutil.Process(parent)  # the launcher's child, still there for the next run
    assert warm_process.ppid() == os.getpid() and warm_process.status() != psutil.STATUS_ZOMBIE
    assert len({place["pid"] for place in places}) == 2 and os.getpid() not in {place["pid"] for place in places}
    # the job imports no scikit-learn: its run's process had it from the warm process
    assert all(place["sklearn_loaded"] and place["skops_fast_lookup"] for place in places)
    for run_id, place in zip((first, second), places):
        messages = [record.message for record in warm.all_logs(run_id)]
        assert (
            f"[MonitoredRunLauncher] Started the run's process (pid {place['pid']}) from the warm process" in messages
        )


def test_a_warm_run_is_cancelled_as_the_ui_cancels_it(warm, tmp_path):
    run_id = launch(warm, long_running)
    deadline = time.monotonic() + 60
    while not (tmp_path / "long_step_started").exists():
        assert time.monotonic() < deadline, "the long step did not start"
        time.sleep(0.2)
    assert warm.run_launcher.terminate(run_id)
    assert wait_for_end(warm, run_id, timeout=60).status == DagsterRunStatus.CANCELED
