"""The three listing assets and their checks, run for real against a DuckDB file in a temporary home."""

import gzip

import pytest
from dagster import FloatMetadataValue, IntMetadataValue, TextMetadataValue, instance_for_test

from nyc_rental.core.delivery import REQUIRED_COLUMNS
from nyc_rental.core.quality import DATA_TESTS
from nyc_rental.definitions import build_defs
from nyc_rental_tests.conftest import deliver
from nyc_rental_tests.helpers import (
    check_results,
    declared_columns,
    failure_messages,
    inline_svg,
    materialization_entries,
    materialization_metadata,
    read_table,
    run_week,
    synthetic_delivery,
    week_counts,
)

ALL_CHECKS = set(DATA_TESTS)
# Synthetic weeks are small: a few thousand listings run in a fraction of the time of a full week's 20,000, and
# the row_count data test's floor (15,000 by default) is lowered to MIN_ROWS for those runs, as a user would in
# the Launchpad. The real samples and the row_count case below keep the default floor.
ROWS = 2_000
MIN_ROWS = 1_000


def test_both_real_samples_pass_every_check(samples, incoming, home, defs, instance):
    deliver(samples / "sample1.csv", incoming, "listings_2019-07-03.csv")
    deliver(samples / "sample2.csv", incoming, "listings_2019-07-10.csv")

    first = run_week(defs, instance, "2019-07-01")
    assert first.success, failure_messages(first)
    assert check_results(first) == {name: True for name in ALL_CHECKS}
    second = run_week(defs, instance, "2019-07-08")
    assert second.success, failure_messages(second)
    assert check_results(second) == {name: True for name in ALL_CHECKS}

    assert week_counts(home, "raw_listings") == {"2019-07-01": 20_000, "2019-07-08": 48_895}
    assert week_counts(home, "validated_listings") == {"2019-07-01": 19_001, "2019-07-08": 46_427}
    clean = materialization_metadata(second, "clean_listings")
    assert clean["dropped_by_rule"] == {"price_out_of_range": 2467, "outside_bounding_box": 1}
    assert clean["rows_in"] == 48_895 and clean["rows_out"] == 46_427
    assert "Manhattan" in clean["price_quantiles_by_borough"]
    assert 10830083 not in set(read_table(home, "clean_listings", "2019-07-08")["id"])
    drift = [e for e in second.get_asset_check_evaluations() if e.check_name == "similar_neighbourhood_distribution"]
    assert drift[0].metadata["reference"].value == "week 2019-07-01"


def test_a_week_without_delivery_fails_and_says_where_to_drop_one(incoming, defs, instance):
    result = run_week(defs, instance, "2019-07-08")
    assert not result.success
    assert f"no delivery for week 2019-07-08 in {incoming}" in failure_messages(result)


def _sixth_borough(frame):
    frame.loc[frame.index[:3], "neighbourhood_group"] = "New Jersey"
    return frame


def _point_in_new_jersey(frame):
    frame.loc[frame.index[0], ["latitude", "longitude"]] = [40.73, -74.40]
    return frame


def _price_of_5000(frame):
    frame.loc[frame.index[0], "price"] = 5000
    return frame


@pytest.mark.parametrize(
    "edit, rows, min_rows, run_config, failing",
    [
        (_sixth_borough, ROWS, MIN_ROWS, {}, "neighbourhood_names"),
        (
            _point_in_new_jersey,
            ROWS,
            MIN_ROWS,
            {"ops": {"clean_listings": {"config": {"min_longitude": -75.0}}}},
            "proper_boundaries",
        ),
        (_price_of_5000, ROWS, MIN_ROWS, {"ops": {"clean_listings": {"config": {"max_price": 10_000}}}}, "price_range"),
        (None, 100, None, {}, "row_count"),  # against the default floor of 15,000
    ],
)
def test_each_check_stops_a_week_built_to_break_it(
    incoming, home, defs, instance, edit, rows, min_rows, run_config, failing
):
    synthetic_delivery(incoming, "2019-07-10", rows=rows, edit=edit)
    result = run_week(defs, instance, "2019-07-08", run_config, min_rows=min_rows)
    assert not result.success
    checks = check_results(result)
    assert checks[failing] is False
    assert {name for name, passed in checks.items() if not passed} == {failing}
    assert week_counts(home, "clean_listings") != {}
    assert week_counts(home, "validated_listings") == {}
    evaluation = next(e for e in result.get_asset_check_evaluations() if e.check_name == failing)
    assert evaluation.description  # the reason, shown in the UI
    # The run stops with the check's own message (a Failure), not Dagster's DagsterAssetCheckFailedError.
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    error = failure.step_failure_data.error
    assert error.cls_name == "Failure" and "Failure: week 2019-07-08 stopped: " in error.message
    assert f"{failing} failed: {evaluation.description}" in error.message
    assert failure.step_failure_data.user_failure_data.metadata["failed_checks"].value == {
        failing: evaluation.description
    }


