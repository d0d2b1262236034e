"""The code location as Dagster tools load it, and the demo as a user runs it."""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance

from nyc_rental import settings
from nyc_rental.core.quality import DATA_TESTS
from nyc_rental.definitions import build_defs
from nyc_rental.defs.partitions import weekly_partitions
from nyc_rental_tests.conftest import REPO

ASSETS = ("raw_listings", "clean_listings", "validated_listings", "splits", "model", "test_metrics", "portfolio_prices")


def test_every_asset_has_a_description_a_code_version_and_its_group(home):
    graph = build_defs(home).resolve_asset_graph()
    for name in ASSETS:
        node = graph.get(AssetKey(name))
        assert node.description, name
        assert node.code_version, name
        assert node.group_name in ("listings", "modeling", "portfolio"), name
        assert node.partitions_def is not None, name


def test_the_data_checks_are_blocking_and_partitioned_like_their_asset_and_freshness_is_apart(home):
    graph = build_defs(home).resolve_asset_graph()
    checks = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys}
    assert set(checks) == {*DATA_TESTS, "freshness_check"} and len(DATA_TESTS) == 6
    for name in DATA_TESTS:
        spec = checks[name]
        assert spec.blocking and spec.asset_key == AssetKey("clean_listings")
        assert spec.partitions_def == graph.get(AssetKey("clean_listings")).partitions_def
    freshness = checks["freshness_check"]  # about the asset, not a week: see test_freshness.py
    assert not freshness.blocking and freshness.asset_key == AssetKey("raw_listings") and not freshness.partitions_def


@pytest.mark.integration  # a CLI process of its own
def test_dagster_definitions_validate_passes_on_the_workspace(home):
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    command = [str(REPO / ".venv" / "bin" / "dagster"), "definitions", "validate", "-w", "workspace.yaml"]
    if not os.path.exists(command[0]):
        command[0:1] = [sys.executable, "-m", "dagster"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful" in done.stdout + done.stderr


@pytest.mark.integration  # a CLI process of its own
def test_dg_checks_and_lists_the_project_from_the_repository_root(home):
    """`dg check defs` and `dg list defs` as a user types them in the repository root (pyproject's [tool.dg])."""
    dg = Path(sys.executable).parent / "dg"
    env = {**os.environ, "DAGSTER_HOME": str(home), "NYC_RENTAL_HOME": str(home), "VIRTUAL_ENV": sys.prefix}
    checked = subprocess.run([dg, "check", "defs"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0 and "All definitions loaded successfully" in checked.stdout, checked.stderr
    listed = subprocess.run(
        [dg, "list", "defs", "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert listed.returncode == 0, listed.stderr
    defs = json.loads(listed.stdout)
    assert sorted(asset["asset_key"] for asset in defs["assets"]) == sorted(ASSETS)
    assert {check["name"] for check in defs["asset_checks"]} == {*DATA_TESTS, "freshness_check"}
    assert {job["name"] for job in defs["jobs"]} >= {"weekly_pipeline", "promote_model", "reprice_portfolio"}
    assert {sensor["name"] for sensor in defs["sensors"]} == {
        "incoming_listings_sensor",
        "raw_listings_freshness_sensor",
        "close_mlflow_runs_of_failed_runs",
        "finish_mlflow_runs_of_successful_runs",
        "reprice_portfolio_on_new_champion",
    }


@pytest.mark.integration  # a CLI process of its own
def test_the_demo_generates_a_week_and_runs_it(home, tmp_path):
    """As `make demo` runs it: with DAGSTER_HOME an instance configured as the repository's `.dagster/` (here a
    copy, so the runs stay out of the repository), whose run queue gives each run's model one thread of two
    cores. Without it (a throwaway instance) the model's OpenMP threads take both cores, and a test run beside
    it made this test take 100 s instead of 13. One small week, with the row_count floor lowered to match
    (`--min-rows`); `make demo`'s two weeks of 20,000 listings and the default floor run in the
    walkthrough (integration), which checks the lines it prints."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(REPO / ".dagster" / "dagster.yaml", dagster_home / "dagster.yaml")
    done = subprocess.run(
        [sys.executable, "-m", "nyc_rental.cli.demo", "--weeks", "1", "--rows", "3000", "--min-rows", "1000"],
        cwd=REPO,
        env={**os.environ, "DAGSTER_HOME": str(dagster_home)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in (home / "incoming").iterdir()) == ["listings_2019-07-03.csv"]
    lines = [line.split() for line in done.stdout.splitlines() if line.startswith("  2019-")]
    assert [line[0] for line in lines] == ["2019-07-01"]
    for line in lines:
        assert line[1] == "ok" and "checks passed 6/6" in " ".join(line), done.stdout
        assert line[3] == "3,000"
    assert "test MAE" in done.stdout and "became champion" in done.stdout
    # The run carries what the delivery sensor's daemon gives its runs, so `make dev`'s sensor will not run the
    # delivery again (Dagster skips a run key its sensor already has a run for).
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        (run,) = instance.get_runs()
    sha256 = hashlib.sha256((home / "incoming" / "listings_2019-07-03.csv").read_bytes()).hexdigest()
    assert run.tags["dagster/partition"] == "2019-07-01" and run.tags["nyc_rental/launched_by"] == "demo"
    assert run.tags["nyc_rental/delivery"] == "listings_2019-07-03.csv" and run.tags["nyc_rental/sha256"] == sha256
    assert run.tags["dagster/sensor_name"] == "incoming_listings_sensor"
    assert run.tags["dagster/run_key"] == f"2019-07-01:{sha256}"


def test_the_first_week_is_configurable_and_must_be_a_monday(monkeypatch):
    assert weekly_partitions.get_first_partition_key() == "2019-07-01"  # the default
    code = "from nyc_rental.defs.partitions import weekly_partitions as w; print(w.get_first_partition_key())"
    env = {**os.environ, "NYC_RENTAL_FIRST_WEEK": "2020-01-06"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "2020-01-06", done.stderr
    monkeypatch.setenv("NYC_RENTAL_FIRST_WEEK", "2020-01-07")
    with pytest.raises(ValueError, match="NYC_RENTAL_FIRST_WEEK must be a Monday .* got 2020-01-07 \\(Tuesday\\)"):
        settings.first_week()
    monkeypatch.setenv("NYC_RENTAL_FIRST_WEEK", "July 2019")
    with pytest.raises(ValueError, match="must be a date"):
        settings.first_week()


def test_the_repository_holds_no_path_of_this_machine_and_no_secret():
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # (a clone in /tmp would make every mention of /tmp one: the shared temporary folders are not this machine's)
    machine_paths = {str(REPO), str(REPO.parent), str(Path.home())} - {"/", "/tmp", "/var/tmp", "/dev/shm"}
    # a quoted value of 6+ characters after password=, secret: ...; a reference to a variable ($VAR) is not one
    secret = re.compile(r"(?i)(password|secret|token|api[_-]?key)\s*[:=]\s*['\"](?![$])[^'\"]{6,}")
    for name in listed:
        path = REPO / name
        if not path.is_file() or path.suffix in {".png"}:
            continue
        text = path.read_text(errors="replace")
        named = [p for p in machine_paths if re.search(re.escape(p) + r"(?![\w.-])", text)]  # not /workspace.yaml
        assert not named, f"{name} names a path of this machine: {named}"
        assert not secret.search(text), f"{name} looks like it holds a secret"
