"""The code location as Dagster tools load it, and the demo as a user runs it."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from dagster import AssetKey

from nyc_rental.core.quality import DATA_TESTS
from nyc_rental.definitions import build_defs
from nyc_rental_tests.conftest import REPO

ASSETS = ("raw_listings", "clean_listings", "validated_listings", "splits", "model", "test_metrics")


def test_every_asset_has_a_description_a_code_version_and_its_group(home):
    graph = build_defs(home).resolve_asset_graph()
    for name in ASSETS:
        node = graph.get(AssetKey(name))
        assert node.description, name
        assert node.code_version, name
        assert node.group_name in ("listings", "modeling"), name
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


def test_dagster_definitions_validate_passes_on_the_workspace(home):
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    command = [str(REPO / ".venv" / "bin" / "dagster"), "definitions", "validate", "-w", "workspace.yaml"]
    if not os.path.exists(command[0]):
        command[0:1] = [sys.executable, "-m", "dagster"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Validation successful" in done.stdout + done.stderr


def test_the_demo_generates_a_week_and_runs_it(home, tmp_path):
    """As `make demo` runs it: with DAGSTER_HOME an instance configured as the repository's `.dagster/` (here a
    copy, so the runs stay out of the repository), whose run queue gives each run's model one thread of two
    cores. Without it (a throwaway instance) the model's OpenMP threads take both cores, and a test run beside
    it made this test take 100 s instead of 13. One small week, with the row_count floor lowered to match
    (`--min-rows`); `make demo`'s two weeks of 20,000 listings and the default floor run in the README
    walkthrough (integration), which checks the lines it prints."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copyfile(REPO / ".dagster" / "dagster.yaml", dagster_home / "dagster.yaml")
    done = subprocess.run(
        [sys.executable, "-m", "nyc_rental.demo", "--weeks", "1", "--rows", "3000", "--min-rows", "1000"],
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


def test_the_repository_holds_no_path_of_this_machine_and_no_secret():
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    machine_paths = {str(REPO), str(REPO.parent), str(Path.home())} - {"/"}
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