def test_a_drifted_week_is_stopped_and_never_becomes_the_reference(incoming, home, defs, instance):
    synthetic_delivery(incoming, "2019-07-03", rows=ROWS, seed=1)
    assert run_week(defs, instance, "2019-07-01", min_rows=MIN_ROWS).success

    def staten_island_boom(frame):
        manhattan = frame.index[frame.neighbourhood_group == "Manhattan"]
        frame.loc[manhattan[: len(manhattan) * 3 // 4], "neighbourhood_group"] = "Staten Island"
        return frame

    synthetic_delivery(incoming, "2019-07-10", rows=ROWS, seed=2, edit=staten_island_boom)
    drifted = run_week(defs, instance, "2019-07-08", min_rows=MIN_ROWS)
    assert not drifted.success
    assert check_results(drifted)["similar_neighbourhood_distribution"] is False
    evaluation = next(
        e for e in drifted.get_asset_check_evaluations() if e.check_name == "similar_neighbourhood_distribution"
    )
    assert evaluation.metadata["kl_divergence"].value >= 0.2
    assert evaluation.metadata["reference"].value == "week 2019-07-01"

    synthetic_delivery(incoming, "2019-07-17", rows=ROWS, seed=3)
    third = run_week(defs, instance, "2019-07-15", min_rows=MIN_ROWS)
    assert third.success, failure_messages(third)
    evaluation = next(
        e for e in third.get_asset_check_evaluations() if e.check_name == "similar_neighbourhood_distribution"
    )
    assert evaluation.metadata["reference"].value == "week 2019-07-01"
    assert set(week_counts(home, "validated_listings")) == {"2019-07-01", "2019-07-15"}


def _staten_island_boom(frame):
    manhattan = frame.index[frame.neighbourhood_group == "Manhattan"]
    frame.loc[manhattan[: len(manhattan) * 3 // 4], "neighbourhood_group"] = "Staten Island"
    return frame


def test_a_real_shift_accepted_on_purpose_becomes_the_new_reference(incoming, home, defs, instance):
    synthetic_delivery(incoming, "2019-07-03", rows=ROWS, seed=1)
    assert run_week(defs, instance, "2019-07-01", min_rows=MIN_ROWS).success
    synthetic_delivery(incoming, "2019-07-10", rows=ROWS, seed=2, edit=_staten_island_boom)
    assert not run_week(defs, instance, "2019-07-08", min_rows=MIN_ROWS).success

    accept = {"resources": {"data_tests": {"config": {"kl_threshold": 2.0}}}}  # as typed in the Launchpad
    accepted = run_week(defs, instance, "2019-07-08", accept, min_rows=MIN_ROWS)
    assert accepted.success, failure_messages(accepted)

    synthetic_delivery(incoming, "2019-07-17", rows=ROWS, seed=3, edit=_staten_island_boom)
    following = run_week(defs, instance, "2019-07-15", min_rows=MIN_ROWS)
    assert following.success, failure_messages(following)
    reference = next(
        e for e in following.get_asset_check_evaluations() if e.check_name == "similar_neighbourhood_distribution"
    )
    assert reference.metadata["reference"].value == "week 2019-07-08"

    pinned = run_week(
        defs,
        instance,
        "2019-07-15",
        {"resources": {"data_tests": {"config": {"reference_week": "2019-07-01"}}}},
        min_rows=MIN_ROWS,
    )
    assert check_results(pinned)["similar_neighbourhood_distribution"] is False


def test_validated_listings_alone_refuses_a_week_whose_checks_fail(incoming, home, defs, instance):
    synthetic_delivery(incoming, "2019-07-10", rows=ROWS, edit=_sixth_borough)
    run_week(defs, instance, "2019-07-08", min_rows=MIN_ROWS)
    result = run_week(defs, instance, "2019-07-08", assets=["validated_listings"], min_rows=MIN_ROWS)
    assert not result.success
    assert "failed data test(s): neighbourhood_names" in failure_messages(result)
    assert week_counts(home, "validated_listings") == {}


def test_rematerializing_a_week_replaces_it_and_leaves_other_weeks_untouched(incoming, home, defs, instance):
    synthetic_delivery(incoming, "2019-07-03", rows=ROWS, seed=1)
    synthetic_delivery(incoming, "2019-07-10", rows=ROWS, seed=2)
    first = run_week(defs, instance, "2019-07-01", min_rows=MIN_ROWS)
    assert first.success
    assert run_week(defs, instance, "2019-07-08", min_rows=MIN_ROWS).success
    before_other = read_table(home, "validated_listings", "2019-07-01")
    before_same = read_table(home, "validated_listings", "2019-07-08")
    counts = {table: week_counts(home, table) for table in ("raw_listings", "clean_listings", "validated_listings")}

    again = run_week(defs, instance, "2019-07-08", min_rows=MIN_ROWS)
    assert again.success
    assert {table: week_counts(home, table) for table in counts} == counts
    assert read_table(home, "validated_listings", "2019-07-01").equals(before_other)
    assert read_table(home, "validated_listings", "2019-07-08").equals(before_same)
    assert_what_the_ui_reads(first, again, home, defs)


def assert_what_the_ui_reads(first, second, home, defs):
    """The listing assets' metadata, as the UI shows and plots it, for a first week and one with a reference."""
    for table in ("raw_listings", "clean_listings", "validated_listings"):
        assert list(read_table(home, table, "2019-07-08").columns) == declared_columns(defs, table)

    clean = materialization_entries(second, "clean_listings")
    for key in ("rows_in", "rows_out", "rows_dropped", "dagster/row_count"):
        assert isinstance(clean[key], IntMetadataValue), key  # the Plots tab graphs rows in / dropped by week
    assert clean["dagster/row_count"].value == clean["rows_out"].value
    assert clean["dropped_pct"].value == round(100 * clean["rows_dropped"].value / clean["rows_in"].value, 2)

    validated = materialization_entries(second, "validated_listings")
    rows = validated["rows"].value
    assert validated["dagster/row_count"].value == rows
    profile = validated["column_profile"].value
    assert len(profile) < 1000  # shown in place, as a table narrow enough for a laptop's page
    profiled = {
        line.split(" | ")[0].strip("| ").replace("\u200b", ""): line.split(" | ")[1:]
        for line in profile.splitlines()[2:]
    }
    assert list(profiled) == declared_columns(defs, "validated_listings")[1:]
    null_pct, distinct, spread = profiled["price"]
    low, median, high = (float(v) for v in spread.strip(" |").split(" – "))
    assert null_pct == "0" and int(distinct.replace(",", "")) > 1 and 10 <= low <= median <= high <= 350
    histogram = validated["price_histogram"].value
    assert len(histogram) < 1000 and "█" in histogram  # short enough for the UI to show in place
    listings = [int(line.split("|")[2]) for line in histogram.splitlines()[2:]]
    assert sum(listings) == rows
    assert "Manhattan" in validated["borough_shares"].value and "week 2019-07-01 %" in validated["borough_shares"].value
    plot = inline_svg(validated["borough_shares_plot"].value)
    assert ">Manhattan " in plot and "stroke='silver'" in plot  # this week's bars, the reference's under them
    assert isinstance(validated["kl_divergence"], FloatMetadataValue) and validated["kl_divergence"].value < 0.2
    assert validated["drift_reference"].value == "week 2019-07-01"
    without_reference = materialization_entries(first, "validated_listings")
    assert "kl_divergence" not in without_reference  # left out, never text: the entry stays plottable
    assert "stroke='silver'" not in inline_svg(without_reference["borough_shares_plot"].value)

    checks = {e.check_name: e.metadata for e in second.get_asset_check_evaluations()}
    assert isinstance(checks["row_count"]["rows"], IntMetadataValue) and checks["row_count"]["rows"].value == rows
    for check, key in (("row_count", "min_rows"), ("column_names", "columns"), ("similar_neighbourhood_distribution", "kl_threshold")):  # fmt: skip
        assert isinstance(checks[check][key], TextMetadataValue), (check, key)


def test_several_files_in_a_week_are_combined_and_the_newest_row_of_an_id_wins(incoming, home, defs, instance):
    synthetic_delivery(incoming, "2019-07-08", rows=ROWS, seed=1)

    def repriced(frame):
        frame = frame.head(500).copy()
        frame["price"] = 123
        return frame

    synthetic_delivery(incoming, "2019-07-10", rows=ROWS, seed=1, edit=repriced)
    result = run_week(defs, instance, "2019-07-08", min_rows=MIN_ROWS)
    assert result.success, failure_messages(result)
    assert week_counts(home, "raw_listings") == {"2019-07-08": ROWS + 500}
    clean = read_table(home, "clean_listings", "2019-07-08")
    assert 450 <= materialization_metadata(result, "clean_listings")["dropped_by_rule"]["duplicate_id"] <= 500
    newer = clean[clean.source_file == "listings_2019-07-10.csv"]
    assert len(newer) > 450 and (newer.price == 123).all()
    assert clean.id.is_unique


BAD_DELIVERIES = {
    "empty": (b"", "the file is empty"),
    "header only": (",".join(REQUIRED_COLUMNS).encode() + b"\n", "a header but no listings"),
    "wrong delimiter": (";".join(REQUIRED_COLUMNS).encode() + b"\n1;x\n", "semicolon-delimited"),
    "undecodable bytes": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content"),
    "missing column": (",".join(REQUIRED_COLUMNS[:-1]).encode() + b"\n1,x\n", "availability_365 missing"),
}


@pytest.fixture(scope="module")
def week_stored(tmp_path_factory):
    """A home whose week 2019-07-01 went through the listing assets: the bad deliveries' cases share it, each
    writing its file for the next week (and comparing the tables with what they held just before)."""
    home = tmp_path_factory.mktemp("week_stored")
    (home / "incoming").mkdir()
    synthetic_delivery(home / "incoming", "2019-07-03", rows=ROWS, seed=1)
    with instance_for_test(temp_dir=str(tmp_path_factory.mktemp("dagster"))) as instance:
        defs = build_defs(home)
        assert run_week(defs, instance, "2019-07-01", min_rows=MIN_ROWS).success
        yield home, defs, instance


@pytest.mark.parametrize("case", BAD_DELIVERIES)
def test_a_bad_delivery_fails_clearly_and_writes_nothing_for_its_week(case, week_stored):
    home, defs, instance = week_stored
    incoming = home / "incoming"
    before = {table: week_counts(home, table) for table in ("raw_listings", "clean_listings", "validated_listings")}
    assert all(set(weeks) == {"2019-07-01"} for weeks in before.values())  # as the fixture left it
    content, message = BAD_DELIVERIES[case]
    bad = incoming / "listings_2019-07-10.csv"
    bad.write_bytes(content)

    result = run_week(defs, instance, "2019-07-08", min_rows=MIN_ROWS)
    assert not result.success
    assert "listings_2019-07-10.csv" in failure_messages(result) and message in failure_messages(result)
    assert {table: week_counts(home, table) for table in before} == before
    assert bad.read_bytes() == content


def test_a_truncated_last_line_is_dropped_and_counted(incoming, home, defs, instance):
    path = synthetic_delivery(incoming, "2019-07-10", rows=ROWS)
    path.write_bytes(path.read_bytes()[:-30])
    result = run_week(defs, instance, "2019-07-08", min_rows=MIN_ROWS)
    assert result.success, failure_messages(result)
    assert materialization_metadata(result, "clean_listings")["dropped_by_rule"]["malformed_row"] == 1
    assert materialization_metadata(result, "raw_listings")["malformed_rows"] == 1


def test_gzip_named_csv_succeeds(incoming, home, defs, instance):
    path = synthetic_delivery(incoming, "2019-07-10", rows=ROWS)
    plain = path.read_bytes()
    path.write_bytes(gzip.compress(plain))
    result = run_week(defs, instance, "2019-07-08", min_rows=MIN_ROWS)
    assert result.success, failure_messages(result)
    assert week_counts(home, "raw_listings") == {"2019-07-08": ROWS}
