"""The run queue: Dagster's QueuedRunCoordinator, plus how often the daemon looks at backfills.

Dagster's daemon looks at backfills every 30 s, a constant with no setting (`DEFAULT_DAEMON_INTERVAL_SECONDS` in
`dagster._daemon.controller`): a backfill launched from the UI waits up to 30 s before its first run is even
queued, as long as a 45 % week of sample2 takes to run. `backfill_interval_seconds` sets that constant in the
process that creates this coordinator. The daemon creates it (to learn which daemons the instance needs) before
it starts its daemons, and its backfill loop reads the constant when it starts, so the value holds for the
daemon's life. In the webserver and the runs the constant is unused.

In the daemon, the coordinator also creates the run launcher as soon as the instance has it, so that the
launcher's warm process (launcher.py, warm_runs.py) imports the libraries while the sensors take their first
look, not when the first run is launched.

The same constant is the default interval of Dagster's legacy auto-materialize daemon (`auto_materialize:
minimum_interval_seconds` in dagster.yaml sets that one; this project's assets have no automation conditions).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import Field
from dagster._config import UserConfigSchema
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._daemon import controller
from dagster._serdes import ConfigurableClassData

from nyc_rental.runtime.launcher import MonitoredRunLauncher, in_the_daemon

DAGSTER_BACKFILL_INTERVAL_SECONDS = controller.DEFAULT_DAEMON_INTERVAL_SECONDS


class PromptQueuedRunCoordinator(QueuedRunCoordinator):
    """QueuedRunCoordinator whose daemon looks at backfills every `backfill_interval_seconds`."""

    backfill_interval_seconds = DAGSTER_BACKFILL_INTERVAL_SECONDS

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return {
            **QueuedRunCoordinator.config_type(),
            "backfill_interval_seconds": Field(
                int,
                is_required=False,
                default_value=DAGSTER_BACKFILL_INTERVAL_SECONDS,
                description="How often the daemon looks at backfills, at least 1 (Dagster's fixed 30 s by default).",
            ),
        }

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]
    ) -> PromptQueuedRunCoordinator:
        interval = config_value.get("backfill_interval_seconds", DAGSTER_BACKFILL_INTERVAL_SECONDS)
        if interval < 1:
            raise ValueError(f"run_coordinator: backfill_interval_seconds must be at least 1, got {interval}")
        coordinator = super().from_config_value(inst_data, config_value)
        coordinator.backfill_interval_seconds = interval
        controller.DEFAULT_DAEMON_INTERVAL_SECONDS = interval
        return coordinator

    def register_instance(self, instance) -> None:
        super().register_instance(instance)
        launcher = instance.run_launcher if in_the_daemon() else None
        if isinstance(launcher, MonitoredRunLauncher):
            launcher.start_warm_process()
