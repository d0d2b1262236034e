"""Run retries: the daemon decides on a failed run once its status says it failed.

Dagster's daemon retries failed runs (`run_retries` in dagster.yaml) from its event log consumer: every 5 s it reads
the run failures stored since its last look and, for each, asks whether the run should be retried. A run's failure
is stored in two steps, though: first the RUN_FAILURE event, then the run's status (another table, on SQLite
another file). A look that falls between the two reads a run that is still STARTED, decides not to retry it, and
moves past the event: the week stays failed, with `dagster/will_retry` set to true a moment later and no retry
ever launched. The two steps are ~0.1 s apart on a busy machine, and run monitoring fails a dead run on a poll of
its own that starts with the consumer's look (10 s and 5 s intervals), so a run failed by run monitoring is
often the one caught between them.

`decide_on_settled_runs` makes the consumer wait, for a run whose failure or success is stored but whose status
has not followed yet, until the status follows (at most `SETTLE_SECONDS` for a look), and then decide and retry
with the run as it is now, by wrapping `filter_runs_to_should_retry` of Dagster's auto-run-reexecution module; the
decision and the retry are still Dagster's. It is installed in the daemon only, as the daemon builds the run
launcher (launcher.py): at its start under `make dev` (the run queue asks for the launcher), else at its first
launch or the first run in progress run monitoring looks at, before any run it launched or watches can fail.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from dagster._core.storage.dagster_run import FINISHED_STATUSES, DagsterRun
from dagster._daemon.auto_run_reexecution import auto_run_reexecution

SETTLE_SECONDS = 10.0
_POLL_SECONDS = 0.05


def settled(runs: Sequence[DagsterRun], instance, timeout: float = SETTLE_SECONDS) -> list[DagsterRun]:
    """`runs` as stored once each one's status has caught up with its stored end; a run still unfinished when
    `timeout` (for them all) has passed, or no longer stored, is returned as it was."""
    deadline = time.monotonic() + timeout
    latest = []
    for run in runs:
        while run.status not in FINISHED_STATUSES and time.monotonic() < deadline:
            time.sleep(_POLL_SECONDS)
            stored = instance.get_run_by_id(run.run_id)
            if stored is None:
                break
            run = stored
        latest.append(run)
    return latest


def decide_on_settled_runs() -> None:
    """Make the daemon's retry decision, and the retry, read each run as settled (idempotent)."""
    choose = auto_run_reexecution.filter_runs_to_should_retry
    if getattr(choose, "reads_settled_runs", False):
        return

    def filter_runs_to_should_retry(runs: Sequence[DagsterRun], instance) -> Iterator[DagsterRun]:
        yield from choose(settled(runs, instance), instance)

    filter_runs_to_should_retry.reads_settled_runs = True
    auto_run_reexecution.filter_runs_to_should_retry = filter_runs_to_should_retry
