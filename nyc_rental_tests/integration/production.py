"""The production profile (`make prod`: supervisord with deploy/supervisord.conf) started by a test: its own
Postgres databases (Dagster's instance, the warehouse, MLflow's store), its own RabbitMQ virtual host, free
localhost ports, Celery workers."""

import os
import re
import subprocess
from contextlib import ExitStack
from pathlib import Path

import requests
from dagster import DagsterInstance

from nyc_rental_tests.integration.dagster_dev import REPO, DagsterUI, ctrl_c, free_port, start_in_session, wait_for
from nyc_rental_tests.services import postgres_database, rabbitmq_vhost

CELERY_WORKER = re.compile(r"celery -A nyc_rental\.runtime\.celery_worker worker")


def open_instance(dagster_home: Path, url: str) -> DagsterInstance:
    """The instance of `dagster_home`'s dagster.yaml (deploy/dagster.yaml: DAGSTER_PG_URL) on the database `url`.
    The storage reads the URL when it is built; the test process's environment is left as it was."""
    before = os.environ.get("DAGSTER_PG_URL")
    os.environ["DAGSTER_PG_URL"] = url
    try:
        return DagsterInstance.from_config(str(dagster_home))
    finally:
        if before is None:
            del os.environ["DAGSTER_PG_URL"]
        else:
            os.environ["DAGSTER_PG_URL"] = before


class ProductionStack(DagsterUI):
    """`make prod` in its own session: supervisord and its code server, webserver, daemon, MLflow server, workers."""

    def __init__(self, root: Path, workers: int = 2, sensor_interval: int = 2, executor: str = "celery"):
        self.root, self.workers, self.executor = root, workers, executor
        self.home, self.state = root / "home", root / "state"
        (self.home / "incoming").mkdir(parents=True, exist_ok=True)
        self.log = root / "prod.log"
        self.process: subprocess.Popen | None = None
        self._resources = ExitStack()
        self.sensor_interval = sensor_interval

    def start(self, timeout: float = 240) -> "ProductionStack":
        dagster_url = self._resources.enter_context(postgres_database("nyc_rental_test_dagster"))
        self.warehouse_url = self._resources.enter_context(postgres_database("nyc_rental_test_warehouse"))
        mlflow_store = self._resources.enter_context(postgres_database("nyc_rental_test_mlflow"))
        broker = self._resources.enter_context(rabbitmq_vhost())
        ports = {"UI_PORT": free_port(), "CODE_SERVER_PORT": free_port(), "MLFLOW_PORT": free_port()}
        self.mlflow_uri = f"http://127.0.0.1:{ports['MLFLOW_PORT']}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")},
            "DAGSTER_PG_URL": dagster_url,
            "NYC_RENTAL_WAREHOUSE_URL": self.warehouse_url,
            "MLFLOW_BACKEND_STORE_URI": mlflow_store,
            "NYC_RENTAL_CELERY_BROKER": broker,
            "NYC_RENTAL_PROD_HOME": str(self.state),
            "NYC_RENTAL_HOME": str(self.home),
            "NYC_RENTAL_SENSOR_INTERVAL_SECONDS": str(self.sensor_interval),
            "NYC_RENTAL_CELERY_WORKERS": str(self.workers),
            "NYC_RENTAL_EXECUTOR": self.executor,
            **{name: str(port) for name, port in ports.items()},
        }
        DagsterUI.__init__(self, ports["UI_PORT"])
        self.launch()
        wait_for(f"the production profile to start ({self.log})", self._up, timeout)
        return self

    def launch(self) -> subprocess.Popen:
        """`make prod`, as a user runs it in a terminal; the stack is up once `_up` says so."""
        self.process = start_in_session(["make", "prod"], REPO, self.env, self.log)
        return self.process

    def supervisorctl(self, *args: str) -> subprocess.CompletedProcess:
        """`make prod-status` and its siblings' command, for this stack."""
        env = {**self.env, "DAGSTER_HOME": str(self.state / "dagster")}
        command = [str(REPO / ".venv/bin/supervisorctl"), "-c", str(REPO / "deploy/supervisord.conf"), *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    def _up(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"make prod exited with {self.process.returncode}:\n{self.log_tail()}")
        status = self.supervisorctl("status").stdout.splitlines()
        running = len(status) == 4 + self.workers and all(" RUNNING " in line for line in status)
        return running and self.location_loaded() and self.mlflow_answers()

    def mlflow_answers(self) -> bool:
        try:
            return requests.get(f"{self.mlflow_uri}/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def instance(self) -> DagsterInstance:
        """The production instance (runs and events in Postgres), as a process of this machine opens it."""
        return open_instance(self.state / "dagster", self.env["DAGSTER_PG_URL"])  # plain postgresql://, as make prod

    def worker_processes(self) -> dict[int, str]:
        """The Celery workers' processes (pool children included), by pid: {pid: worker name}."""
        listing = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,sid=,args="], capture_output=True, text=True)
        rows = [line.split(None, 3) for line in listing.stdout.splitlines()]
        mains = {
            int(pid): re.search(r"-n (\S+)", args).group(1)
            for pid, _, sid, args in rows
            if int(sid) == self.process.pid and CELERY_WORKER.search(args)
        }
        children = {int(pid): mains[int(ppid)] for pid, ppid, _, _ in rows if int(ppid) in mains}
        return {**mains, **children}

    def daemons(self) -> list[int]:
        """The processes of this machine running this profile's `dagster-daemon`."""
        listing = subprocess.run(["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True).stdout
        workspace = str(self.state / "workspace.yaml")
        return [
            int(line.split(None, 1)[0])
            for line in listing.splitlines()
            if "dagster-daemon run" in line and workspace in line
        ]

    def stop(self, timeout: float = 90) -> None:
        """Ctrl-C to the script, as a user stops it: every service stops, nothing of the session is left."""
        try:
            if self.process is not None:
                process, self.process = self.process, None
                ctrl_c(process, "the production profile", timeout, group=True)  # as a terminal's Ctrl-C
        finally:
            self._resources.close()

    def log_tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        for service in sorted((self.state / "logs").glob("*.log")):
            text += [f"--- {service.name}", *service.read_text(errors="replace").splitlines()[-15:]]
        return "\n".join(text)
