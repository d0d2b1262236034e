"""How many cores a step may compute with, from the instance's run queue rather than from what happens to run."""

import os


def runs_at_once(instance) -> int:
    """The most runs the instance runs side by side: its run queue's `max_concurrent_runs`; 1 for an instance
    without a run queue; the cores when the queue has no limit (-1)."""
    queue = instance.get_concurrency_config().run_queue_config
    if queue is None:
        return 1
    if queue.max_concurrent_runs < 0:
        return len(os.sched_getaffinity(0))
    return max(1, queue.max_concurrent_runs)


def cores_per_run(instance) -> int:
    """The threads a step may compute with: the cores divided by the runs that may run at once, fixed by the
    instance's configuration rather than by what happens to run when the step starts. Native thread pools
    (gradient boosting's OpenMP, DuckDB) slow down many times over when the cores they counted on are taken."""
    return max(1, len(os.sched_getaffinity(0)) // runs_at_once(instance))
