"""The machine's real servers (Postgres, RabbitMQ, Redis) for the tests that need them.

Each test gets its own database (or vhost) with a unique name and drops it: CI runs on the same servers right
after a session. Where a server is unreachable the test skips saying so, except under CI=true, where it fails.
"""

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest

# The administrative connection that creates and drops the tests' databases (trust auth on this machine).
POSTGRES_ADMIN_URL = os.environ.get("NYC_RENTAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def unavailable(what: str, reason: str) -> None:
    message = f"{what} is not reachable ({reason}); start it (see docs/production.md) to run this test"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def reachable(host: str, port: int) -> str | None:
    """None when something listens at host:port, else why not."""
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as error:
        return f"{host}:{port}: {error.strerror or error}"
    return None


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def postgres_database(prefix: str = "nyc_rental_test") -> Iterator[str]:
    """A new, empty database on the machine's Postgres; its URL. Dropped afterwards, connections and all."""
    import psycopg

    parts = urlsplit(POSTGRES_ADMIN_URL)
    problem = reachable(parts.hostname or "127.0.0.1", parts.port or 5432)
    if problem:
        unavailable("PostgreSQL", problem)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(POSTGRES_ADMIN_URL, name)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def rabbitmq_vhost(prefix: str = "nyc_rental_test") -> Iterator[str]:
    """A new virtual host on the machine's RabbitMQ (guest may use it); its broker URL. Deleted afterwards."""
    problem = reachable("127.0.0.1", 5672)
    if problem:
        unavailable("RabbitMQ", problem)
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        unavailable("RabbitMQ's rabbitmqctl", "not on PATH: it creates the test's virtual host")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    subprocess.run([ctl, "-q", "add_vhost", name], check=True, capture_output=True)
    try:
        subprocess.run([ctl, "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"], check=True)
        yield f"pyamqp://127.0.0.1:5672/{name}"  # guest's default credentials, as kombu fills them in
    finally:
        subprocess.run([ctl, "-q", "delete_vhost", name], check=False, capture_output=True)
