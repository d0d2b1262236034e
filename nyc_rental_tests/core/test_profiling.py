"""The week's profile: each column's figures, the price histogram, the borough shares figure, and their cost."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from nyc_rental.core.profiling import PROFILE_COLUMNS, column_profile, price_histogram
from nyc_rental.synthetic import generate_listings


def test_each_column_gets_its_type_gaps_distinct_values_and_range():
    frame = pd.DataFrame(
        {
            "price": [10.0, 20.0, 30.0, np.nan, 40.0],
            "nights": pd.array([1, 1, 2, None, 3], dtype="Int64"),
            "room_type": ["a", "b", "a", None, "a"],
            "last_review": [dt.date(2019, 1, 1), dt.date(2019, 3, 1), None, None, dt.date(2019, 5, 1)],
            "promoted": [True, False, True, True, False],
            "empty": [None] * 5,
        }
    )
    profile = column_profile(frame).set_index("column")

    assert list(profile.reset_index().columns) == list(PROFILE_COLUMNS)
    assert profile.loc["price", "dtype"] == "float64" and profile.loc["nights", "dtype"] == "Int64"
    assert profile.loc["price", "null_pct"] == 20.0 and profile.loc["last_review", "null_pct"] == 40.0
    assert profile.loc["room_type", "distinct"] == 2 and profile.loc["empty", "distinct"] == 0
    assert profile.loc["price", ["min", "p25", "median", "p75", "max"]].tolist() == [10.0, 17.5, 25.0, 32.5, 40.0]
    assert profile.loc["nights", "max"] == 3.0
    assert profile.loc["last_review", ["min", "median", "max"]].tolist() == ["2019-01-01", "2019-03-01", "2019-05-01"]
    assert profile.loc[["room_type", "promoted", "empty"], "min"].isna().all()


def test_numbers_are_rounded_to_four_significant_digits():
    profile = column_profile(pd.DataFrame({"x": [1 / 3, 2 / 3, 123456.789]})).set_index("column")
    assert profile.loc["x", "min"] == 0.3333 and profile.loc["x", "max"] == 123500.0


def test_the_price_histogram_counts_every_listing_once_in_equal_ranges():
    prices = pd.Series([10, 10, 20, 35, 349, 350, np.nan])
    histogram = price_histogram(prices, bins=4)
    assert histogram.price.tolist() == ["$10–95", "$95–180", "$180–265", "$265–350"]
    assert histogram.listings.tolist() == [4, 0, 0, 2]
    assert histogram.share_pct.tolist() == [66.7, 0.0, 0.0, 33.3]
    assert price_histogram(pd.Series([42.0, 42.0])).listings.sum() == 2
    assert price_histogram(pd.Series([], dtype=float)).empty


@pytest.fixture(scope="module")
def full_week() -> pd.DataFrame:
    from nyc_rental.core.schema import coerce_validated

    frame = generate_listings(20_000, seed=5, snapshot=dt.date(2019, 7, 3)).assign(source_file="listings.csv")
    frame["last_review"] = pd.to_datetime(frame["last_review"]).dt.date
    return coerce_validated(frame)


def test_a_full_week_profiles_every_column_and_counts_every_price(full_week):
    # How long it takes is measured by `make bench-profile` (validated_listings' step), not here.
    profile = column_profile(full_week)
    histogram = price_histogram(full_week.price)
    assert len(profile) == len(full_week.columns) and histogram.listings.sum() == len(full_week)
