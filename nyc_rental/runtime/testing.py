"""Dagster's private API as the tests use it, named here so that nothing outside runtime/ imports `dagster._`:

- `freeze_time(when)`: every Dagster time reading (a freshness check's "now", a sensor's tick) returns `when`
  (`dagster._core.test_utils`); the freshness tests step a real instance through days without waiting.
- `celery_step_task(instance, run, job, step_key)`: the arguments dagster-celery's executor sends a worker for
  one step of `run` (`dagster_celery.executor._submit_task`); the worker's task is called with them directly.
- `runs_the_daemon_retries(instance, runs)`: which of `runs` the daemon's run retries would retry now.
"""

import logging

from dagster import DagsterInstance, DagsterRun, reconstructable
from dagster._core.test_utils import freeze_time
from dagster._grpc.types import ExecuteStepArgs
from dagster._serdes import pack_value

__all__ = ["DEFAULT_RUN_COORDINATOR", "NO_COMPUTE_LOGS", "celery_step_task", "freeze_time", "runs_the_daemon_retries"]

# Instance settings the tests give a temporary instance, naming classes of Dagster's private modules (an instance's
# yaml names a class by its module): runs launched at once, without the run queue; no captured step output.
DEFAULT_RUN_COORDINATOR = {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"}
NO_COMPUTE_LOGS = {"module": "dagster._core.storage.noop_compute_log_manager", "class": "NoOpComputeLogManager"}


def celery_step_task(instance: DagsterInstance, run: DagsterRun, job, step_key: str) -> dict:
    """The keyword arguments of the Celery task that executes `step_key` of `run` (of module-level `job`)."""
    recon = reconstructable(job)
    args = ExecuteStepArgs(
        job_origin=recon.get_python_origin(),
        run_id=run.run_id,
        step_keys_to_execute=[step_key],
        instance_ref=instance.get_ref(),
        print_serialized_events=True,
    )
    return {"execute_step_args_packed": pack_value(args), "executable_dict": recon.to_dict()}


def runs_the_daemon_retries(instance: DagsterInstance, records: list) -> list[DagsterRun]:
    """Those runs of `records` (RunRecords, as read when their end was stored) that Dagster's daemon retries:
    its event log consumer's handler (`dagster._daemon.auto_run_reexecution`, with whatever wraps it in this
    process) is given them, with the retry itself replaced by a note of the run it would retry."""
    from dagster._daemon.auto_run_reexecution import auto_run_reexecution as consumer

    class Context:  # all the handler reads of the daemon's workspace context, with retry_run replaced
        def __init__(self, instance):
            self.instance = instance

    retried, retry_run = [], consumer.retry_run
    consumer.retry_run = lambda run, _context: retried.append(run)
    try:
        for _ in consumer.consume_new_runs_for_automatic_reexecution(Context(instance), records, logging.getLogger()):
            pass
    finally:
        consumer.retry_run = retry_run
    return retried
