"""What the UI reads besides the tables: the column schemas declared on the assets, the helpers that turn figures,
frames and numbers into metadata, and the checks' metadata. The weeks' own metadata is asserted where a test
already runs them (test_listing_assets.py, test_modeling.py)."""

import re

import pandas as pd
import pytest
from dagster import (
    AssetKey,
    FloatMetadataValue,
    IntMetadataValue,
    TableSchemaMetadataValue,
    TextMetadataValue,
)

from nyc_rental.core.delivery import RAW_COLUMNS
from nyc_rental.core.quality import QualityThresholds, column_names, row_count, similar_neighbourhood_distribution
from nyc_rental.core.schema import ValidatedListings
from nyc_rental.definitions import build_defs
from nyc_rental.defs.assets.inline_plots import TooLong, bar_chart, inline_chart, line_chart
from nyc_rental.defs.assets.metadata import markdown_table
from nyc_rental.defs.checks import _metadata
from nyc_rental.storage.io_manager import ONE_ROW_PER_WEEK
from nyc_rental_tests.helpers import inline_svg

VALIDATED = list(ValidatedListings.to_schema().columns)
EXPECTED_COLUMNS = {
    "raw_listings": ["week", *RAW_COLUMNS, "ingested_at"],
    "clean_listings": ["week", *VALIDATED],
    "validated_listings": ["week", *VALIDATED],
    "splits": ["week", *VALIDATED, "split"],
}


def declared_metadata(defs, asset: str) -> dict:
    return defs.resolve_assets_def(asset).specs_by_key[AssetKey(asset)].metadata


def column_names_declared(defs, asset: str) -> list[str]:
    value = declared_metadata(defs, asset)["dagster/column_schema"]
    assert isinstance(value, TableSchemaMetadataValue)
    return [column.name for column in value.schema.columns]


@pytest.mark.parametrize("asset", list(EXPECTED_COLUMNS))
def test_each_listing_table_declares_its_columns_before_any_week_is_materialized(defs, asset):
    assert column_names_declared(defs, asset) == EXPECTED_COLUMNS[asset]
    schema = declared_metadata(defs, asset)["dagster/column_schema"].schema
    assert all(column.type and column.description for column in schema.columns)


def test_validated_listings_columns_carry_the_pandera_models_types_and_checks(defs):
    columns = {c.name: c for c in declared_metadata(defs, "validated_listings")["dagster/column_schema"].schema.columns}
    assert columns["id"].type == "int64" and columns["id"].constraints.unique
    assert "> 0" in columns["price"].constraints.other
    assert columns["last_review"].constraints.nullable and not columns["neighbourhood_group"].constraints.nullable
    assert columns["price"].description == "nightly price in dollars"


def test_the_one_row_tables_declare_their_columns_and_no_row_count(tmp_path):
    from nyc_rental.defs.assets.columns import MODEL_COLUMNS, TEST_METRICS_COLUMNS

    defs = build_defs(tmp_path)
    for asset, columns in (("model", MODEL_COLUMNS), ("test_metrics", TEST_METRICS_COLUMNS)):
        assert column_names_declared(defs, asset) == ["week", *(c.name for c in columns)]
        assert declared_metadata(defs, asset)[ONE_ROW_PER_WEEK] is True
    assert ONE_ROW_PER_WEEK not in declared_metadata(defs, "splits")


def test_charts_fit_in_place_whatever_the_labels():
    """The UI shows Markdown in place under 1,000 characters: long labels cost bars, never the limit."""
    names = [f"calculated_host_listings_count_{i}" for i in range(30)]
    chart = bar_chart([(name, 30.0 - i) for i, name in enumerate(names)], "importance")
    svg = inline_svg(chart.value)
    assert 3 <= svg.count("<text") < 30 and ">calculated_host_listings 30<" in svg
    shares = [("Manhattan", 44.3), ("Brooklyn", 41.1), ("Queens", 11.6), ("Bronx", 2.2), ("Staten Island", 0.8)]
    with_reference = inline_svg(bar_chart(shares, "borough shares %", reference=[44, 41, 12, 2, 1]).value)
    assert with_reference.count("<text") == 5 and with_reference.count("<path") == 2
    weeks = inline_svg(line_chart([(i, 30 + i % 3) for i in range(52)], "test MAE", ("2019-07-01", "2020-06-22")).value)
    (points,) = re.findall(r"<polyline points='([0-9,]+)'", weeks)
    assert len(points.split(",")) == 2 * 52 and ">2020-06-22<" in weeks
    with pytest.raises(TooLong):
        inline_chart("x" * 1000, "too long")


