"""The registered model's skops file, as the steps of one run load it: the same bytes are deserialized once."""

import shutil

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from nyc_rental.ml import serving


def fitted(slope: float) -> LinearRegression:
    x = np.arange(6, dtype=float).reshape(-1, 1)
    return LinearRegression().fit(x, slope * x.ravel())


def test_a_file_whose_bytes_were_loaded_gives_the_pipeline_loaded_then_and_other_bytes_are_loaded(tmp_path):
    for folder in ("logged", "registered", "other"):
        (tmp_path / folder).mkdir()
    logged = serving.save_pipeline(fitted(2.0), tmp_path / "logged")
    # MLflow's check of the input example loads the logged copy; test_metrics, the registered version's download
    first = serving.load_pipeline(logged)
    registered = shutil.copy(logged, tmp_path / "registered" / serving.PIPELINE_FILE)
    assert serving.load_pipeline(registered) is first
    assert first.predict([[10.0]])[0] == pytest.approx(20.0)

    other_file = serving.save_pipeline(fitted(3.0), tmp_path / "other")
    other = serving.load_pipeline(other_file)
    assert other is not first and other.predict([[10.0]])[0] == pytest.approx(30.0)
    assert serving.load_pipeline(logged) is first  # the week's version and the champion: both kept

    serving.save_pipeline(fitted(5.0), tmp_path / "logged")  # new bytes at the same path
    assert serving.load_pipeline(logged).predict([[10.0]])[0] == pytest.approx(50.0)
    # two other files since the first pipeline was last loaded: its bytes are loaded again, into a new pipeline
    assert serving.load_pipeline(other_file) is not other
    again = serving.load_pipeline(registered)
    assert again is not first and again.predict([[10.0]])[0] == pytest.approx(20.0)
