import numpy as np
import pandas as pd
import pytest

from nyc_rental.core.evaluation import binned_means, mae_by, promotion, score


def test_the_first_model_becomes_champion():
    assert promotion(30.0, None, None, "1", 0.0) == (True, "no champion yet")


@pytest.mark.parametrize(
    "mae, champion_mae, tolerance, promoted",
    [(30.0, 31.0, 0.0, True), (31.0, 31.0, 0.0, True), (31.5, 31.0, 0.0, False), (31.5, 31.0, 1.0, True)],
)
def test_the_week_model_takes_over_unless_worse_than_the_champion_by_more_than_the_tolerance(
    mae, champion_mae, tolerance, promoted
):
    decided, reason = promotion(mae, "4", champion_mae, "5", tolerance)
    assert decided is promoted
    assert "champion v4's 31.00" in reason


def test_a_model_of_an_older_week_never_takes_over_from_a_newer_champion():
    decided, reason = promotion(20.0, "7", 31.0, "8", 5.0, week="2019-01-07", champion_week="2019-07-01")
    assert decided is False
    assert reason == "week 2019-01-07 is older than champion v7's week 2019-07-01 (test MAE 20.00, champion v7's 31.00)"
    assert promotion(20.0, "7", 31.0, "8", 0.0, week="2019-07-01", champion_week="2019-07-01")[0] is True
    assert promotion(20.0, "7", 31.0, "8", 0.0, week="2019-07-08", champion_week="2019-07-01")[0] is True


def test_scores_and_mae_per_group():
    rows = pd.DataFrame({"price": [100.0, 200.0, 50.0], "room_type": ["a", "a", None]})
    predicted = np.array([110.0, 180.0, 50.0])
    assert score(rows.price, predicted).mae == pytest.approx(10.0)
    assert mae_by(rows, predicted, "room_type") == {"(missing)": 0.0, "a": 15.0}


def test_binned_means_follow_the_diagonal_for_a_perfect_model_and_show_a_flat_one():
    actual = list(range(10, 110))
    assert binned_means(actual, actual) == [(14.5 + 10 * i, 14.5 + 10 * i) for i in range(10)]
    flat = binned_means(actual, [50.0] * 100, bins=4)
    assert [round(a, 1) for a, _ in flat] == [22.0, 47.0, 72.0, 97.0] and {p for _, p in flat} == {50.0}
