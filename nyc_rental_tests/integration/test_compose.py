"""The platform's containers for real: deploy/Dockerfile built and deploy/compose.yaml brought up on this machine,
two weeks of real listings through it, a Celery worker's container killed mid-step.

The test starts a docker daemon of its own (nyc_rental_tests/integration/containers.py), makes the debian:bookworm
base when its cache lacks it, builds the image (the machine's CA bundle as a BuildKit secret, for pip behind
this machine's proxy), and runs compose.yaml with compose.host.yaml: containers on the host's network, and the
host's Postgres and RabbitMQ in place of the bundled servers (no registry here to pull their images from), with
databases and a virtual host of the test's own, created and dropped like every other test's. Afterwards nothing
is left but the base image: no container, image, build cache, volume or network, and the daemon is stopped.
"""

import os
import re
import secrets
import shutil
import signal
import subprocess
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from dagster import DagsterEventType, DagsterInstance
from mlflow.tracking import MlflowClient

from nyc_rental.ml.tracking import CHAMPION, EXPERIMENT, MODEL_NAME
from nyc_rental.storage.warehouse import Warehouse
from nyc_rental_tests.integration.containers import BASE_IMAGE, COMPOSE, DockerDaemon, docker_daemon, ensure_base_image
from nyc_rental_tests.integration.dagster_dev import FINISHED, REPO, DagsterUI, free_port, wait_for
from nyc_rental_tests.integration.production import open_instance
from nyc_rental_tests.services import POSTGRES_ADMIN_URL, postgres_database, rabbitmq_vhost

pytestmark = pytest.mark.integration

DEPLOY = REPO / "deploy"
COMPOSE_FILES = [DEPLOY / "compose.yaml", DEPLOY / "compose.host.yaml"]
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
# The two real deliveries (nyc_rental_tests/conftest.py's `samples`), each the delivery of a week.
WEEKS = {
    "2019-07-01": ("sample1.csv", "listings_2019-07-03.csv", 20_000),
    "2019-07-08": ("sample2.csv", "listings_2019-07-10.csv", 48_895),
}
SERVICES = {"mlflow", "code-server", "webserver", "daemon", "worker"}
STEP_ENDED = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_SKIPPED}


