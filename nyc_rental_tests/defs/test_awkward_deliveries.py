"""Every awkward but usable delivery, in-process on small weeks: the sensor requests its week, the week is read,
cleaned, validated and split (what a delivery's form can affect; the model steps read the split table alike for
every file), it says what it dropped, decodes what it can, and the file is never changed.
`integration/test_bad_deliveries.py` drops some of them into a running `dagster dev` and runs all six assets."""

import hashlib
import os

import pytest
from dagster import build_sensor_context, instance_for_test

from nyc_rental.definitions import build_defs
from nyc_rental.defs.resources import LandingFolder
from nyc_rental.defs.sensors import incoming_listings_sensor
from nyc_rental_tests.deliveries import AWKWARD, assert_what_was_dropped
from nyc_rental_tests.helpers import (
    failure_messages,
    materialization_metadata,
    read_table,
    run_week,
    week_counts,
)

ROWS = 2_000
TABLES = ("raw_listings", "clean_listings", "validated_listings", "splits")


def test_the_sensor_requests_the_week_of_every_awkward_delivery(instance, incoming, monkeypatch):
    monkeypatch.setenv("NYC_RENTAL_SETTLE_SECONDS", "1")  # its first look waits that long for the files just written
    for file_name, _, content in AWKWARD.values():
        (incoming / file_name).write_bytes(content(ROWS))
    landing = LandingFolder(path=str(incoming))
    cursor, requested = None, []
    for _ in range(2):  # a file is requested once nothing wrote to it for the settle time, or for one tick
        context = build_sensor_context(instance=instance, cursor=cursor, resources={"landing": landing})
        result = incoming_listings_sensor(context)
        cursor, requested = result.cursor, requested + result.run_requests
    assert sorted(request.partition_key for request in requested) == sorted(week for _, week, _ in AWKWARD.values())


@pytest.fixture(scope="module")
def delivered(tmp_path_factory):
    """One home where every awkward delivery's week ran through the four table assets before the model: each
    case's run result and the file's SHA-256 as delivered."""
    home = tmp_path_factory.mktemp("awkward")
    (home / "incoming").mkdir()
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI"):
        os.environ.pop(name, None)
    defs, results, digests = build_defs(home), {}, {}
    with instance_for_test(temp_dir=str(tmp_path_factory.mktemp("dagster"))) as instance:
        for case, (file_name, week, content) in AWKWARD.items():
            path = home / "incoming" / file_name
            path.write_bytes(content(ROWS))
            digests[case] = hashlib.sha256(path.read_bytes()).hexdigest()
            results[case] = run_week(defs, instance, week, assets=TABLES, min_rows=1_000)
        yield home, results, digests


@pytest.mark.parametrize("case", list(AWKWARD))
def test_an_awkward_delivery_succeeds_and_says_what_it_dropped(case, delivered):
    home, results, digests = delivered
    file_name, week, _ = AWKWARD[case]
    result = results[case]
    assert result.success, failure_messages(result)
    assert hashlib.sha256((home / "incoming" / file_name).read_bytes()).hexdigest() == digests[case]  # unchanged
    assert all(week_counts(home, table).get(week) for table in TABLES)
    raw = materialization_metadata(result, "raw_listings")
    assert_what_was_dropped(case, file_name, raw, materialization_metadata(result, "clean_listings")["dropped_by_rule"])
    if case in ("latin1", "utf16"):  # decoded, not mangled
        names = read_table(home, "clean_listings", week).query("host_name == 'José'")[["name", "host_name"]]
        assert names.drop_duplicates().values.tolist() == [["Café près du parc", "José"]]
