"""The run launcher: Dagster's default one, plus the health check run monitoring needs to fail dead runs.

Dagster's DefaultRunLauncher starts each run as a process of the code server, and the code server marks a run
failed when that process dies. When everything dies together (a power cut, a reboot, the OOM killer taking
`dagster dev`'s whole process group), nothing is left to notice: the run stays STARTED, holds its place in the
run queue (and its slots of any limited pool), and later runs wait for them. The default launcher cannot tell
run monitoring whether a run's process lives. This one can: the platform's executor records, when a run starts
executing, its process id, its host, the machine's boot and the moment the process started (`RunWorker`). Run
monitoring (`run_monitoring` in dagster.yaml) asks every poll and fails a run whose process is gone; the queue
then has its place back, the daemon frees any pool slots it held, run retries re-run it and
`close_mlflow_runs_of_failed_runs` closes its MLflow run.

A run is only reported dead when that is certain: the machine has restarted since, or no process with that
id exists, or the process with that id started at another moment (the id was reused). Start moments are
clock ticks since boot on Linux, so a change of the wall clock cannot make a live run look dead. A run that
recorded no such identity or ran on another host is reported running.

Under the Celery executor a step runs in a worker's process, on this machine or another. A worker killed
mid-step is not this check's concern: the broker hands the step's task to another worker and the run goes on
(nyc_rental/runtime/celery_worker.py).

A run whose process died after every step of its plan had succeeded (in the moment between its last step and
the run's end) has done its work: each step's outputs, materializations and checks are stored, and a retry
from failure would find nothing to run. The health check ends such a run as a success, as its process would
have, saying what happened, rather than leave it to run monitoring to fail. Otherwise it only reads state: run
monitoring calls it every poll and acts on its verdict. In the daemon, building the launcher also makes the
retry of a run it fails certain (nyc_rental/runtime/retries.py).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from dagster import Field, MetadataValue
from dagster._config import UserConfigSchema
from dagster._core.events import DagsterEvent, DagsterEventType, EngineEventData
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
from dagster._core.storage.dagster_run import DagsterRun
from dagster._serdes import ConfigurableClassData, serialize_value

from nyc_rental.runtime.warm_runs import WarmProcesses

_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_PROC = Path("/proc")


@dataclass(frozen=True)
class RunWorker:
    """The process that executes a run, as it recorded itself: enough to recognise it later, or its absence."""

    pid: int
    host: str
    boot: str
    started: str
    recorded_at: float = 0.0

    @classmethod
    def of_this_process(cls, pid: int) -> RunWorker:
        return cls(pid=pid, host=this_host(), boot=boot_id(), started=start_mark(pid) or "")

    def metadata(self) -> dict:
        return {
            "pid": MetadataValue.text(str(self.pid)),
            "host": MetadataValue.text(self.host),
            "boot_id": MetadataValue.text(self.boot),
            "process_started": MetadataValue.text(self.started),
        }

    def describe(self) -> str:
        when = dt.datetime.fromtimestamp(self.recorded_at, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"process {self.pid} on {self.host} (recorded {when})"


def this_host() -> str:
    return socket.gethostname()


def is_this_host(host: str) -> bool:
    return host in _LOCAL_NAMES or host == socket.gethostname() or host == socket.getfqdn()


def boot_id() -> str:
    """The machine's boot (Linux); empty where the system does not say."""
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        return ""


def start_mark(pid: int) -> str | None:
    """When process `pid` started, in a form the wall clock does not move (clock ticks since boot on Linux,
    psutil's creation time elsewhere); None when no such process runs (gone, or a zombie)."""
    if (_PROC / "self" / "stat").exists():
        try:
            stat = (_PROC / str(pid) / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            return None
        state, *rest = stat.rsplit(")", 1)[1].split()
        return None if state in ("Z", "X") else f"ticks {rest[18]}"
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD):
            return None
        return f"created {process.create_time():.0f}"
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        return ""


def worker_event(pid: int, step_keys) -> EngineEventData:
    """The executor's "Executing steps in process" event data: Dagster's, with this process's identity."""
    stock = EngineEventData.in_process(pid, step_keys).metadata
    return EngineEventData(metadata={**stock, **RunWorker.of_this_process(pid).metadata()})


def recorded_worker(instance, run: DagsterRun) -> RunWorker | None:
    """The process that executes `run`, as the platform's executor recorded it; None if it did not."""
    records = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.ENGINE_EVENT, ascending=True, limit=50
    ).records
    for record in records:
        data = record.event_log_entry.dagster_event.engine_event_data
        metadata = data.metadata if data else {}
        if {"pid", "host", "boot_id", "process_started"} <= metadata.keys():
            return RunWorker(
                pid=int(metadata["pid"].value),
                host=metadata["host"].value,
                boot=metadata["boot_id"].value,
                started=metadata["process_started"].value,
                recorded_at=record.event_log_entry.timestamp,
            )
    return None