def test_charts_fit_the_value_column_of_a_laptop_window():
    """With the navigation shown, a 1366-pixel-wide window gives a metadata value about 310 pixels on model's and
    test_metrics' pages (scripts/ui_screenshots.py measures it): the charts are narrower, their bars inside."""
    names = [f"calculated_host_listings_count_{i}" for i in range(30)]
    shares = [("Manhattan", 44.3), ("Brooklyn", 41.1), ("Queens", 11.6), ("Bronx", 2.2), ("Staten Island", 0.8)]
    charts = [
        bar_chart([(name, 30.0 - i) for i, name in enumerate(names)], "importance"),
        bar_chart(shares, "borough shares %", reference=[44, 41, 12, 2, 1]),
        line_chart([(i, 30 + i % 3) for i in range(52)], "test MAE by week", ("2019-07-01", "2020-06-22")),
    ]
    for chart in charts:
        svg = inline_svg(chart.value)
        (width,) = re.findall(r"<svg [^>]*width='(\d+)'", svg)
        assert int(width) <= 290
        assert all(int(x) + int(length) <= int(width) for x, length in re.findall(r"M(\d+),\d+h(\d+)", svg))
    # The bars start where their longest label ends: short borough names leave the bars more room.
    (start,) = set(re.findall(r"M(\d+),", inline_svg(charts[1].value)))
    assert int(start) < 170


def test_markdown_tables_may_break_after_an_underscore_of_a_header_or_a_long_word():
    """In a narrow column the UI wraps them there (a zero-width space), never inside a short name."""
    frame = pd.DataFrame({"model_version": [1], "input": ["calculated_host_listings_count"], "room": ["room_type"]})
    header, _, row = markdown_table(frame).value.splitlines()
    assert header == "| model_\u200bversion | input | room |"
    assert row == "| 1 | calculated_\u200bhost_\u200blistings_\u200bcount | room_type |"


def test_markdown_tables_round_as_told_and_show_gaps_as_dashes():
    frame = pd.DataFrame({"borough": ["Bronx", "Queens"], "mae": [32.856247140816386, float("nan")], "n": [3, 4]})
    assert markdown_table(frame, {"mae": ".2f"}).value.splitlines()[2:] == [
        "| Bronx | 32.86 | 3 |",
        "| Queens | – | 4 |",
    ]


def test_check_settings_are_text_and_measurements_stay_numbers():
    """A check's Plots tab graphs what the week measured, never a flat line of its threshold."""
    limits = QualityThresholds()
    frame = pd.DataFrame({"neighbourhood_group": ["Bronx", "Queens", "Queens"]})
    drift = _metadata(
        similar_neighbourhood_distribution(frame, pd.Series({"Bronx": 0.5, "Queens": 0.5}), limits, "week x").figures
    )
    assert isinstance(drift["kl_threshold"], TextMetadataValue) and drift["kl_threshold"].value == "0.2"
    assert drift["kl_divergence"] == pytest.approx(0.08170, abs=1e-5) and len(repr(drift["kl_divergence"])) <= 8
    rows = _metadata(row_count(frame, limits).figures)
    assert rows["rows"] == 3 and rows["min_rows"].value == "15,000" and rows["max_rows"].value == "1,000,000"
    columns = _metadata(column_names(pd.DataFrame(columns=list(RAW_COLUMNS[:16]))).figures)
    assert isinstance(columns["columns"], TextMetadataValue)
    assert not any(isinstance(v, (IntMetadataValue, FloatMetadataValue)) for v in columns.values())
