"""The platform's in-process executor: a step waiting for its concurrency pool sleeps, and then runs."""

import threading
import time

from dagster import DagsterInstance, execute_job, job, op, reconstructable

from nyc_rental.runtime.executor import (
    CLAIM_RECHECK_SECONDS,
    InstanceConcurrencyContext,  # Dagster's own, as executor.py imports it
    PatientConcurrencyContext,
    patient_in_process_executor,
)
from nyc_rental.runtime.testing import NO_COMPUTE_LOGS

POOL = "warehouse"
HOLDER = "a-run-that-holds-the-slot"


@op(pool=POOL)
def pooled_step() -> float:
    return time.time()


@job(executor_def=patient_in_process_executor)
def pooled_job():
    pooled_step()


def thread_cpu_seconds(thread: threading.Thread) -> float:
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def wait_until(what: str, probe, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_step_blocked_by_its_pool_sleeps_until_the_slot_is_free_then_runs(tmp_path):
    overrides = {
        "concurrency": {"pools": {"granularity": "op", "default_limit": 1}},
        # No `tail -F` capturing the step's output: started from this test's thread, the tails sometimes ignored
        # Dagster's SIGTERM and each cleanup waited its 30 s timeout (the run took 62 s, seen in CI).
        "compute_logs": NO_COMPUTE_LOGS,
    }
    with DagsterInstance.local_temp(str(tmp_path), overrides=overrides) as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(POOL)
        assert storage.claim_concurrency_slot(POOL, HOLDER, "model").is_claimed
        outcome = {}

        def run() -> None:
            try:
                with execute_job(reconstructable(pooled_job), instance) as result:
                    outcome.update(success=result.success, ran_at=result.output_for_node("pooled_step"))
            except Exception as error:  # reported below, not lost in the thread
                outcome.update(error=repr(error))

        runner = threading.Thread(target=run, daemon=True)
        runner.start()
        wait_until("the step to wait for the pool", lambda: storage.get_concurrency_info(POOL).pending_step_count)

        cpu_before = thread_cpu_seconds(runner)
        time.sleep(2)
        waiting_cpu = thread_cpu_seconds(runner) - cpu_before
        assert runner.is_alive() and not outcome, "the step ran while the pool's only slot was held"

        freed_at = time.time()
        storage.free_concurrency_slots_for_run(HOLDER)
        runner.join(60)
        assert not runner.is_alive(), "the run did not finish within 60 s of the slot being freed"
        assert outcome.get("success") and outcome["ran_at"] >= freed_at, outcome
        # Spinning, the run would use about 2 s of CPU in those 2 s; asleep it makes a few claim attempts.
        assert waiting_cpu < 0.3, f"the waiting run used {waiting_cpu:.2f} s of CPU in 2 s"
        assert storage.get_concurrency_info(POOL).claimed_slots == []


def test_dagster_still_busy_waits_on_a_pending_claim_so_the_patient_executor_is_still_needed(tmp_path):
    """The day this fails, Dagster waits between pool claims by itself: delete PatientConcurrencyContext and
    PatientInProcessExecutor (nyc_rental/runtime/executor.py) and use Dagster's own in-process executor."""
    overrides = {"concurrency": {"pools": {"granularity": "op", "default_limit": 1}}}
    with DagsterInstance.local_temp(str(tmp_path), overrides=overrides) as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(POOL)
        assert storage.claim_concurrency_slot(POOL, HOLDER, "model").is_claimed
        run = instance.create_run_for_job(pooled_job)
        intervals = {}
        for name, context in (("dagster", InstanceConcurrencyContext), ("patient", PatientConcurrencyContext)):
            with context(instance, run) as concurrency:
                assert not concurrency.claim(POOL, "pooled_step") and concurrency.has_pending_claims()
                intervals[name] = concurrency.interval_to_next_pending_claim_check()
        assert intervals["dagster"] <= 0, (
            f"Dagster's InstanceConcurrencyContext.interval_to_next_pending_claim_check now returns "
            f"{intervals['dagster']:.2f} s while a claim is pending: Dagster sleeps between pool claims itself. "
            "The patient executor (nyc_rental/runtime/executor.py) can now be deleted: use Dagster's in_process "
            "executor, drop the test of its wait, and lift the dagster<1.14 bound if nothing else needs it."
        )
        # ours sleeps until the next claim attempt is due, a quarter of a second away (not Dagster's 1 s to 15 s)
        assert 0 < intervals["patient"] <= CLAIM_RECHECK_SECONDS


def test_a_step_that_began_waiting_as_the_slot_was_freed_takes_the_free_slot(tmp_path):
    """The race seen in a backfill: a step finds the pool's slot taken; the holder frees it, handing it to the
    steps then waiting (none); only then is the step's wait written, unassigned. Dagster's context leaves that
    step waiting beside the free slot for good (and the queue launches no other run); ours takes it."""
    overrides = {"concurrency": {"pools": {"granularity": "op", "default_limit": 1}}}
    with DagsterInstance.local_temp(str(tmp_path), overrides=overrides) as instance:
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(POOL)
        runs = {name: instance.create_run_for_job(pooled_job) for name in ("dagster", "patient")}
        for run in runs.values():  # each one's wait written after the slot was freed, as in the race
            storage.add_pending_step(POOL, run.run_id, "pooled_step", should_assign=False)
        claimed = {}
        for name, context in (("dagster", InstanceConcurrencyContext), ("patient", PatientConcurrencyContext)):
            with context(instance, runs[name]) as concurrency:
                attempts = [concurrency.claim(POOL, "pooled_step")]
                concurrency._pending_timeouts["pooled_step"] = 0.0  # the backoff over: the next attempt is due
                attempts.append(concurrency.claim(POOL, "pooled_step"))
                claimed[name] = attempts
            storage.free_concurrency_slots_for_run(runs[name].run_id)
        assert claimed == {"dagster": [False, False], "patient": [False, True]}, claimed