def worker_health(worker: RunWorker | None) -> CheckRunHealthResult:
    """FAILED only when the recorded process certainly no longer runs; RUNNING otherwise."""
    if worker is None:
        return CheckRunHealthResult(WorkerStatus.RUNNING, "the run recorded no process this launcher can check")
    if not is_this_host(worker.host):
        return CheckRunHealthResult(WorkerStatus.RUNNING, f"cannot see processes of {worker.host} from here")
    gone = f"the run's {worker.describe()} no longer exists"
    why = "the machine, `dagster dev` or the code server stopped while the run was in progress"
    if worker.boot and worker.boot != boot_id():
        return CheckRunHealthResult(WorkerStatus.FAILED, f"{gone}: the machine has restarted since")
    now = start_mark(worker.pid)
    if now is None:
        return CheckRunHealthResult(WorkerStatus.FAILED, f"{gone}: {why}")
    if now and worker.started and now != worker.started:
        return CheckRunHealthResult(WorkerStatus.FAILED, f"{gone} (its id now belongs to another process): {why}")
    return CheckRunHealthResult(WorkerStatus.RUNNING, f"process {worker.pid} is alive")


def plan_finished(instance, run: DagsterRun) -> bool:
    """Whether every step `run` was to execute has succeeded (its process may still have to report the end)."""
    keys = run.step_keys_to_execute
    if keys is None:
        snapshot = instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
        keys = snapshot.step_keys_to_execute or [step.key for step in snapshot.steps]
    if not keys:
        return False
    records = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.STEP_SUCCESS).records
    return set(keys) <= {record.event_log_entry.step_key for record in records}


def report_finished(instance, run: DagsterRun, health: CheckRunHealthResult) -> CheckRunHealthResult:
    """End a run whose steps have all succeeded but whose process died before reporting the run's end."""
    message = (
        f'Finished execution of run for "{run.job_name}": every step succeeded, and {health.msg} before it '
        "reported the run's end"
    )
    instance.report_dagster_event(
        DagsterEvent(event_type_value=DagsterEventType.RUN_SUCCESS.value, job_name=run.job_name, message=message),
        run_id=run.run_id,
    )
    return CheckRunHealthResult(WorkerStatus.SUCCESS, message)


def in_the_daemon() -> bool:
    """Whether this process is Dagster's daemon: `python -m dagster._daemon run` (as `dagster dev` starts it) or
    `dagster-daemon run` (a deployment's)."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    return (spec is not None and spec.name.startswith("dagster._daemon")) or Path(sys.argv[0]).name == "dagster-daemon"


class MonitoredRunLauncher(DefaultRunLauncher):
    """Dagster's default run launcher (runs as processes of the code server) that run monitoring can ask
    whether a run's process still exists (`run_launcher` in dagster.yaml); with `warm_processes: true`, runs
    are forked from a process that has imported the libraries already (nyc_rental/runtime/warm_runs.py)."""

    def __init__(self, inst_data: ConfigurableClassData | None = None, warm_processes: bool = False):
        super().__init__(inst_data=inst_data)
        self._warm = WarmProcesses() if warm_processes else None

    def register_instance(self, instance) -> None:
        super().register_instance(instance)
        if in_the_daemon():  # the retries of the runs this launcher's health check fails (retries.py)
            from nyc_rental.runtime.retries import decide_on_settled_runs

            decide_on_settled_runs()

    def start_warm_process(self) -> None:
        """With warm processes, start this interpreter's now, before any run needs it (the daemon does, see
        coordinator.py): it imports while the sensors take their first look."""
        if self._warm is not None:
            self._warm.start(sys.executable)

    @classmethod
    def config_type(cls) -> UserConfigSchema:
        return {
            "warm_processes": Field(
                bool,
                is_required=False,
                default_value=False,
                description=(
                    "Fork each run from a process of the launcher's host that has imported the libraries a run "
                    "needs, instead of a fresh process of the code server: about 4.5 s of a core less per run."
                ),
            )
        }

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: dict) -> MonitoredRunLauncher:
        return cls(inst_data=inst_data, **config_value)

    def launch_run(self, context: LaunchRunContext) -> None:
        run = context.dagster_run
        origin = run.job_code_origin
        if self._warm is None or origin is None:
            return super().launch_run(context)
        executable = origin.repository_origin.executable_path
        pid = self._warm.start_run(executable, run.run_id, serialize_value(self._instance.get_ref()))
        self._instance.report_engine_event(
            f"Started the run's process (pid {pid}) from the warm process", run, cls=self.__class__
        )

    def terminate(self, run_id: str) -> bool:
        """Cancel a run: with warm processes, its process is interrupted as the code server interrupts its
        runs' (at the next step boundary: the run ends CANCELED)."""
        if self._warm is None:
            return super().terminate(run_id)
        run = self._instance.get_run_by_id(run_id)
        if not run or run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        worker = recorded_worker(self._instance, run)
        if worker is None or not is_this_host(worker.host) or worker_health(worker).status != WorkerStatus.RUNNING:
            self._instance.report_engine_event(
                "Could not interrupt the run: its process is not running on this host", run, cls=self.__class__
            )
            return False
        os.kill(worker.pid, signal.SIGINT)
        return True

    def dispose(self) -> None:
        if self._warm is not None:
            self._warm.close()
        super().dispose()

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        health = worker_health(recorded_worker(self._instance, run))
        if health.status == WorkerStatus.FAILED and run.execution_plan_snapshot_id:
            if plan_finished(self._instance, run):
                return report_finished(self._instance, run, health)
        return health
