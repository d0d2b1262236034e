"""The in-process executor, with a step that waits for a concurrency pool slot asleep instead of spinning.

Dagster 1.13's `InstanceConcurrencyContext.interval_to_next_pending_claim_check` returns
`min([0, *time_until_each_recheck])`, which is never positive, so `ActiveExecution.sleep_til_ready` never
sleeps: a run whose next step waits for the `training` or `warehouse` pool loops without pause and burns a
core that the step holding the slot needs (about 90 % of a core for as long as it waits; an upstream pull
request, dagster-io/dagster#20367, was closed in 2024). The claims themselves are Dagster's: the same slots,
the same "blocked by limit" events. What differs is the wait between attempts: the run sleeps until its next
attempt is due, and a refused claim is attempted again within CLAIM_RECHECK_SECONDS instead of after
Dagster's backoff (1 s, growing to 15 s). A warehouse step holds its slot for a fraction of a second to a few
seconds, so the backoff left the slot idle for about as long again, several times per run. `docs/upstream/`
holds the one-line fix for Dagster and the figures behind it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from dagster import ExecutorDefinition, executor
from dagster._core.definitions.executor_definition import IN_PROC_CONFIG, _core_in_process_executor_creation
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.context.system import PlanExecutionContext, PlanOrchestrationContext
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.plan.execute_plan import inner_plan_execution_iterator
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.executor.base import Executor
from dagster._core.executor.in_process import InProcessExecutor
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

from nyc_rental.runtime.launcher import worker_event

# How soon a step refused a pool slot asks again (a claim is a few indexed queries of the instance's storage).
CLAIM_RECHECK_SECONDS = 0.25


class PatientConcurrencyContext(InstanceConcurrencyContext):
    """Dagster's pool claims, reporting the time until the next claim attempt is due (never negative), and
    taking a free slot no step was given.

    Dagster's storage hands a freed slot to a step already waiting for it, at the moment it is freed. A step
    that registers its wait at that same moment (it found no free slot, then the slot was freed before its
    wait was written: SQLite has no row locks) is never handed one: it waits forever beside a free slot, and
    the run queue, which counts waiting steps, launches no other run. So after a refused claim, a slot that no
    waiting step was given is handed to the longest waiting one, as a freed slot would have been.
    """

    def claim(self, concurrency_key: str, step_key: str, step_priority: int = 0) -> bool:
        attempted = self._pending_timeouts.get(step_key)
        if super().claim(concurrency_key, step_key, step_priority):
            return True
        due = self._pending_timeouts.get(step_key)
        if due is not None and due != attempted:  # the storage refused a claim (not a backoff)
            self._pending_timeouts[step_key] = min(due, time.time() + CLAIM_RECHECK_SECONDS)
            storage = self._instance.event_log_storage
            if isinstance(storage, SqlEventLogStorage) and storage.has_unassigned_slots(concurrency_key):
                storage.assign_pending_steps([concurrency_key])
                self._pending_timeouts[step_key] = time.time()  # claim again at once
        return False

    def interval_to_next_pending_claim_check(self) -> float:
        if not self.has_pending_claims():
            return 0.0
        pending = self._pending_timeouts.values()
        return max(0.0, min(pending) - time.time()) if pending else 0.0


def _patient_execution_iterator(
    job_context: PlanExecutionContext, execution_plan: ExecutionPlan, instance_concurrency_context=None
) -> Iterator[DagsterEvent]:
    with PatientConcurrencyContext(job_context.instance, job_context.dagster_run) as concurrency:
        yield from inner_plan_execution_iterator(job_context, execution_plan, concurrency)


class PatientInProcessExecutor(InProcessExecutor):
    """Dagster's InProcessExecutor.execute, with PatientConcurrencyContext in place of its concurrency context."""

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        pid, step_keys = os.getpid(), execution_plan.step_keys_to_execute
        # With what identifies this process (see launcher.py): run monitoring can tell when it is gone.
        yield DagsterEvent.engine_event(
            plan_context, f"Executing steps in process (pid: {pid})", event_specific_data=worker_event(pid, step_keys)
        )
        started = time.monotonic()
        yield from iter(
            ExecuteRunWithPlanIterable(
                execution_plan=plan_context.execution_plan,
                iterator=_patient_execution_iterator,
                execution_context_manager=PlanExecutionContextManager(
                    job=plan_context.job,
                    retry_mode=plan_context.retry_mode,
                    execution_plan=plan_context.execution_plan,
                    run_config=plan_context.run_config,
                    dagster_run=plan_context.dagster_run,
                    instance=plan_context.instance,
                    raise_on_error=plan_context.raise_on_error,
                    output_capture=plan_context.output_capture,
                    step_dependency_config=self.step_dependency_config,
                ),
            )
        )
        yield DagsterEvent.engine_event(
            plan_context,
            f"Finished steps in process (pid: {pid}) in {time.monotonic() - started:.1f} s",
            event_specific_data=EngineEventData.in_process(pid, step_keys),
        )


@executor(name="in_process", config_schema=IN_PROC_CONFIG)
def patient_in_process_executor(init_context) -> PatientInProcessExecutor:
    """Every step of a run in the run's own process (Dagster's in-process executor, same config: `execution:
    in_process:`), sleeping while a step waits for a concurrency pool slot."""
    stock = _core_in_process_executor_creation(init_context.executor_config)
    return PatientInProcessExecutor(
        retries=stock.retries,
        marker_to_close=stock.marker_to_close,
        step_dependency_config=stock.step_dependency_config,
    )


class RecordedExecutor(Executor):
    """Another executor (multiprocess, Celery) whose run process first records its identity, as the in-process
    executor above does, so that run monitoring can tell when the process orchestrating the steps is gone."""

    def __init__(self, inner: Executor):
        self.inner = inner

    @property
    def retries(self):
        return self.inner.retries

    @property
    def step_dependency_config(self):
        return self.inner.step_dependency_config

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        pid = os.getpid()
        yield DagsterEvent.engine_event(
            plan_context,
            f"Orchestrating steps from process (pid: {pid})",
            event_specific_data=worker_event(pid, execution_plan.step_keys_to_execute),
        )
        yield from self.inner.execute(plan_context, execution_plan)

    def __getattr__(self, name: str):  # what else callers ask of the inner executor (Celery's app_args)
        return getattr(self.inner, name)


def recorded(definition: ExecutorDefinition) -> ExecutorDefinition:
    """`definition` (same name, config and requirements) with its executor wrapped in RecordedExecutor."""
    create = definition.executor_creation_fn
    return ExecutorDefinition(
        name=definition.name,
        config_schema=definition.config_schema,
        requirements=definition.get_requirements,
        executor_creation_fn=lambda init_context: RecordedExecutor(create(init_context)),
        description=definition.description,
    )
