"""A real `dagster dev` (webserver, daemon, code server) for the integration tests, and the GraphQL the UI sends.

Each instance runs in its own session (process group) on a free localhost port, with its own DAGSTER_HOME
(holding the repository's .dagster/dagster.yaml, so the shipped concurrency settings are the ones proven)
and NYC_RENTAL_HOME. `stop()` interrupts it as Ctrl-C would and fails if any process of it is left.
"""

import contextlib
import importlib.util
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
import yaml
from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError

REPO = Path(__file__).resolve().parents[2]
DAGSTER = Path(sys.executable).parent / "dagster"
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}

LOCATION = """
{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""
RUNS = """
query Runs($filter: RunsFilter) { runsOrError(filter: $filter) { __typename ... on Runs { results {
    runId status jobName startTime endTime tags { key value } } } } }
"""
RUN_EVENTS = """
query Events($runId: ID!, $after: String) { logsForRun(runId: $runId, afterCursor: $after) {
    __typename ... on EventConnection { cursor hasMore events { __typename
        ... on MessageEvent { message level stepKey timestamp }
        ... on ExecutionStepFailureEvent { error { message cause { message cause { message } } } }
        ... on RunFailureEvent { pipelineName }
        ... on EngineEvent { error { message } }
        ... on MaterializationEvent { assetKey { path } metadataEntries { label
            ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text }
            ... on JsonMetadataEntry { jsonString } ... on BoolMetadataEntry { boolValue }
            ... on FloatMetadataEntry { floatValue } ... on MarkdownMetadataEntry { mdStr } } } } } } }
"""
STEPS = """
query Steps($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { stepStats { stepKey status } } } }
"""
LAUNCH_BACKFILL = """
mutation Backfill($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
    ... on InvalidSubsetError { message } ... on UnauthorizedError { message } } }
"""
BACKFILL = """
query Backfill($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename
    ... on PartitionBackfill { status numPartitions error { message }
        runs { runId status tags { key value } startTime endTime } } } }
"""
SENSOR = """
query Sensor($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) { __typename
    ... on Sensor { id sensorState { id status selectorId } } } }
"""
STOP_SENSOR = """
mutation Stop($id: String) { stopSensor(id: $id) { __typename
    ... on StopSensorMutationResult { instigationState { status } } ... on PythonError { message } } }
"""
START_SENSOR = """
mutation Start($selector: SensorSelector!) { startSensor(sensorSelector: $selector) { __typename
    ... on Sensor { sensorState { status } } ... on PythonError { message } } }
"""
SENSOR_TICKS = """
query Ticks($selector: SensorSelector!) { sensorOrError(sensorSelector: $selector) { __typename
    ... on Sensor { sensorState { status ticks(limit: 200) { status error { message }
        logEvents { events { message level } } } } } } }
