"""The run queue of the shipped instance: Dagster's QueuedRunCoordinator, whose daemon looks at backfills every 5 s."""

import shutil
import sys
from pathlib import Path

from dagster import DagsterInstance

from nyc_rental.runtime import coordinator
from nyc_rental.runtime.coordinator import DAGSTER_BACKFILL_INTERVAL_SECONDS, PromptQueuedRunCoordinator

SHIPPED = Path(__file__).resolve().parents[2] / ".dagster" / "dagster.yaml"


def test_the_shipped_instance_queues_runs_and_its_daemon_looks_at_backfills_every_5_s(tmp_path, monkeypatch):
    monkeypatch.setattr(coordinator.controller, "DEFAULT_DAEMON_INTERVAL_SECONDS", DAGSTER_BACKFILL_INTERVAL_SECONDS)
    shutil.copy(SHIPPED, tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        queue = instance.run_coordinator
        assert isinstance(queue, PromptQueuedRunCoordinator)
        assert (queue.dequeue_interval_seconds, queue.backfill_interval_seconds) == (1, 5)
        # what the daemon reads: the run queue is its own daemon, and the backfill loop's interval the constant
        assert "QUEUED_RUN_COORDINATOR" in instance.get_required_daemon_types()
        assert coordinator.controller.DEFAULT_DAEMON_INTERVAL_SECONDS == 5


def test_without_the_setting_the_daemon_keeps_dagsters_interval(tmp_path, monkeypatch):
    monkeypatch.setattr(coordinator.controller, "DEFAULT_DAEMON_INTERVAL_SECONDS", DAGSTER_BACKFILL_INTERVAL_SECONDS)
    (tmp_path / "dagster.yaml").write_text(
        "run_coordinator:\n  module: nyc_rental.runtime.coordinator\n  class: PromptQueuedRunCoordinator\n"
    )
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_coordinator.backfill_interval_seconds == 30
        assert coordinator.controller.DEFAULT_DAEMON_INTERVAL_SECONDS == 30


def test_in_the_daemon_the_queue_starts_the_launchers_warm_process_before_any_run(tmp_path, monkeypatch):
    """So the first week found at start-up does not wait for the warm process's imports."""
    shutil.copy(SHIPPED, tmp_path / "dagster.yaml")
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_coordinator, PromptQueuedRunCoordinator)
        assert instance.run_launcher._warm._processes == {}  # elsewhere (here: pytest) nothing starts early
    monkeypatch.setattr(coordinator, "in_the_daemon", lambda: True)
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        assert isinstance(instance.run_coordinator, PromptQueuedRunCoordinator)
        warm = dict(instance.run_launcher._warm._processes)
        assert list(warm) == [sys.executable] and warm[sys.executable].poll() is None
    assert warm[sys.executable].wait(timeout=60) == 0  # closed with the instance: its warm process exits
