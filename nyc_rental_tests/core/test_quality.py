import math

import numpy as np
import pandas as pd
import pytest

from nyc_rental.core.quality import (
    BOROUGHS,
    DATA_TESTS,
    QualityThresholds,
    borough_shares,
    column_names,
    kl_divergence,
    run_data_tests,
)

LIMITS = QualityThresholds()
SHARES = {"Manhattan": 0.44, "Brooklyn": 0.41, "Queens": 0.12, "Bronx": 0.022, "Staten Island": 0.008}


def week(rows: int = 20_000, shares: dict = SHARES, seed: int = 0) -> pd.DataFrame:
    """A clean week that passes every test, with the given borough shares."""
    rng = np.random.default_rng(seed)
    boroughs = rng.choice(list(shares), size=rows, p=np.array(list(shares.values())) / sum(shares.values()))
    boroughs[: len(shares)] = list(shares)  # every borough present
    return pd.DataFrame(
        {
            "id": np.arange(1, rows + 1),
            "name": "Room",
            "host_id": 1,
            "host_name": "Ann",
            "neighbourhood_group": boroughs,
            "neighbourhood": "Somewhere",
            "latitude": rng.uniform(40.55, 40.9, rows),
            "longitude": rng.uniform(-74.1, -73.7, rows),
            "room_type": "Private room",
            "price": rng.uniform(10, 350, rows).round(),
            "minimum_nights": 1,
            "number_of_reviews": 0,
            "last_review": None,
            "reviews_per_month": np.nan,
            "calculated_host_listings_count": 1,
            "availability_365": 0,
        }
    )


def outcomes(frame, reference=None):
    return run_data_tests(frame, LIMITS, reference, "week 2019-07-01")


def failed(frame, reference=None):
    return {name for name, outcome in outcomes(frame, reference).items() if not outcome.passed}


def test_a_good_week_passes_every_test_and_reports_figures():
    results = outcomes(week(), borough_shares(week(seed=1)))
    assert list(results) == list(DATA_TESTS)
    assert all(outcome.passed for outcome in results.values()), results
    assert results["row_count"].figures["rows"] == 20_000
    assert results["similar_neighbourhood_distribution"].figures["kl_divergence"] < 0.01


def test_a_missing_column_fails_column_names_and_extra_columns_do_not():
    missing = column_names(week().drop(columns="room_type"))
    assert not missing.passed and missing.figures["missing"] == ["room_type"]
    assert column_names(week().assign(extra=1)).passed


def test_columns_out_of_the_course_order_fail_column_names():
    reordered = week().drop(columns="price").assign(price=80.0)
    assert failed(reordered) == {"column_names"}


def test_a_sixth_borough_fails_neighbourhood_names_with_its_ids():
    frame = week()
    frame.loc[100:102, "neighbourhood_group"] = "New Jersey"
    result = outcomes(frame)["neighbourhood_names"]
    assert not result.passed
    assert result.figures["unknown_rows"] == 3 and result.figures["example_ids"] == [101, 102, 103]
    assert failed(frame) == {"neighbourhood_names"}


def test_a_missing_borough_fails_neighbourhood_names():
    frame = week()
    frame = frame[frame.neighbourhood_group != "Staten Island"]
    result = outcomes(frame)["neighbourhood_names"]
    assert not result.passed and result.figures["absent_boroughs"] == ["Staten Island"]


def test_a_point_in_new_jersey_fails_proper_boundaries():
    frame = week()
    frame.loc[5, ["latitude", "longitude"]] = [40.73, -74.40]
    result = outcomes(frame)["proper_boundaries"]
    assert not result.passed and result.figures == {"outside_rows": 1, "example_ids": [6]}
    assert failed(frame) == {"proper_boundaries"}


def test_a_price_of_5000_fails_price_range():
    frame = week()
    frame.loc[7, "price"] = 5000.0
    result = outcomes(frame)["price_range"]
    assert not result.passed and result.figures["example_ids"] == [8] and result.figures["max_price"] == 5000.0
    assert failed(frame) == {"price_range"}


@pytest.mark.parametrize("rows, passes", [(100, False), (15_000, False), (15_001, True)])
def test_row_count_is_strictly_between_the_limits(rows, passes):
    assert outcomes(week(rows))["row_count"].passed is passes


def test_drift_far_from_the_reference_fails_and_reports_the_kl_value():
    skewed = week(shares={**SHARES, "Staten Island": 3.0})
    result = outcomes(skewed, borough_shares(week()))["similar_neighbourhood_distribution"]
    assert not result.passed
    assert result.figures["kl_divergence"] >= 0.2 and result.figures["reference"] == "week 2019-07-01"
    assert "KL divergence" in result.summary


def test_a_reference_given_as_counts_is_reported_as_shares():
    """The warehouse gives the reference week's borough counts: its metadata shows them as shares, beside the
    week's."""
    frame = week()
    counts = frame["neighbourhood_group"].value_counts()
    figures = outcomes(frame, counts)["similar_neighbourhood_distribution"].figures
    assert figures["reference_shares"] == figures["shares"] and figures["kl_divergence"] == pytest.approx(0)


def test_without_a_reference_the_drift_test_passes_and_says_so():
    result = outcomes(week())["similar_neighbourhood_distribution"]
    assert result.passed and "no reference" in result.summary


def test_kl_divergence_in_bits():
    p = pd.Series({"a": 0.5, "b": 0.5})
    assert kl_divergence(p, p) == 0.0
    assert kl_divergence(p, pd.Series({"a": 0.25, "b": 0.75})) == pytest.approx(
        0.5 * math.log2(2) + 0.5 * math.log2(0.5 / 0.75)
    )
    assert kl_divergence(p, pd.Series({"a": 1.0})) == math.inf
    assert kl_divergence(pd.Series({"a": 1.0}), p) == pytest.approx(1.0)


def test_boroughs_are_the_five():
    assert BOROUGHS == ("Bronx", "Brooklyn", "Manhattan", "Queens", "Staten Island")
