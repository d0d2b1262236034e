"""Dagster's private API as the tests use it, named here so that nothing outside runtime/ imports `dagster._`:

- `freeze_time(when)`: every Dagster time reading (a freshness check's "now", a sensor's tick) returns `when`
  (`dagster._core.test_utils`); the freshness tests step a real instance through days without waiting.
- `step_started(instance, run, step_key, pid)`: the STEP_START event a step's process records, as a Celery
  worker's process records it; the launcher tests lose a worker without starting Celery.
"""

from dagster import DagsterInstance
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.test_utils import freeze_time

__all__ = ["DEFAULT_RUN_COORDINATOR", "NO_COMPUTE_LOGS", "freeze_time", "step_started"]

# Instance settings the tests give a temporary instance, naming classes of Dagster's private modules (an instance's
# yaml names a class by its module): runs launched at once, without the run queue; no captured step output.
DEFAULT_RUN_COORDINATOR = {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"}
NO_COMPUTE_LOGS = {"module": "dagster._core.storage.noop_compute_log_manager", "class": "NoOpComputeLogManager"}


def step_started(instance: DagsterInstance, run: DagsterRun, step_key: str, pid: int) -> None:
    event = DagsterEvent(
        event_type_value=DagsterEventType.STEP_START.value,
        job_name=run.job_name,
        step_key=step_key,
        message=f"Started execution of step {step_key!r}.",
        pid=pid,
    )
    instance.report_dagster_event(event, run.run_id)
