import pandas as pd
import pytest

from nyc_rental.core.cleaning import CleaningRules, clean_listings, parse_price, price_quantiles_by_borough
from nyc_rental.core.delivery import RAW_COLUMNS

GOOD = {
    "id": "1",
    "name": "Sunny room",
    "host_id": "10",
    "host_name": "Ann",
    "neighbourhood_group": "Brooklyn",
    "neighbourhood": "Bushwick",
    "latitude": "40.70",
    "longitude": "-73.92",
    "room_type": "Private room",
    "price": "80",
    "minimum_nights": "2",
    "number_of_reviews": "3",
    "last_review": "2019-06-01",
    "reviews_per_month": "0.5",
    "calculated_host_listings_count": "1",
    "availability_365": "100",
}


def raw(*changes: dict) -> pd.DataFrame:
    """Raw rows as the reader makes them: one good row per change, ids 1, 2, ... unless changed."""
    rows = []
    for line, change in enumerate(changes, start=2):
        row = {**GOOD, "id": str(line - 1), **change}
        row.setdefault("source_file", "d.csv")
        row.setdefault("source_sha256", "0" * 64)
        row.setdefault("source_line", line)
        row.setdefault("parse_error", None)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(RAW_COLUMNS))


def test_prices_written_with_currency_and_thousands_are_parsed():
    parsed = parse_price(pd.Series(["$1,200.00", " 85 ", "12.5", "abc", ""]))
    assert parsed.tolist()[:3] == [1200.0, 85.0, 12.5]
    assert parsed[3:].isna().all()


def test_a_good_row_is_typed():
    result = clean_listings(raw({}))
    row = result.frame.iloc[0]
    assert result.rows_out == 1 and sum(result.drop_counts.values()) == 0
    assert row["id"] == 1 and row["price"] == 80.0 and row["latitude"] == 40.70
    assert str(row["last_review"]) == "2019-06-01"
    assert result.frame["minimum_nights"].dtype == "Int64"
    assert list(result.frame.columns)[-1] == "source_file"


@pytest.mark.parametrize(
    "change, rule",
    [
        ({"parse_error": "4 fields where the header has 16"}, "malformed_row"),
        ({"id": "id", "price": "price", "name": "name"}, "repeated_header"),
        ({"price": "eighty"}, "unparseable_price"),
        ({"latitude": "40,7"}, "unparseable_latitude"),
        ({"last_review": "01/06/2019"}, "unparseable_last_review"),
        ({"minimum_nights": "2.5"}, "unparseable_minimum_nights"),
        ({"price": ""}, "missing_price"),
        ({"neighbourhood_group": " "}, "missing_neighbourhood_group"),
        ({"price": "0"}, "price_out_of_range"),
        ({"price": "5000"}, "price_out_of_range"),
        ({"price": "9.99"}, "price_out_of_range"),
        ({"longitude": "-74.30"}, "outside_bounding_box"),
        ({"latitude": "41.3"}, "outside_bounding_box"),
    ],
)
def test_each_rule_drops_and_counts_its_rows(change, rule):
    result = clean_listings(raw({}, change))
    assert result.rows_out == 1
    assert result.frame["id"].tolist() == [1]
    assert {name: n for name, n in result.drop_counts.items() if n} == {rule: 1}
    assert result.drop_examples[rule] == ["d.csv:3 (id " + raw({}, change).loc[1, "id"] + ")"]


def test_bounds_include_their_edges_and_follow_the_rules():
    edges = raw({"price": "10"}, {"price": "350"}, {"longitude": "-74.25", "latitude": "41.2"})
    assert clean_listings(edges).rows_out == 3
    wider = CleaningRules(max_price=6000, min_longitude=-75)
    assert clean_listings(raw({"price": "5000", "longitude": "-74.5"}), wider).rows_out == 1


def test_duplicate_ids_keep_the_newest_row():
    result = clean_listings(
        raw(
            {"id": "7", "price": "50", "source_file": "old.csv"},
            {"id": "7", "price": "60", "source_file": "new.csv"},
            {"id": "8"},
        )
    )
    assert result.frame.set_index("id").loc[7, "price"] == 60.0
    assert result.frame.set_index("id").loc[7, "source_file"] == "new.csv"
    assert result.drop_counts["duplicate_id"] == 1


def test_a_row_is_counted_once_under_the_first_rule_it_breaks():
    result = clean_listings(raw({"price": "0", "longitude": "-80"}))
    assert result.rows_out == 0
    assert result.drop_counts["price_out_of_range"] == 1 and result.drop_counts["outside_bounding_box"] == 0
    assert result.rows_in - result.rows_out == sum(result.drop_counts.values())


def test_price_quantiles_per_borough():
    frame = clean_listings(raw({"price": "50"}, {"price": "150"}, {"neighbourhood_group": "Queens"})).frame
    table = price_quantiles_by_borough(frame)
    assert table.loc["Brooklyn", "listings"] == 2 and table.loc["Brooklyn", "p50"] == 100.0
    assert table.loc["Queens", "p50"] == 80.0


def test_the_validated_type_names_the_rows_that_break_it():
    from dagster import check_dagster_type

    from nyc_rental.core.schema import coerce_validated
    from nyc_rental.defs.assets.listings import ValidatedListingsType

    good = coerce_validated(clean_listings(raw({}, {})).frame)
    assert check_dagster_type(ValidatedListingsType, good).success
    bad = good.copy()
    bad.loc[1, "neighbourhood_group"] = "Hoboken"
    result = check_dagster_type(ValidatedListingsType, bad)
    assert not result.success
    assert "Hoboken" in str(result.description) + str(result.metadata)
