"""Real `dagster dev` processes for the integration tests: one per module, or one per test that needs its own."""

from pathlib import Path

import pytest

from nyc_rental_tests.integration.dagster_dev import DagsterDev


def new_dev(root: Path, **options) -> DagsterDev:
    (root / "home" / "incoming").mkdir(parents=True, exist_ok=True)
    return DagsterDev(root / "home", root / "dagster_home", **options)


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    """One `dagster dev` shared by a module's tests (each test uses its own weeks)."""
    server = new_dev(tmp_path_factory.mktemp("dev")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def dev_factory(tmp_path):
    """Start `dagster dev` over a home of this test, as many times as the test needs (restarts)."""
    started: list[DagsterDev] = []

    def start(**options) -> DagsterDev:
        server = new_dev(tmp_path, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
