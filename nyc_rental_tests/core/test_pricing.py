"""The calibrated price range and the comparables, on rows whose truth is known."""

import json

import numpy as np
import pandas as pd
import pytest

from nyc_rental.core.pricing import Comparables, PriceRange, check_interval, price_scale, reference_rows


def heteroscedastic(rows: int, seed: int):
    """Prices whose error grows with the price, as listings' do: predicted p, true p + noise ∝ sqrt(p) × 3."""
    rng = np.random.default_rng(seed)
    predicted = rng.lognormal(np.log(120), 0.6, rows)
    actual = np.maximum(predicted + rng.standard_t(5, rows) * np.sqrt(predicted) * 3, 10)
    return actual, predicted


@pytest.mark.parametrize("interval", [0.5, 0.8, 0.9])
def test_the_range_holds_its_share_of_prices_it_was_not_calibrated_on(interval):
    price_range = PriceRange.calibrate(*heteroscedastic(4_000, seed=1))
    actual, predicted = heteroscedastic(20_000, seed=2)
    low, high = price_range.bounds(predicted, interval)
    covered = np.mean((actual >= low) & (actual <= high))
    assert abs(covered - interval) < 0.02, covered
    assert (low >= 0).all()  # a low end that would fall below $0 stops there


def test_the_range_adapts_to_the_listing_where_a_constant_one_misses_the_expensive_ones():
    calibration = heteroscedastic(4_000, seed=3)
    price_range = PriceRange.calibrate(*calibration)
    low, high = price_range.bounds([40.0, 300.0], 0.8)
    assert (high - low)[0] < (high - low)[1] / 2  # ± scales with the square root of the price
    actual, predicted = heteroscedastic(20_000, seed=4)
    low, high = price_range.bounds(predicted, 0.8)
    inside = (actual >= low) & (actual <= high)
    constant = np.quantile(np.abs(calibration[0] - calibration[1]), 0.8)  # one ± $ for every listing
    inside_constant = np.abs(actual - predicted) <= constant
    cheap, dear = predicted < np.quantile(predicted, 0.25), predicted > np.quantile(predicted, 0.75)
    assert abs(inside[cheap].mean() - 0.8) < 0.03 and abs(inside[dear].mean() - 0.8) < 0.03
    assert inside_constant[cheap].mean() > 0.9 and inside_constant[dear].mean() < 0.7


def test_a_wider_interval_gives_a_wider_range_and_the_range_survives_its_json():
    price_range = PriceRange.calibrate(*heteroscedastic(500, seed=5))
    low80, high80 = price_range.bounds([100.0], 0.8)
    low90, high90 = price_range.bounds([100.0], 0.9)
    assert low90 <= low80 and high90 >= high80 and high90 - low90 > high80 - low80
    again = PriceRange.from_json(price_range.to_json())
    np.testing.assert_allclose(again.bounds([100.0], 0.8), (low80, high80), atol=1e-3)
    assert price_scale([3.0])[0] == pytest.approx(np.sqrt(10))  # a near-free listing gets the floor's scale


def test_an_interval_beyond_what_the_calibration_rows_can_guarantee_is_refused_and_nan_scores_are_dropped():
    price_range = PriceRange.calibrate([100.0] * 9 + [np.nan], [90.0] * 10)  # 9 usable rows: at most 0.9
    assert len(price_range.scores) == 9 and price_range.score_at(0.9) == pytest.approx(10 / np.sqrt(90))
    with pytest.raises(
        ValueError, match="interval 0.95 is beyond what 9 calibration rows can guarantee: at most 0.9000"
    ):
        price_range.bounds([100.0], 0.95)


@pytest.mark.parametrize("interval", [0, 1, 1.5, -0.2, "0.8", None])
def test_an_interval_outside_0_to_1_is_refused_naming_it(interval):
    with pytest.raises(ValueError, match="interval must be a share between 0 and 1"):
        check_interval(interval)


def reference() -> pd.DataFrame:
    """Six listings on a line going east from (40.73, -73.95), 1 km apart, alternating room types."""
    km_per_degree = 111.32 * np.cos(np.radians(40.73))
    rows = [
        {
            "id": 100 + i,
            "name": f"listing {i}",
            "neighbourhood_group": "Manhattan",
            "neighbourhood": f"hood {i}",
            "room_type": "Entire home/apt" if i % 2 == 0 else "Private room",
            "latitude": 40.73,
            "longitude": -73.95 + i / km_per_degree,
            "minimum_nights": 2,
            "price": 100 + 10 * i,
        }
        for i in range(6)
    ]
    rows.append({**rows[0], "id": 200, "name": "monthly", "minimum_nights": 30, "longitude": -73.95})
    return reference_rows(pd.DataFrame(rows))


def test_comparables_are_of_the_same_room_type_nearest_first_and_never_the_listing_itself():
    comparables = Comparables(reference())
    asked = pd.DataFrame(
        [
            {"id": 100.0, "room_type": "Entire home/apt", "latitude": 40.73, "longitude": -73.95, "minimum_nights": 2},
            {"id": "9", "room_type": "Private room", "latitude": 40.73, "longitude": -73.95, "minimum_nights": None},
            {"id": 7, "room_type": "Entire home/apt", "latitude": None, "longitude": -73.95, "minimum_nights": 2},
            {"id": 8, "room_type": "Shared room", "latitude": 40.73, "longitude": -73.95, "minimum_nights": 2},
        ]
    )
    found = comparables.find(asked, k=2)
    # listing 100 (read back as 100.0) is not its own comparable; the 30-night one at 0 km is ln(31/3) = 2.3 units
    # away, nearer than listing 104 at 4 km
    assert [c["id"] for c in found[0]] == ["102", "200"]
    assert [c["distance_km"] for c in found[0]] == [2.0, 0.0]
    assert [c["id"] for c in found[1]] == ["101", "103"] and {c["room_type"] for c in found[1]} == {"Private room"}
    assert found[2] == [] and found[3] == []  # no location; a room type the week has none of
    assert set(found[0][0]) == {"id", "name", "neighbourhood", "room_type", "minimum_nights", "distance_km", "price"}
    json.dumps(found)  # plain values, ready for the model's JSON column
    # ids above 2**53 (Inside Airbnb's newer ones) are compared with all their digits: 2**60 + 1 is another listing
    big = reference().assign(id=lambda frame: [str(2**60 + n) for n in range(len(frame))])
    alike = Comparables(reference_rows(big)).find(asked.head(1).assign(id=[2**60 + 1]), k=1)
    assert alike[0][0]["id"] == str(2**60)  # listing 100's spot, not excluded as the listing itself
    monthly = asked.head(1).assign(id=1, minimum_nights=30)
    assert comparables.find(monthly, k=1)[0][0]["id"] == "200"  # a monthly rental's first comparable is monthly
