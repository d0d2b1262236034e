"""Shared fixtures: a temporary NYC_RENTAL_HOME, a real Dagster instance, the real samples."""

import os
import shutil
from pathlib import Path

import pytest
from dagster import instance_for_test

from nyc_rental.definitions import build_defs

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SAMPLES = REPO.parent / "shared" / "data" / "nyc_airbnb"
MLFLOW_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
RAM_DISK = Path("/dev/shm")
RAM_DISK_MIN_FREE = 4 * 2**30


def _temporary_folders_in_ram() -> None:
    """pytest's temporary folders (the homes with their DuckDB files and MLflow stores, the Dagster instances)
    on the RAM disk when there is a roomy one: every run commits to SQLite and DuckDB dozens of times, and on a
    disk each commit waits for it (about a tenth of `make test`). pytest still numbers, locks and prunes them
    (the last 3 sessions stay). A temporary root you chose (PYTEST_DEBUG_TEMPROOT, TMPDIR, --basetemp) wins."""
    if "PYTEST_DEBUG_TEMPROOT" in os.environ or "TMPDIR" in os.environ:
        return
    try:
        roomy = (
            RAM_DISK.is_dir() and os.access(RAM_DISK, os.W_OK) and shutil.disk_usage(RAM_DISK).free > RAM_DISK_MIN_FREE
        )
    except OSError:
        return
    if roomy:
        os.environ["PYTEST_DEBUG_TEMPROOT"] = str(RAM_DISK)


_temporary_folders_in_ram()


def _openmp_threads_sleep_when_idle() -> None:
    """OpenMP threads (gradient boosting's, in the tests that fit or predict with two threads) wait for each
    other by sleeping rather than spinning: on two cores shared with another process, a spinning thread holds
    the core its partner needs, and one test that took 1 s alone took 4 to 21 s beside another test run (8.6
    against 2.1 s in one comparison). The models and their predictions do not change. A policy you set wins."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


_openmp_threads_sleep_when_idle()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test ever writes to the repository's data/: NYC_RENTAL_HOME is a fresh folder."""
    home = tmp_path / "home"
    (home / "incoming").mkdir(parents=True)
    monkeypatch.setenv("NYC_RENTAL_HOME", str(home))
    # mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI, which would point the next test at this store.
    for name in MLFLOW_ENV:
        os.environ.pop(name, None)
    yield home
    for name in MLFLOW_ENV:
        os.environ.pop(name, None)


@pytest.fixture
def home(_isolated_home) -> Path:
    return _isolated_home


@pytest.fixture
def incoming(home) -> Path:
    return home / "incoming"


@pytest.fixture
def defs(home):
    return build_defs(home)


@pytest.fixture
def instance(tmp_path):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    with instance_for_test(temp_dir=str(dagster_home)) as instance:
        yield instance


@pytest.fixture(scope="session")
def samples() -> Path:
    """The real deliveries; without them these tests skip locally and fail under CI=true."""
    folder = Path(os.environ.get("NYC_RENTAL_SAMPLES") or DEFAULT_SAMPLES)
    if not (folder / "sample1.csv").is_file() or not (folder / "sample2.csv").is_file():
        message = f"real samples not found in {folder} (set NYC_RENTAL_SAMPLES)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return folder


def deliver(source: Path, incoming: Path, name: str) -> Path:
    """Copy a file into the landing folder under a delivery name."""
    target = incoming / name
    shutil.copyfile(source, target)
    return target
