"""The production profile on one machine, as separate services: `python deploy/prod.py` (or `make prod`).

Starts, each as its own process with its log in $NYC_RENTAL_PROD_HOME/logs:
- the code server (`dagster code-server start`), which serves the code location over gRPC and launches runs;
- `dagster-webserver` and `dagster-daemon`, loading the location from the code server (deploy/workspace.yaml);
- `mlflow server` with its backend store in Postgres and proxied artifacts;
- N Celery workers (`dagster-celery worker start`, --workers, default 2) that execute the runs' steps.
Dagster's instance (deploy/dagster.yaml) keeps runs and events in Postgres. Ctrl-C or SIGTERM stops them all. A
service that exits on its own (killed, out of memory) is started again; one that keeps exiting stops everything
and the script exits non-zero.

Everything secret comes from the environment (see docs/production.md); nothing is printed with its
password. Databases that do not exist yet are created on the server the URLs name.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from nyc_rental.storage.postgres_backend import redacted  # noqa: E402  (the package is installed beside this script)
from nyc_rental.storage.urls import with_driver  # noqa: E402

DEPLOY = Path(__file__).resolve().parent
REPO = DEPLOY.parent
BIN = Path(sys.executable).parent
REQUIRED = ("DAGSTER_PG_URL", "NYC_RENTAL_WAREHOUSE_URL", "MLFLOW_BACKEND_STORE_URI")
RESTARTS, RESTART_WINDOW = 5, 60


@dataclass
class Service:
    name: str
    command: list[str]
    ready: tuple[str, int] | str | None  # a port to accept connections, or a URL to answer 200
    process: subprocess.Popen | None = None
    log: Path | None = None
    env: dict = field(default_factory=dict)


def ensure_database(url: str) -> None:
    """Create the database `url` names when it does not exist (its server's `postgres` database is asked)."""
    import psycopg

    parts = urlsplit(with_driver(url, None))
    parts = parts._replace(query="")
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as con:
            if con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                con.execute(f'CREATE DATABASE "{name}"')
                print(f"created database {name} on {redacted(admin)}", flush=True)
    except psycopg.Error as error:
        message = str(error).replace(parts.password or "\0", "***")
        sys.exit(f"cannot prepare database {name} on {redacted(admin)}: {message.strip()}")


def mlflow_schema_exists(url: str) -> bool:
    import psycopg

    with psycopg.connect(with_driver(url, None), connect_timeout=10) as con:
        return con.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL").fetchone()[0]


def is_ready(service: Service) -> bool:
    if isinstance(service.ready, tuple):
        try:
            socket.create_connection(service.ready, timeout=1).close()
            return True
        except OSError:
            return False
    try:
        with urllib.request.urlopen(service.ready, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def stop(services: list[Service], grace: float = 20.0) -> None:
    """SIGTERM to every service's process group (workers' children included), then SIGKILL to what is left."""
    running = [s for s in services if s.process and s.process.poll() is None]
    for service in running:
        try:
            os.killpg(service.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    for service in running:
        try:
            service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for service in services:
        if service.process:
            try:
                os.killpg(service.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            service.process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=int(os.environ.get("NYC_RENTAL_CELERY_WORKERS", "2")))
    parser.add_argument("--host", default=os.environ.get("NYC_RENTAL_PROD_HOST", "127.0.0.1"))
    parser.add_argument("--ui-port", type=int, default=int(os.environ.get("UI_PORT", "3000")))
    parser.add_argument("--code-server-port", type=int, default=int(os.environ.get("CODE_SERVER_PORT", "4000")))
    parser.add_argument("--mlflow-port", type=int, default=int(os.environ.get("MLFLOW_PORT", "5000")))
    args = parser.parse_args(argv)

    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if args.workers and not os.environ.get("NYC_RENTAL_CELERY_BROKER"):
        missing.append("NYC_RENTAL_CELERY_BROKER")
    if missing:
        sys.exit(f"set {', '.join(missing)} (docs/production.md)")

    state = Path(os.environ.get("NYC_RENTAL_PROD_HOME") or REPO / ".prod").resolve()
    dagster_home, logs = state / "dagster", state / "logs"
    for folder in (dagster_home, logs):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEPLOY / "dagster.yaml", dagster_home / "dagster.yaml")
    workspace = state / "workspace.yaml"
    workspace.write_text(
        (DEPLOY / "workspace.yaml")
        .read_text()
        .replace("host: 127.0.0.1", f"host: {args.host}")
        .replace("port: 4000", f"port: {args.code_server_port}")
    )
    home = Path(os.environ.get("NYC_RENTAL_HOME") or REPO / "data").resolve()
    (home / "incoming").mkdir(parents=True, exist_ok=True)
    mlflow_uri = f"http://{args.host}:{args.mlflow_port}"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "NYC_RENTAL_HOME": str(home),
        "MLFLOW_TRACKING_URI": os.environ.get("MLFLOW_TRACKING_URI") or mlflow_uri,
        "NYC_RENTAL_EXECUTOR": os.environ.get("NYC_RENTAL_EXECUTOR") or ("celery" if args.workers else "in_process"),
        "NYC_RENTAL_CELERY_BACKEND": os.environ.get("NYC_RENTAL_CELERY_BACKEND")
        or (
            os.environ.get("NYC_RENTAL_CELERY_BROKER", "")
            if "redis" in os.environ.get("NYC_RENTAL_CELERY_BROKER", "")
            else "rpc://"
        ),
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # dagster-celery starts `celery` by name
    }

    # The URLs go to every service as they are: any form works (deploy/dagster.yaml's storage, nyc_rental/ml/stores.py).
    for name in ("DAGSTER_PG_URL", "NYC_RENTAL_WAREHOUSE_URL", "MLFLOW_BACKEND_STORE_URI"):
        ensure_database(env[name])
    backend_store = env["MLFLOW_BACKEND_STORE_URI"]
    if mlflow_schema_exists(backend_store):  # a store an older MLflow created: the server refuses it unmigrated
        subprocess.run([BIN / "mlflow", "db", "upgrade", backend_store], env=env, check=True, capture_output=True)
    subprocess.run([BIN / "dagster", "instance", "migrate"], env=env, check=True, capture_output=True)

    host = args.host
    services = [
        Service(
            "mlflow",
            [BIN / "mlflow", "server", "--backend-store-uri", backend_store, "--serve-artifacts",
             "--artifacts-destination", str(state / "mlartifacts"), "--host", host, "--port", str(args.mlflow_port),
             "--workers", "2"],
            f"{mlflow_uri}/health",
        ),
        Service(
            "code-server",
            [BIN / "dagster", "code-server", "start", "-h", host, "-p", str(args.code_server_port),
             "-m", "nyc_rental.definitions", "--location-name", "nyc_rental"],
            (host, args.code_server_port),
        ),
        Service(
            "webserver",
            [BIN / "dagster-webserver", "-w", str(workspace), "-h", host, "-p", str(args.ui_port)],
            f"http://{host}:{args.ui_port}/server_info",
        ),
        Service("daemon", [BIN / "dagster-daemon", "run", "-w", str(workspace)], None),
    ] + [
        Service(
            f"worker{number}",
            [BIN / "dagster-celery", "worker", "start", "-A", "dagster_celery.app", "-y", str(DEPLOY / "celery.yaml"),
             "-q", "dagster", "--name", f"nyc_rental_worker{number}",
             "--", "--concurrency", "1"],
            None,
        )
        for number in range(1, args.workers + 1)
    ]  # fmt: skip

    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def launch(service: Service) -> None:
        service.log = logs / f"{service.name}.log"
        with open(service.log, "ab") as log:
            service.process = subprocess.Popen(
                [str(part) for part in service.command],
                env=env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                process_group=0,  # its own group (workers' children too), in this script's session
            )

    try:
        for service in services:
            launch(service)
            if service.ready is None:
                continue
            deadline = time.monotonic() + 120
            while not is_ready(service):
                if service.process.poll() is not None or stopping or time.monotonic() > deadline:
                    if not stopping:
                        print(f"{service.name} did not start: see {service.log}", file=sys.stderr, flush=True)
                    return 1
                time.sleep(0.5)
        print(
            f"production profile up: Dagster UI http://{host}:{args.ui_port}, MLflow {mlflow_uri}, "
            f"code server {host}:{args.code_server_port}, {args.workers} Celery worker(s) "
            f"(executor {env['NYC_RENTAL_EXECUTOR']}); logs in {logs}",
            flush=True,
        )
        # A service that dies (killed, out of memory) is started again, as systemd's Restart=on-failure would;
        # one that keeps dying (RESTARTS within RESTART_WINDOW seconds) stops everything.
        restarts: dict[str, list[float]] = {}
        while not stopping:
            for service in services:
                if service.process.poll() is None:
                    continue
                now = time.monotonic()
                recent = [t for t in restarts.get(service.name, []) if now - t < RESTART_WINDOW]
                if len(recent) >= RESTARTS:
                    print(
                        f"stopping everything: {service.name} exited {len(recent) + 1} times within "
                        f"{RESTART_WINDOW} s (see {service.log})",
                        file=sys.stderr,
                        flush=True,
                    )
                    return 1
                print(f"{service.name} exited ({service.process.returncode}); starting it again", flush=True)
                launch(service)
                restarts[service.name] = [*recent, now]
            time.sleep(1)
        return 0
    finally:
        stop(services)
        print("production profile stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())
