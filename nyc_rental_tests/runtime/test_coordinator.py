"""The run queue of the shipped instance: Dagster's QueuedRunCoordinator, whose daemon looks at backfills every 5 s."""

import shutil
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
