import numpy as np
import pandas as pd
import pytest

from nyc_rental.core.evaluation import mae_by, promotion, score


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


def test_scores_and_mae_per_group():
    rows = pd.DataFrame({"price": [100.0, 200.0, 50.0], "room_type": ["a", "a", None]})
    predicted = np.array([110.0, 180.0, 50.0])
    assert score(rows.price, predicted).mae == pytest.approx(10.0)
    assert mae_by(rows, predicted, "room_type") == {"(missing)": 0.0, "a": 15.0}
