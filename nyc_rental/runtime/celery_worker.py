"""The Celery app of the platform's workers, and the Celery settings that the runs' executor shares with them.

A worker, on this machine or any other with the package installed and the same environment:

    celery -A nyc_rental.runtime.celery_worker worker -Q dagster --concurrency 1 -n worker1@%h

It executes the steps that `dagster-celery`'s executor sends (the task is dagster-celery's own `execute_plan`,
registered under its name). The broker and the result backend come from the environment:
NYC_RENTAL_CELERY_BROKER, and NYC_RENTAL_CELERY_BACKEND (default: rpc://, RabbitMQ's reply queues). Nothing
holding a password is written to disk.

A worker that dies mid-step (killed, out of memory, its machine gone) loses no step. A task is acknowledged
only once its step has ended (`task_acks_late`), so the broker hands a task whose worker vanished to another
worker, or to the same one started again, and the step runs again in the same Dagster run:
- RabbitMQ requeues it as soon as the worker's connection closes (its process or namespace killed), or when
  the connection's heartbeat stops answering (a machine switched off);
- a pool process killed under a living worker has its task rejected and requeued
  (`task_reject_on_worker_lost`);
- a worker that loses its broker connection stops the steps it runs, whose tasks the broker requeues
  (`worker_cancel_long_running_tasks_on_connection_loss`), so a step never runs twice at once;
- each worker reserves no task beyond the one it runs (`worker_prefetch_multiplier` 1).
These settings are `settings.CELERY_SETTINGS`, which the runs' executor is given too.
A redelivered task whose run has meanwhile ended (failed by run monitoring, cancelled) is dropped unexecuted.
With Redis as the broker, a task of a killed worker comes back only after the transport's visibility
timeout (an hour by default), a Redis property that no setting shortens safely for long steps.
"""

from __future__ import annotations

import logging
import os

from celery import Task
from dagster import DagsterInstance
from dagster._grpc.types import ExecuteStepArgs
from dagster._serdes import unpack_value
from dagster_celery.executor import CeleryExecutor
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from nyc_rental import settings

logger = logging.getLogger(__name__)


class StepOfAnUnfinishedRun(Task):
    """dagster-celery's step task, dropped when its run has ended before the task starts (a task redelivered
    after its worker died belongs to a run that may since have failed, and a retry of it may be running)."""

    def __call__(self, execute_step_args_packed, executable_dict):
        args = unpack_value(execute_step_args_packed, as_type=ExecuteStepArgs)
        with DagsterInstance.from_ref(args.instance_ref) as instance:
            run = instance.get_run_by_id(args.run_id)
        if run is None or run.is_finished:
            status = run.status.value if run else "deleted"
            logger.warning("dropped steps %s of run %s: the run is %s", args.step_keys_to_execute, args.run_id, status)
            return []
        return super().__call__(execute_step_args_packed, executable_dict)


def _app():
    broker = os.environ.get(settings.CELERY_BROKER_ENV)
    if not broker:
        raise RuntimeError(f"set {settings.CELERY_BROKER_ENV} to the broker's URL (pyamqp://… or redis://…)")
    executor = CeleryExecutor.for_cli(
        broker=broker, backend=settings.celery_backend(), config_source=settings.CELERY_SETTINGS
    )
    return make_app(executor.app_args())


app = _app()
execute_plan = create_task(app, base=StepOfAnUnfinishedRun)