"""


def ui_screenshots():
    """scripts/ui_screenshots.py as a module (it drives Debian's Chromium; .ci/run installs it)."""
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Chromium not found at {chromium}: .ci/run installs Debian's chromium")
        pytest.skip(f"Chromium not found at {chromium} (apt-get install chromium)")
    spec = importlib.util.spec_from_file_location("ui_screenshots", REPO / "scripts" / "ui_screenshots.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def session_processes(session_id: int) -> list[str]:
    """The processes still alive in a session (pid and command line)."""
    listing = subprocess.run(["ps", "-ww", "-eo", "pid=,sid=,stat=,args="], capture_output=True, text=True).stdout
    alive = []
    for line in listing.splitlines():
        pid, sid, stat, args = line.split(None, 3)
        if int(sid) == session_id and not stat.startswith("Z"):
            alive.append(f"{pid} {args}")
    return alive


def start_in_session(command: list[str], cwd: Path, env: dict, log: Path) -> subprocess.Popen:
    """A long-running command in its own session, as if started in a terminal of its own."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Started from a background job, SIGINT would be inherited as ignored, and Ctrl-C would not stop it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


def ctrl_c(process: subprocess.Popen, what: str, timeout: float = 90, group: bool = False) -> None:
    """Interrupt `process` (or its whole process group, as a terminal's Ctrl-C does) and fail if it does not
    exit within `timeout` or leaves any process of its session behind."""
    session = process.pid
    if process.poll() is None:
        if group:
            os.killpg(session, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(session, signal.SIGKILL)
            raise AssertionError(f"{what} did not stop within {timeout:g} s of Ctrl-C") from None
    try:
        wait_for(f"every process of {what} to exit", lambda: not session_processes(session), 30, 0.5)
    except AssertionError:
        left = session_processes(session)
        os.killpg(session, signal.SIGKILL)
        raise AssertionError(f"{what} left processes behind: {left}") from None


def power_cut(process: subprocess.Popen) -> list[str]:
    """SIGKILL every process of `process`'s session at once, as a power cut, a reboot or the OOM killer
    taking the whole group would: nothing gets to clean up. Returns what was killed."""
    killed = session_processes(process.pid)
    os.killpg(process.pid, signal.SIGKILL)
    for line in session_processes(process.pid):  # anything that left the group but not the session
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.kill(int(line.split()[0]), signal.SIGKILL)
    process.wait(30)
    wait_for("the killed processes to be gone", lambda: not session_processes(process.pid), 30, 0.2)
    return killed


def wait_for(what: str, probe: Callable, timeout: float, every: float = 1.0):
    """Call `probe` until it returns something truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def max_in_flight(intervals: list[tuple[float, float]]) -> int:
    """The most (start, end) intervals open at one moment: runs or steps executing at once."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    return max(itertools.accumulate(change for _, change in edges))


class DagsterUI:
    """The GraphQL API of a running Dagster webserver, queried as the UI queries it."""

    def __init__(self, port: int):
        self.port = port
        self.client = DagsterGraphQLClient("127.0.0.1", port_number=port, timeout=60)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def location_loaded(self) -> bool:
        """Whether the code location has loaded (a location that failed to load fails the test)."""
        try:
            entries = self.query(LOCATION)["workspaceOrError"]["locationEntries"]
        except (DagsterGraphQLClientError, requests.RequestException):
            return False
        loaded = [entry for entry in entries if entry["loadStatus"] == "LOADED"]
        for entry in loaded:
            if entry["locationOrLoadError"]["__typename"] != "RepositoryLocation":
                raise AssertionError(f"the code location failed to load: {entry['locationOrLoadError']}")
        return bool(loaded)

    def query(self, text: str, variables: dict | None = None) -> dict:
        return self.client._execute(text, variables)

    def runs(self, tags: dict | None = None, statuses: list[str] | None = None) -> list[dict]:
        run_filter = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        if statuses:
            run_filter["statuses"] = statuses
        return self.query(RUNS, {"filter": run_filter})["runsOrError"]["results"]

    def step_statuses(self, run_id: str) -> dict[str, str]:
        """Each step of a run that has started: IN_PROGRESS, SUCCESS, FAILURE or SKIPPED."""
        stats = self.query(STEPS, {"runId": run_id})["runOrError"].get("stepStats", [])
        return {stat["stepKey"]: stat["status"] for stat in stats}

    def week_runs(self, week: str) -> list[dict]:
        return self.runs({"dagster/partition": week})

    def wait_for_run(self, week: str, timeout: float = 300, count: int = 1) -> dict:
        """The latest run of a week once `count` runs of it exist and all have finished."""

        def finished():
            runs = self.week_runs(week)
            return len(runs) >= count and all(run["status"] in FINISHED for run in runs) and runs

        return wait_for(f"{count} finished run(s) of week {week}", finished, timeout)[0]

    def events(self, run_id: str) -> list[dict]:
        events, cursor = [], None
        while True:
            page = self.query(RUN_EVENTS, {"runId": run_id, "after": cursor})["logsForRun"]
            events += page["events"]
            cursor = page["cursor"]
            if not page["hasMore"]:
                return events

    @staticmethod
    def champion_by_decisions(decisions: dict[str, tuple]) -> str | None:
        """Replay the weeks' promotion decisions ({week: (model_version, champion_version, promoted,
        decided_at)}, test_metrics' columns) in the order they were made, checking that each week was compared
        with the champion of that moment and that no week took the alias from a newer week's model; the
        champion they leave."""
        holder, holder_week = None, None
        for week, (version, before, promoted, _) in sorted(decisions.items(), key=lambda item: item[1][3]):
            assert before == holder, (week, before, holder)
            assert not (promoted and holder_week and week < holder_week), (week, "took over from", holder_week)
            if promoted:
                holder, holder_week = version, week
        return holder

    def run_pid(self, run_id: str) -> int:
        """The process id of a run's worker, from the code server's "Started process for run" event."""
        for event in self.events(run_id):
            found = re.search(r"Started process for run \(pid: (\d+)\)", event.get("message") or "")
            if found:
                return int(found.group(1))
        raise AssertionError(f"no process id in the events of run {run_id}")

    def failure_text(self, run_id: str) -> str:
        """Every error message of a run, for assertions on what a user reads."""
        parts = []
        for event in self.events(run_id):
            if event.get("level") == "ERROR" or event["__typename"].endswith("FailureEvent"):
                parts.append(event.get("message") or "")
            error = event.get("error")
            while error:  # the error and what caused it, as the UI shows them
                parts.append(error["message"])
                error = error.get("cause")
        return "\n".join(parts)

    def materialization(self, run_id: str, asset: str) -> dict:
        for event in self.events(run_id):
            if event["__typename"] == "MaterializationEvent" and event["assetKey"]["path"] == [asset]:
                return {entry["label"]: _entry_value(entry) for entry in event["metadataEntries"]}
        raise AssertionError(f"run {run_id} did not materialize {asset}")

    def launch_backfill(self, weeks: list[str], assets: list[str]) -> str:
        """An asset backfill of `weeks`, as the UI's 'Materialize' dialog launches it."""
        params = {
            "partitionNames": weeks,
            "assetSelection": [{"path": [asset]} for asset in assets],
            "fromFailure": False,
            "tags": [],
        }
        launched = self.query(LAUNCH_BACKFILL, {"params": params})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        return launched["backfillId"]

    def backfill(self, backfill_id: str) -> dict:
        return self.query(BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]

    def wait_for_backfill(self, backfill_id: str, timeout: float = 600) -> dict:
        def done():
            found = self.backfill(backfill_id)
            runs = found["runs"]
            return (
                found["status"] not in {"REQUESTED", "CANCELING", "FAILING"}
                and all(run["status"] in FINISHED for run in runs)
                and found
            )

        return wait_for(f"backfill {backfill_id} to finish", done, timeout, every=2)

    def stop_sensor(self, sensor: str = "incoming_listings_sensor", settle: float = 5.0, attempts: int = 5) -> None:
        """Turn a sensor off, as its toggle in the UI does, and make sure it stays off before the test writes what
        the sensor would take. A tick that began before the toggle still runs what it finds (the delivery
        sensor's look waits up to 10 s for files written moments before it, and takes them), so the tick in
        progress is waited for. And Dagster's daemon, beginning a tick, writes the sensor's state back as it
        read it: a toggle landing between its read and its write is lost and the sensor runs on. So after
        `settle` seconds (longer than the daemon takes to begin a tick) the sensor must still be off with no
        tick in progress, or it is turned off again."""
        for _ in range(attempts):
            state = self._sensor_state(sensor)
            if state["status"] != "STOPPED":
                stopped = self.query(STOP_SENSOR, {"id": state["id"]})["stopSensor"]
                assert stopped["__typename"] == "StopSensorMutationResult", stopped
            wait_for(
                f"the tick of sensor {sensor} in progress to end", lambda: not self._tick_in_progress(sensor), 60, 0.5
            )
            time.sleep(settle)
            if self._sensor_state(sensor)["status"] == "STOPPED" and not self._tick_in_progress(sensor):
                return
        raise AssertionError(f"sensor {sensor} did not stay stopped after {attempts} attempts")

    def _sensor_state(self, sensor: str) -> dict:
        return self.query(SENSOR, {"selector": _sensor_selector(sensor)})["sensorOrError"]["sensorState"]

    def _tick_in_progress(self, sensor: str) -> bool:
        found = self.query(SENSOR_TICKS, {"selector": _sensor_selector(sensor)})["sensorOrError"]
        return any(tick["status"] == "STARTED" for tick in found["sensorState"]["ticks"][:1])

    def start_sensor(self, sensor: str = "incoming_listings_sensor") -> None:
        started = self.query(START_SENSOR, {"selector": _sensor_selector(sensor)})["startSensor"]
        assert started["__typename"] == "Sensor", started

    def sensor_log(self, sensor: str = "incoming_listings_sensor") -> list[str]:
        """Every line the sensor logged (and every tick error), newest tick first."""
        found = self.query(SENSOR_TICKS, {"selector": _sensor_selector(sensor)})["sensorOrError"]
        lines = []
        for tick in found["sensorState"]["ticks"]:
            if tick["error"]:
                lines.append(f"TICK FAILED: {tick['error']['message']}")
            lines += [event["message"] for event in tick["logEvents"]["events"]]
        return lines


class DagsterDev(DagsterUI):
    """`dagster dev` started by the test, in its own session, over its own homes."""

    def __init__(
        self,
        home: Path,
        dagster_home: Path,
        sensor_interval: int = 2,
        env: dict | None = None,
        pools: dict | None = None,
    ):
        self.home, self.dagster_home = home, dagster_home
        self.pools = pools or {}  # settings of `concurrency: pools:` over the shipped ones
        self.env = {
            **os.environ,
            "NYC_RENTAL_HOME": str(home),
            "DAGSTER_HOME": str(dagster_home),
            "NYC_RENTAL_SENSOR_INTERVAL_SECONDS": str(sensor_interval),
            "PYTHONUNBUFFERED": "1",
            **(env or {}),
        }
        for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
            self.env.pop(name, None)
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.log = dagster_home / "dagster-dev.log"

    def start(self, timeout: float = 180) -> "DagsterDev":
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        shipped, instance_file = REPO / ".dagster" / "dagster.yaml", self.dagster_home / "dagster.yaml"
        if self.pools:
            config = yaml.safe_load(shipped.read_text())
            config["concurrency"]["pools"].update(self.pools)
            instance_file.write_text(yaml.safe_dump(config))
        else:
            shutil.copyfile(shipped, instance_file)
        self.port = free_port()
        command = [str(DAGSTER), "dev", "-w", str(REPO / "workspace.yaml"), "--host", "127.0.0.1"]
        self.process = start_in_session([*command, "--port", str(self.port)], REPO, self.env, self.log)
        DagsterUI.__init__(self, self.port)
        wait_for(f"the code location to load in dagster dev ({self.log})", self._location_loaded, timeout)
        return self

    def _location_loaded(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}")
        return self.location_loaded()

    def power_cut(self) -> list[str]:
        """Every process of this `dagster dev` (webserver, daemon, code server, run workers) SIGKILLed at once."""
        process, self.process = self.process, None
        return power_cut(process)

    def stop(self, timeout: float = 90) -> None:
        """Ctrl-C, as a user stops it; every process of the session must be gone afterwards."""
        if self.process is not None:
            process, self.process = self.process, None
            ctrl_c(process, "dagster dev", timeout)

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def _sensor_selector(sensor: str) -> dict:
    return {"repositoryLocationName": "nyc_rental", "repositoryName": "__repository__", "sensorName": sensor}


def _entry_value(entry: dict):
    for key in ("intValue", "text", "jsonString", "boolValue", "floatValue", "mdStr"):
        if key in entry:
            return entry[key]
    return None
