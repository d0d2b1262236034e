"""incoming_listings_sensor evaluated through Dagster with a real instance and the real definitions."""

import os

import pytest
from dagster import DefaultSensorStatus, build_sensor_context

from nyc_rental.defs.resources import LandingFolder
from nyc_rental.defs.sensors import incoming_listings_sensor
from nyc_rental_tests.helpers import synthetic_delivery


def tick(instance, incoming, cursor=None):
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"landing": LandingFolder(path=str(incoming))}
    )
    result = incoming_listings_sensor(context)
    return result.run_requests, result.cursor


@pytest.fixture(autouse=True)
def settle_seconds(monkeypatch):
    """A second instead of five: a look waits that long for a file written moments before."""
    monkeypatch.setenv("NYC_RENTAL_SETTLE_SECONDS", "1")


def settle(instance, incoming, cursor=None):
    _, cursor = tick(instance, incoming, cursor)
    return tick(instance, incoming, cursor)


def test_the_sensor_runs_by_default_and_targets_the_weekly_pipeline():
    assert incoming_listings_sensor.default_status == DefaultSensorStatus.RUNNING
    assert incoming_listings_sensor.job_name == "weekly_pipeline"
    assert incoming_listings_sensor.minimum_interval_seconds == 30


def test_a_new_delivery_requests_one_run_for_its_week(instance, incoming):
    path = synthetic_delivery(incoming, "2019-07-10", rows=200)
    requests, cursor = tick(instance, incoming)  # written moments ago: the look waits a second, then takes it
    assert [r.partition_key for r in requests] == ["2019-07-08"]
    assert requests[0].run_key.startswith("2019-07-08:")
    assert requests[0].tags["nyc_rental/delivery"] == "listings_2019-07-10.csv"

    requests, cursor = settle(instance, incoming, cursor)
    assert requests == []

    os.utime(path, ns=(path.stat().st_mtime_ns + 5 * 10**9,) * 2)  # same bytes, touched
    requests, cursor = settle(instance, incoming, cursor)
    assert requests == []

    synthetic_delivery(incoming, "2019-07-10", rows=200, seed=99)  # corrected content
    requests, _ = tick(instance, incoming, cursor)
    assert [r.partition_key for r in requests] == ["2019-07-08"]


def test_a_growing_file_is_not_requested_until_stable(instance, incoming, monkeypatch):
    monkeypatch.setenv("NYC_RENTAL_SETTLE_SECONDS", "3600")  # the two looks alone decide
    path = synthetic_delivery(incoming, "2019-07-10", rows=200)
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    requests, cursor = tick(instance, incoming)
    assert requests == []
    path.write_bytes(content)
    requests, cursor = tick(instance, incoming, cursor)
    assert requests == []
    requests, _ = tick(instance, incoming, cursor)
    assert len(requests) == 1


def test_a_name_without_a_date_runs_in_the_week_of_its_modification_time(instance, incoming):
    path = synthetic_delivery(incoming, "2019-07-10", rows=200)
    undated = path.rename(incoming / "listings.csv")
    os.utime(undated, (1_563_192_000, 1_563_192_000))  # 2019-07-15 12:00 UTC
    requests, _ = tick(instance, incoming)  # last written years ago: taken at the first look
    assert [r.partition_key for r in requests] == ["2019-07-15"]


def test_unusable_files_are_logged_and_the_others_still_requested(instance, incoming, capfd):
    (incoming / "listings_2019-02-30.csv").write_text("id\n")
    (incoming / "listings_2019-07-03.csv").write_text("id;name;price\n1;x;3\n")
    synthetic_delivery(incoming, "2019-07-17", rows=200)
    requests, _ = tick(instance, incoming)
    log = capfd.readouterr().err
    assert [r.partition_key for r in requests] == ["2019-07-15"]
    assert "listings_2019-02-30.csv: '2019-02-30' in the file name is not a real date" in log
    assert "listings_2019-07-03.csv: the header is one semicolon-delimited column" in log


def test_the_repricing_sensor_leaves_a_fresh_home_s_mlflow_store_to_the_first_run(instance, home):
    """Before any week has decided a champion it asks for nothing and does not create the MLflow store, which the
    first run creates under its lock (two processes creating a SQLite store at once can fail)."""
    from dagster import SkipReason

    from nyc_rental.definitions import build_defs
    from nyc_rental.defs.sensors import reprice_portfolio_on_new_champion

    registry = build_defs(home).resources["registry"]
    context = build_sensor_context(instance=instance, resources={"registry": registry})
    skipped = reprice_portfolio_on_new_champion(context)
    assert isinstance(skipped, SkipReason) and "no week has decided a champion yet" in skipped.skip_message
    assert not (home / "mlflow.db").exists()
    assert reprice_portfolio_on_new_champion.job_name == "reprice_portfolio"
