"""The run launcher: Dagster's default one, plus the health check run monitoring needs to fail dead runs.

Dagster's DefaultRunLauncher starts each run as a process of the code server, and the code server marks a
run failed when that process dies. When everything dies together (a power cut, a reboot, the OOM killer
taking `dagster dev`'s whole process group), nothing is left to notice: the run stays STARTED, holds its
pool slots, and every later run waits for them. The default launcher cannot tell run monitoring whether a
run's process lives. This one can: the run's worker recorded its process id (the "Started process for run"
engine event, or the executor's "Executing steps in process" one) and the host it ran on. Run monitoring
(`run_monitoring` in dagster.yaml) asks every poll, and fails a run whose process is gone; the daemon then
frees its slots, run retries re-run it and `close_mlflow_runs_of_failed_runs` closes its MLflow run.

A run is only reported dead when that is certain: a process with its id that started before the run
recorded it is alive, whatever it is doing; a run that ran on another host, or recorded no process, is
reported running.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from dataclasses import dataclass

import psutil
from dagster._core.events import DagsterEventType
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
from dagster._core.storage.dagster_run import DagsterRun
from dagster._core.storage.tags import GRPC_INFO_TAG

HOST_KEY = "host"
PID_KEY = "pid"
# A process logs its id after it started; allow for clocks read in different places.
CLOCK_SLACK_SECONDS = 2.0
_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


@dataclass(frozen=True)
class RunWorker:
    """The process a run recorded as its worker: its id, the host it ran on (None: this one), when it said so."""

    pid: int
    host: str | None
    recorded_at: float

    def describe(self) -> str:
        when = dt.datetime.fromtimestamp(self.recorded_at, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"process {self.pid} on {self.host or socket.gethostname()} (recorded {when})"


def this_host() -> str:
    return socket.gethostname()


def is_this_host(host: str | None) -> bool:
    return host is None or host in _LOCAL_NAMES or host in {socket.gethostname(), socket.getfqdn()}


def recorded_worker(instance, run: DagsterRun) -> RunWorker | None:
    """The first process id the run recorded (its run worker), with the host it names, if any."""
    records = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ENGINE_EVENT, ascending=True, limit=50
    ).records
    for record in records:
        data = record.event_log_entry.dagster_event.engine_event_data
        metadata = data.metadata if data else {}
        if PID_KEY not in metadata:
            continue
        host = metadata[HOST_KEY].value if HOST_KEY in metadata else _grpc_host(run)
        return RunWorker(pid=int(metadata[PID_KEY].value), host=host, recorded_at=record.event_log_entry.timestamp)
    return None


def _grpc_host(run: DagsterRun) -> str | None:
    """The code server's host: the DefaultRunLauncher starts the run worker there."""
    try:
        return json.loads(run.tags[GRPC_INFO_TAG]).get("host")
    except (KeyError, ValueError, AttributeError):
        return None


def worker_health(worker: RunWorker | None) -> CheckRunHealthResult:
    """RUNNING unless the recorded process certainly no longer exists on this host."""
    if worker is None:
        return CheckRunHealthResult(WorkerStatus.RUNNING, "the run has not recorded its process yet")
    if not is_this_host(worker.host):
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"cannot see processes of {worker.host} from here")
    gone = (
        f"the run's {worker.describe()} no longer exists: the machine, `dagster dev` or the code server "
        "stopped while the run was in progress"
    )
    try:
        process = psutil.Process(worker.pid)
        started = process.create_time()
        status = process.status()
    except psutil.NoSuchProcess:
        return CheckRunHealthResult(WorkerStatus.FAILED, gone)
    except psutil.AccessDenied:
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"process {worker.pid} exists (not ours to inspect)")
    if started > worker.recorded_at + CLOCK_SLACK_SECONDS:
        return CheckRunHealthResult(
            WorkerStatus.FAILED, f"{gone} (process {worker.pid} is now another process, started later)"
        )
    if status in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
        return CheckRunHealthResult(WorkerStatus.FAILED, gone)
    return CheckRunHealthResult(WorkerStatus.RUNNING, f"process {worker.pid} is alive")


class MonitoredRunLauncher(DefaultRunLauncher):
    """Dagster's default run launcher (runs as processes of the code server) that run monitoring can ask
    whether a run's process still exists (`run_launcher` in dagster.yaml)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        return worker_health(recorded_worker(self._instance, run))
