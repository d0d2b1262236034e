"""A late delivery is noticed: the freshness check on raw_listings under a controlled clock (Dagster's own
`freeze_time`), with a real instance, real weekly runs of raw_listings and the real sensor of the definitions."""

import datetime as dt

from dagster import AssetCheckKey, AssetCheckSeverity, AssetKey, DefaultSensorStatus, build_sensor_context

from nyc_rental.defs.freshness import raw_listings_freshness_checks
from nyc_rental.runtime.testing import freeze_time
from nyc_rental.settings import DELIVERY_OVERDUE_AFTER, FRESHNESS_SENSOR_INTERVAL_SECONDS
from nyc_rental_tests.helpers import failure_messages, synthetic_delivery

FRESHNESS = AssetCheckKey(AssetKey("raw_listings"), "freshness_check")
SENSOR = "raw_listings_freshness_sensor"
LANDED = dt.datetime(2019, 7, 10, 12, 0, tzinfo=dt.UTC)  # week 2019-07-08's delivery runs


def at(days: float) -> dt.datetime:
    return LANDED + dt.timedelta(days=days)


def land(defs, instance, incoming, day: str, week: str) -> None:
    """A delivery lands and its week's raw_listings is materialized by a real run of weekly_pipeline, of that
    asset alone and without checks (the delivery sensor's runs, of the whole job, hold no freshness check)."""
    synthetic_delivery(incoming, day, rows=200)
    job = defs.resolve_job_def("weekly_pipeline").get_subset(
        asset_selection={AssetKey("raw_listings")}, asset_check_selection=set()
    )
    result = job.execute_in_process(partition_key=week, instance=instance, raise_on_error=False)
    assert result.success, failure_messages(result)


def tick(defs, instance):
    """One tick of the freshness sensor; when it requests the check, the run it asks for is executed, as the
    daemon would launch it. Returns the check's evaluation, or None when the tick skipped. (The sensor's cursor
    only marks where a tick that ran out of time stopped: with one check, every tick ends with none.)"""
    sensor = defs.resolve_sensor_def(SENSOR)
    result = sensor.evaluate_tick(build_sensor_context(instance=instance, definitions=defs))
    assert result.cursor is None
    if not result.run_requests:
        assert result.skip_message
        return None
    (request,) = result.run_requests
    assert list(request.asset_check_keys) == [FRESHNESS] and not request.asset_selection
    # Queued behind every week: the run queue launches the highest dagster/priority first (0 unless set).
    assert request.tags["dagster/priority"] == "-1"
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(), asset_check_selection=set(request.asset_check_keys)
    )
    run = job.execute_in_process(instance=instance, tags={**request.tags, "dagster/sensor_name": SENSOR})
    assert run.success
    # The check's latest evaluation as the instance stores it, which the UI shows.
    stored = instance.event_log_storage.get_asset_check_summary_records([FRESHNESS])[FRESHNESS]
    assert stored.last_completed_check_execution_record.run_id == run.run_id
    return stored.last_completed_check_execution_record.event.dagster_event.event_specific_data


def test_the_freshness_sensor_runs_by_default_and_only_the_freshness_check(defs):
    sensor = defs.resolve_sensor_def(SENSOR)
    assert sensor.default_status == DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == FRESHNESS_SENSOR_INTERVAL_SECONDS == 600
    assert DELIVERY_OVERDUE_AFTER == dt.timedelta(days=8)
    assert defs.resolve_asset_graph().get_check_spec(FRESHNESS).partitions_def is None
    weekly = {node.name for node in defs.resolve_job_def("weekly_pipeline").graph.nodes}
    (freshness,) = raw_listings_freshness_checks
    assert freshness.node_def.name not in weekly and "clean_listings_data_tests" in weekly


def test_a_late_delivery_fails_the_check_and_the_next_week_passes_it(defs, instance, incoming):
    with freeze_time(at(0)):
        land(defs, instance, incoming, "2019-07-10", "2019-07-08")
    with freeze_time(at(0.01)):
        fresh = tick(defs, instance)  # never evaluated: the sensor asks at once
    assert fresh.passed and fresh.severity == AssetCheckSeverity.ERROR
    assert fresh.description.startswith("Asset is currently fresh.")

    with freeze_time(at(7.9)):
        assert tick(defs, instance) is None  # cannot be late yet: no run

    with freeze_time(at(8) + dt.timedelta(hours=3)):
        late = tick(defs, instance)
    assert not late.passed and late.severity == AssetCheckSeverity.ERROR
    assert late.description == (
        "Asset is overdue for an update. The last update was 8 days, 3 hours ago, "
        "which is past the allowed distance of 8 days ago."
    )
    assert late.metadata["dagster/last_updated_timestamp"].value == at(0).timestamp()
    assert late.metadata["dagster/freshness_lower_bound_timestamp"].value == at(3 / 24).timestamp()

    with freeze_time(at(9)):
        assert tick(defs, instance) is None  # failed, and nothing landed since: no run

    with freeze_time(at(9.5)):
        land(defs, instance, incoming, "2019-07-19", "2019-07-15")
    with freeze_time(at(9.5) + dt.timedelta(minutes=10)):
        again = tick(defs, instance)
    assert again.passed and "The last update was 10 minutes ago" in again.description


def test_a_week_of_raw_listings_selected_as_assets_runs_the_check_too_and_succeeds(defs, instance, incoming):
    """A backfill or a materialization of raw_listings selected as assets runs the asset job with the checks of
    the selected assets, the unpartitioned freshness check among them: the week's run still succeeds."""
    synthetic_delivery(incoming, "2019-07-10", rows=200)
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={AssetKey("raw_listings")})
    result = job.execute_in_process(partition_key="2019-07-08", instance=instance, raise_on_error=False)
    assert result.success, failure_messages(result)
    assert [(e.asset_check_key, e.passed) for e in result.get_asset_check_evaluations()] == [(FRESHNESS, True)]