class Stack:
    """deploy/compose.yaml + compose.host.yaml as one Compose project on the test's daemon."""

    def __init__(self, daemon: DockerDaemon, variables: dict[str, str], urls: dict[str, str], root: Path):
        self.daemon, self.urls, self.root = daemon, urls, root  # urls: the databases, as this process reaches them
        self.env = {**daemon.env, **variables}
        self.ui = DagsterUI(int(variables["UI_PORT"]))
        self.mlflow_uri = f"http://127.0.0.1:{variables['MLFLOW_PORT']}"

    def compose(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        files = [part for path in COMPOSE_FILES for part in ("-f", str(path))]
        done = subprocess.run(
            [COMPOSE, *files, *args], env=self.env, capture_output=True, text=True, timeout=timeout, cwd=DEPLOY
        )
        if check and done.returncode != 0:
            raise AssertionError(f"docker-compose {args[0]} failed:\n{done.stderr[-3000:]}\n{self.log_tail()}")
        return done

    def containers(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).stdout.split()

    def inspect(self, container: str, template: str) -> str:
        return self.daemon.docker("inspect", "-f", template, container).stdout.strip()

    def unhealthy(self) -> list[str]:
        """The services' containers that are not running, or not (yet) healthy."""
        return [
            f"{service} {container[:12]}: {state}"
            for service in SERVICES
            for container in self.containers(service)
            if (state := self.inspect(container, "{{.State.Status}} {{.State.Health.Status}}")) != "running healthy"
        ]

    def log_tail(self, lines: int = 30) -> str:
        shown = self.compose("ps", check=False, timeout=60).stdout
        logs = self.compose("logs", "--no-color", "--tail", str(lines), check=False, timeout=60).stdout
        return f"{shown}\n{logs}"


@contextmanager
def stack_up(daemon: DockerDaemon, image: str, root: Path):
    """The stack over databases and a virtual host of its own on the host's servers; taken down with its
    volumes afterwards, and the databases and the virtual host dropped."""
    with ExitStack() as resources:
        urls = {
            name: resources.enter_context(postgres_database(f"nyc_rental_test_{name}"))
            for name in ("dagster", "warehouse", "mlflow")
        }
        broker = resources.enter_context(rabbitmq_vhost())
        server = urlsplit(POSTGRES_ADMIN_URL)
        variables = {
            "COMPOSE_PROJECT_NAME": f"nyc_rental_test_{secrets.token_hex(4)}",
            "NYC_RENTAL_IMAGE": image,
            "POSTGRES_USER": server.username or "postgres",
            # The host's server trusts local connections: any password passes, and none is printed.
            "POSTGRES_PASSWORD": server.password or secrets.token_urlsafe(16),
            "POSTGRES_PORT": str(server.port or 5432),
            "DAGSTER_DB": urlsplit(urls["dagster"]).path.lstrip("/"),
            "WAREHOUSE_DB": urlsplit(urls["warehouse"]).path.lstrip("/"),
            "MLFLOW_DB": urlsplit(urls["mlflow"]).path.lstrip("/"),
            "RABBITMQ_USER": "guest",  # RabbitMQ's own local account, as services.rabbitmq_vhost grants it
            "RABBITMQ_PASSWORD": "guest",
            "RABBITMQ_PORT": str(urlsplit(broker).port or 5672),
            "RABBITMQ_VHOST": urlsplit(broker).path.lstrip("/"),
            "UI_PORT": str(free_port()),
            "CODE_SERVER_PORT": str(free_port()),
            "MLFLOW_PORT": str(free_port()),
            "NYC_RENTAL_SENSOR_INTERVAL_SECONDS": "2",
        }
        stack = Stack(daemon, variables, urls, root)
        try:
            stack.compose("up", "-d", timeout=900)
            yield stack
        except BaseException:
            print(stack.log_tail(60))
            raise
        finally:
            stack.compose("down", "-v", "--remove-orphans", "--timeout", "20", check=False, timeout=300)


def production_instance(stack: Stack) -> DagsterInstance:
    """The stack's Dagster instance (deploy/dagster.yaml over its Postgres database), opened from this process."""
    home = stack.root / "dagster_home"
    home.mkdir(exist_ok=True)
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    return open_instance(home, stack.urls["dagster"])


def celery_steps(instance: DagsterInstance, run_id: str) -> list[tuple[str, str, bool]]:
    """Each step a Celery worker took in the run, in order: (step key, worker name, whether it has ended)."""
    kinds = {DagsterEventType.ENGINE_EVENT, *STEP_ENDED}
    taken: list[list] = []
    for record in instance.get_records_for_run(run_id, of_type=kinds, ascending=True).records:
        event = record.event_log_entry.dagster_event
        if event.event_type == DagsterEventType.ENGINE_EVENT:
            data = event.engine_event_data
            if event.step_key and data and "Celery worker" in data.metadata:  # dagster-celery's task started
                taken.append([event.step_key, str(data.metadata["Celery worker"].value), False])
        else:
            for step in taken:
                if step[0] == event.step_key:
                    step[2] = True
    return [tuple(step) for step in taken]


def pins(text: str) -> dict[str, str]:
    """`name==version` lines as {normalized name: version}."""
    found = {}
    for line in text.splitlines():
        name, separator, version = line.strip().partition("==")
        if separator and not name.startswith("#"):
            found[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return found


def step_starts(instance: DagsterInstance, run_id: str, step_key: str) -> int:
    starts = instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
    return sum(record.step_key == step_key for record in starts)


def test_the_compose_stack_built_here_runs_two_real_weeks_and_outlives_a_killed_worker(samples, tmp_path):
    timings: dict[str, float] = {}

    def lap(name: str, started: float) -> None:
        timings[name] = round(time.monotonic() - started, 1)
        print(f"{name}: {timings[name]} s", flush=True)

    with docker_daemon() as daemon:
        started = time.monotonic()
        if ensure_base_image(daemon):
            lap("base image (debootstrap)", started)

        # The image, as a user builds it: BuildKit, the repository as context, the CA bundle as a secret.
        started = time.monotonic()
        image = f"nyc-rental:test-{secrets.token_hex(4)}"
        secret = ["--secret", f"id=ca_bundle,src={CA_BUNDLE}"] if CA_BUNDLE.exists() else []
        build_log = tmp_path / "build.log"
        with open(build_log, "w") as log:
            built = subprocess.run(
                ["/usr/bin/docker", "build", "--network", "host", "--progress", "plain", *secret,
                 "-f", str(DEPLOY / "Dockerfile"), "-t", image, str(REPO)],
                env=daemon.env, stdout=log, stderr=subprocess.STDOUT, timeout=1800,
            )  # fmt: skip
        assert built.returncode == 0, build_log.read_text(errors="replace")[-4000:]
        lap("image build", started)
        config = daemon.docker("image", "inspect", "-f", "{{json .Config.User}} {{json .Config.Entrypoint}}", image)
        assert config.stdout.split() == ['"10001:10001"', '["tini","--"]'], config.stdout
        # The versions of requirements.lock (installed from PyPI: the image knows nothing of this machine's local
        # wheels and indexes), and no pip configuration or secret left in it.
        shown = daemon.docker("run", "--rm", "--network", "none", image, "sh", "-c",
                              "pip freeze; echo ---; pip config list; ls -A /run/secrets 2>/dev/null")  # fmt: skip
        frozen, _, rest = shown.stdout.partition("---")
        assert not re.search(r"cert|index|find-links|constraint|ca_bundle", rest), rest
        installed = pins(frozen)
        locked = pins((REPO / "requirements.lock").read_text())
        differing = {name: (installed[name], locked[name]) for name in installed.keys() & locked.keys()}
        assert not {name: pair for name, pair in differing.items() if pair[0] != pair[1]}
        assert {"dagster", "mlflow", "celery", "dagster-celery", "dagster-postgres", "dagster-k8s"} <= installed.keys()

        started = time.monotonic()
        with stack_up(daemon, image, tmp_path) as stack:
            wait_for("the code location to load in the webserver", stack.ui.location_loaded, 180)
            (migrate,) = stack.containers("migrate")
            assert stack.inspect(migrate, "{{.State.Status}} {{.State.ExitCode}}") == "exited 0"
            for service in SERVICES:
                for container in stack.containers(service):
                    assert stack.inspect(container, "{{.State.Status}}") == "running", service
            workers = stack.containers("worker")
            assert len(workers) == 2
            lap("stack up", started)

            # The supplier's two deliveries land in the landing folder, a volume the code server, the daemon and
            # the workers share; the sensor requests one run per week.
            started = time.monotonic()
            (code_server,) = stack.containers("code-server")
            for sample, delivery, _ in WEEKS.values():
                stack.daemon.docker("cp", str(samples / sample), f"{code_server}:/data/incoming/{delivery}")
            instance = production_instance(stack)

            def a_model_step_in_flight():
                for week in WEEKS:
                    for run in stack.ui.week_runs(week):
                        for step, worker, ended in celery_steps(instance, run["runId"]):
                            if step == "model" and not ended and step_starts(instance, run["runId"], "model"):
                                return run["runId"], worker
                return None

            # A worker's container dies while it runs a week's model step (its init process SIGKILLed from the
            # host, as the OOM killer would: Docker 20.10 counts `docker kill` as a stop by hand, after which no
            # restart policy restarts a container). The broker hands the step to a worker again and the run
            # goes on; the restart policy brings the container back.
            run_id, worker = wait_for("a model step on a worker", a_model_step_in_flight, 300, every=0.5)
            (killed,) = [c for c in workers if worker == f"worker@{c[:12]}"]
            restarts = int(stack.inspect(killed, "{{.RestartCount}}"))
            os.kill(int(stack.inspect(killed, "{{.State.Pid}}")), signal.SIGKILL)
            lap("deliveries to the killed model step", started)

            def weeks_finished():
                runs = {week: stack.ui.week_runs(week) for week in WEEKS}
                done = all(found and all(run["status"] in FINISHED for run in found) for found in runs.values())
                return done and runs

            runs = wait_for("both weeks to finish", weeks_finished, 900, every=2)
            for week, found in runs.items():
                assert [run["status"] for run in found] == ["SUCCESS"], (week, stack.ui.failure_text(found[0]["runId"]))
            assert step_starts(instance, run_id, "model") == 2  # the killed step ran again, in the same run
            lap("two weeks", started)

            def worker_back():
                state = stack.inspect(killed, "{{.State.Status}} {{.RestartCount}}")
                logs = stack.daemon.docker("logs", killed)
                logs = logs.stdout + logs.stderr
                return state == f"running {restarts + 1}" and len(re.findall(r"worker@\w+ ready\.", logs)) == 2

            wait_for("the killed worker's container to be back", worker_back, 120)

            # Every step of both weeks ran on a Celery worker; each week's six data checks passed.
            for week, found in runs.items():
                run = found[0]["runId"]
                taken = {step for step, _, _ in celery_steps(instance, run)}
                assert taken >= {"raw_listings", "clean_listings", "validated_listings", "splits", "model"}, taken
                checks = instance.all_logs(run, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
                results = {
                    c.dagster_event.event_specific_data.check_name: c.dagster_event.event_specific_data.passed
                    for c in checks
                    if c.dagster_event.event_specific_data.check_name != "freshness_check"
                }
                assert len(results) == 6 and all(results.values()), (week, results)

            # The weeks' rows in the stack's warehouse; the champion in its MLflow server.
            warehouse = Warehouse(url=stack.urls["warehouse"])
            raw = warehouse.rows_per_week("raw_listings")
            assert {str(week.date()): rows for week, rows in raw.items()} == {w: n for w, (_, _, n) in WEEKS.items()}
            assert warehouse.rows_per_week("validated_listings").equals(warehouse.rows_per_week("clean_listings"))
            metrics = warehouse.read_all("test_metrics")
            assert sorted(metrics["model_version"].astype(int)) == [1, 2]
            decisions = {
                str(row.week.date()): (row.model_version, row.champion_version, row.promoted, row.decided_at)
                for row in metrics.itertuples()
            }
            client = MlflowClient(tracking_uri=stack.mlflow_uri, registry_uri=stack.mlflow_uri)
            champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version
            assert str(champion) == stack.ui.champion_by_decisions(decisions)
            experiment = client.get_experiment_by_name(EXPERIMENT)
            assert experiment.artifact_location.startswith("mlflow-artifacts:")  # proxied by the server

            def mlflow_runs_finished():
                found = client.search_runs([experiment.experiment_id], "attributes.status = 'FINISHED'")
                found = [run for run in found if "dagster_run_id" in run.data.tags]
                return len(found) == 2 and found

            finished = wait_for("the weeks' MLflow runs to be FINISHED", mlflow_runs_finished, 60)
            assert {run.data.tags["dagster_run_id"] for run in finished} == {f[0]["runId"] for f in runs.values()}
            artifacts = {artifact.path for artifact in client.list_artifacts(finished[0].info.run_id)}
            assert "feature_importance.png" in artifacts  # written through the server into its volume

            # Every service's health check passes (the workers' and the daemon's look once a minute).
            started = time.monotonic()
            try:
                wait_for("every service to be healthy", lambda: not stack.unhealthy(), 150, 5)
            except AssertionError:
                raise AssertionError(f"not healthy after 150 s: {stack.unhealthy()}") from None
            lap("health checks", started)
            started = time.monotonic()

        daemon.docker("rmi", image)
        daemon.docker("builder", "prune", "-af", timeout=300)
        assert daemon.leftovers() == []  # the base image only
        assert daemon.docker("image", "inspect", BASE_IMAGE, check=False).returncode == 0
        lap("teardown", started)
    print("timings:", timings, flush=True)
