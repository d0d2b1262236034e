"""Awkward and broken deliveries dropped into a running `dagster dev`: through the real sensor, the real runs.

No tick may crash, no week may be half written, and no delivery file may change.
"""

import hashlib
import json
import time
from pathlib import Path

import pytest

from nyc_rental_tests import deliveries
from nyc_rental_tests.deliveries import AWKWARD, assert_what_was_dropped
from nyc_rental_tests.helpers import reading, week_counts
from nyc_rental_tests.integration.dagster_dev import wait_for

pytestmark = pytest.mark.integration

ROWS = 16_500
TABLES = ("raw_listings", "clean_listings", "validated_listings", "splits", "model", "test_metrics")
# Every awkward case runs in-process on small weeks (test_awkward_deliveries.py); these also go through the
# real sensor and a full week: gzip content (the sensor reads the header through it) and Latin-1 lines.
THROUGH_THE_SENSOR = ("gzip", "latin1")
GOOD = {case: AWKWARD[case] for case in THROUGH_THE_SENSOR}


def csv_text(day: str, seed: int, edit=None) -> str:
    return deliveries.csv_text(day, seed, ROWS, edit)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def delivered(dev):
    """Every good delivery dropped at once, and the finished run of each week."""
    incoming = dev.home / "incoming"
    for file_name, _, content in GOOD.values():
        staging = incoming / f".{file_name}.part"  # hidden while written, renamed whole: how a mover delivers
        staging.write_bytes(content(ROWS))
        staging.rename(incoming / file_name)
    hashes = {name: sha256(incoming / file_name) for name, (file_name, _, _) in GOOD.items()}
    runs = {name: dev.wait_for_run(week, timeout=900) for name, (_, week, _) in GOOD.items()}
    return runs, hashes


def dropped(dev, run) -> dict:
    return json.loads(dev.materialization(run["runId"], "clean_listings")["dropped_by_rule"])


@pytest.mark.parametrize("case", list(GOOD))
def test_an_awkward_delivery_succeeds_and_says_what_it_dropped(dev, delivered, case):
    runs, hashes = delivered
    file_name, week, _ = GOOD[case]
    run = runs[case]
    assert run["status"] == "SUCCESS", dev.failure_text(run["runId"])
    assert sha256(dev.home / "incoming" / file_name) == hashes[case]  # never modified
    assert all(week_counts(dev.home, table).get(week) for table in TABLES)
    raw = dev.materialization(run["runId"], "raw_listings")
    raw = {**raw, "files": json.loads(raw["files"])}
    assert_what_was_dropped(case, file_name, raw, dropped(dev, run))


def test_latin1_names_are_decoded_not_mangled(dev, delivered):
    with reading(dev.home) as con:
        names = con.execute(
            "SELECT DISTINCT name, host_name FROM nyc_rental.clean_listings WHERE week = '2019-09-09' AND host_name = 'José'"
        ).fetchall()
    assert names == [("Café près du parc", "José")]


def test_a_file_that_stays_empty_waits_and_one_that_grows_runs_once(dev, delivered):
    incoming = dev.home / "incoming"
    growing, staying = incoming / "listings_2019-10-15.csv", incoming / "listings_2019-10-22.csv"
    growing.touch()
    staying.touch()
    wait_for("the sensor to report the empty files", lambda: _logged(dev, growing.name, "empty"), 60)
    assert _logged(dev, staying.name, "empty")
    time.sleep(3 * 2)
    assert dev.week_runs("2019-10-14") == [] and dev.week_runs("2019-10-21") == []

    with open(growing, "w") as out:  # the copy finally arrives, written in place
        out.write(csv_text("2019-10-15", 7))
    run = dev.wait_for_run("2019-10-14", timeout=600)
    assert run["status"] == "SUCCESS", dev.failure_text(run["runId"])
    time.sleep(3 * 2)
    assert len(dev.week_runs("2019-10-14")) == 1
    assert dev.week_runs("2019-10-21") == [] and staying.stat().st_size == 0
    assert not any(week_counts(dev.home, table).get("2019-10-21") for table in TABLES)


BAD = {
    # name: (file name, week, bytes, what the user must be told)
    "header_only": (
        "listings_2019-11-05.csv",
        "2019-11-04",
        lambda: csv_text("2019-11-05", 8).split("\n")[0].encode() + b"\n",
        "no listings",
    ),
    "semicolons": (
        "listings_2019-11-12.csv",
        "2019-11-11",
        lambda: csv_text("2019-11-12", 9).replace(",", ";").encode(),
        "semicolon",
    ),
    "missing_price": (
        "listings_2019-11-19.csv",
        "2019-11-18",
        lambda: csv_text("2019-11-19", 10, lambda f: f.drop(columns=["price"])).encode(),
        "price",
    ),
    "impossible_date": ("listings_2019-02-30.csv", None, lambda: csv_text("2019-02-28", 11).encode(), "2019-02-30"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_broken_delivery_fails_clearly_and_writes_nothing(dev, delivered, case):
    file_name, week, content, told = BAD[case]
    path = dev.home / "incoming" / file_name
    path.write_bytes(content())
    digest = sha256(path)

    def refused() -> str:
        for line in dev.sensor_log():
            if file_name in line and told in line:
                return f"sensor: {line}"
        runs = dev.week_runs(week) if week else []
        if runs and runs[0]["status"] in {"FAILURE", "SUCCESS", "CANCELED"}:
            return f"run {runs[0]['status']}: {dev.failure_text(runs[0]['runId'])}"
        return ""

    how = wait_for(f"{file_name} to be refused", refused, 120)
    assert "SUCCESS" not in how and file_name in how and told in how, how
    assert not any(line.startswith("TICK FAILED") for line in dev.sensor_log())
    assert sha256(path) == digest
    if week:
        assert not any(week_counts(dev.home, table).get(week) for table in TABLES)


def test_a_symlink_to_a_file_outside_incoming_is_refused(dev, delivered, tmp_path):
    outside = tmp_path / "listings_2019-12-03.csv"
    outside.write_text(csv_text("2019-12-03", 12))
    link = dev.home / "incoming" / "listings_2019-12-03.csv"
    link.symlink_to(outside)
    line = wait_for("the symlink to be refused", lambda: _logged(dev, link.name, "outside"), 60)
    assert "refused" in line
    time.sleep(2 * 2)
    assert dev.week_runs("2019-12-02") == []
    assert not any(line.startswith("TICK FAILED") for line in dev.sensor_log())


def _logged(dev, file_name: str, words: str) -> str:
    return next((line for line in dev.sensor_log() if file_name in line and words in line), "")
