import datetime as dt
import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from nyc_rental.core.cleaning import clean_listings
from nyc_rental.core.delivery import RAW_COLUMNS
from nyc_rental.core.evaluation import input_importance
from nyc_rental.core.features import (
    ListingColumns,
    OutOfFoldPrediction,
    TitleVectorizer,
    boosting_features,
    model_input,
)
from nyc_rental.core.splitting import assign_splits
from nyc_rental.core.training import (
    TRUSTED_TYPES,
    ModelParams,
    best_of,
    build_model,
    fit_candidate,
    predict_prices,
    sweep_grid,
)
from nyc_rental.synthetic import generate_listings


@pytest.fixture(scope="module")
def splits():
    raw = generate_listings(6_000, seed=3).astype(str).replace({"nan": "", "None": ""})
    raw = raw.assign(source_file="d.csv", source_sha256="0", source_line=range(len(raw)), parse_error=None)
    frame = clean_listings(raw[list(RAW_COLUMNS)]).frame
    labels = assign_splits(frame)
    rows = model_input(frame).assign(price=frame.price)
    return {name: rows[labels == name] for name in ("train", "val", "test")}


@pytest.fixture(scope="module", params=["random_forest", "gradient_boosting"])
def fitted(request, splits):
    params = ModelParams(estimator=request.param, n_estimators=20, max_iter=50)
    # One thread, as the model step does in a backfill: OpenMP threads slow down many times over when another
    # process shares the cores (the thread count does not change the model: see the last test).
    with threadpool_limits(limits=1):
        return fit_candidate(params, splits["train"], splits["val"])


def test_models_learn_something(fitted, splits):
    assert fitted.validation.r2 > 0.3
    assert fitted.validation.rows == len(splits["val"])


def test_models_predict_for_gaps_unseen_categories_and_text_inputs(fitted, splits):
    rows = splits["test"].drop(columns="price").head(6).copy()
    rows.iloc[0, :] = None  # every value missing
    rows.loc[rows.index[1], "room_type"] = "Hotel room"
    rows.loc[rows.index[2], "neighbourhood"] = "Atlantis"
    rows.loc[rows.index[3], "neighbourhood_group"] = "New Jersey"
    rows.loc[rows.index[4], "last_review"] = "not a date"
    as_text = rows.astype(object).where(rows.notna(), None).astype(str)  # numbers written as text
    for frame in (rows, as_text, rows.drop(columns=["name", "latitude"])):
        prices = predict_prices(fitted.model, frame)
        assert len(prices) == 6 and np.isfinite(prices).all() and (prices >= 0).all()


def test_the_forest_is_the_course_forest():
    forest = build_model(ModelParams(estimator="random_forest")).named_steps["regressor"]
    assert (forest.n_estimators, forest.max_depth, forest.min_samples_split, forest.min_samples_leaf) == (100, 15, 4, 3)
    assert (forest.max_features, forest.criterion, forest.oob_score) == (0.5, "squared_error", True)
    tfidf = build_model(ModelParams(estimator="random_forest")).named_steps["features"].transformers[-1][1]
    assert tfidf.steps[-1][1].max_features == 5


def test_the_course_grid_for_the_forest():
    grid = sweep_grid(ModelParams(estimator="random_forest"))
    assert len(grid) == 15
    assert {(p.max_tfidf_features, p.max_features) for p in grid} == {
        (t, f) for t in (10, 15, 30) for f in (0.1, 0.33, 0.5, 0.75, 1.0)
    }
    assert len(sweep_grid(ModelParams())) == 8


def test_best_of_picks_the_lowest_validation_mae(splits):
    with threadpool_limits(limits=1):  # see `fitted`
        candidates = [
            fit_candidate(ModelParams(max_iter=n, estimator="gradient_boosting"), splits["train"], splits["val"])
            for n in (2, 30)
        ]
    assert best_of(candidates) is candidates[1]


def test_an_unknown_estimator_is_refused():
    with pytest.raises(ValueError, match="unknown estimator 'svm'"):
        build_model(ModelParams(estimator="svm"))
    with pytest.raises(ValueError, match="unknown boosting_target 'median'"):
        build_model(ModelParams(boosting_target="median"))


def test_the_fitted_model_round_trips_through_skops_with_the_trusted_types(fitted, splits):
    import skops.io

    data = skops.io.dumps(fitted.model)
    assert set(skops.io.get_untrusted_types(data=data)) <= set(TRUSTED_TYPES)
    # the boosters' trees are saved as a few arrays, not as one object (and four files) per tree
    assert "TreePredictor" not in zipfile.ZipFile(io.BytesIO(data)).read("schema.json").decode()
    loaded = skops.io.loads(data, trusted=TRUSTED_TYPES)
    rows = splits["test"].drop(columns="price")
    # (rtol: the forest adds its trees up in whatever order its threads finish; see the last test)
    np.testing.assert_allclose(predict_prices(loaded, rows), predict_prices(fitted.model, rows), rtol=1e-12)


def test_a_title_vocabulary_is_saved_as_one_array_and_loads_as_it_was(splits):
    """skops would write a vocabulary term by term into its JSON schema: most of a default model's file and of
    the seconds it takes to write it and read it back."""
    import json

    import skops.io

    titles = splits["train"]["name"]
    vectorizer = TitleVectorizer(ngram_range=(1, 2), min_df=2).fit(titles)
    assert len(vectorizer.vocabulary_) > 100
    data = skops.io.dumps(vectorizer)
    schema = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("schema.json"))
    assert schema["content"]["content"]["vocabulary_"]["__loader__"] == "NdArrayNode"
    loaded = skops.io.loads(data, trusted=TRUSTED_TYPES)
    assert loaded.vocabulary_ == vectorizer.vocabulary_
    assert isinstance(vectorizer.vocabulary_, dict)  # saving changed nothing of the fitted object
    assert (loaded.transform(titles) != vectorizer.transform(titles)).nnz == 0


def test_an_out_of_fold_prediction_never_sees_the_rows_own_price():
    from sklearn.neighbors import KNeighborsRegressor

    X = np.arange(50, dtype=float).reshape(-1, 1)
    y = np.random.default_rng(0).uniform(20, 300, 50)
    stacked = OutOfFoldPrediction(KNeighborsRegressor(n_neighbors=1), random_state=1)
    at_fit = stacked.fit_transform(X, y).ravel()  # a 1-nearest-neighbour fit would return each row's own price
    assert not np.isclose(at_fit, np.log1p(y)).any()
    np.testing.assert_allclose(stacked.transform(X).ravel(), np.log1p(y))  # afterwards: from every row


def test_the_stacked_features_of_a_training_row_do_not_depend_on_its_own_price(splits):
    rows = ListingColumns().transform(splits["train"].drop(columns="price"))
    price = splits["train"].price.to_numpy(dtype=float)
    changed = price.copy()
    changed[0] *= 10
    features = boosting_features(20, target_encoding=True, title_model=True, seed=5)
    before = features.fit_transform(rows, price)
    after = boosting_features(20, target_encoding=True, title_model=True, seed=5).fit_transform(rows, changed)
    stacked = slice(-3, None)  # the neighbourhood's and the host's price levels, the title's price
    np.testing.assert_array_equal(before[0, stacked], after[0, stacked])
    assert not np.array_equal(before[1:, stacked], after[1:, stacked])  # other rows do learn from it


def test_model_input_keeps_the_delivery_columns_but_price():
    rows = pd.DataFrame({"id": ["1"], "price": [10], "last_review": [pd.Timestamp("2019-05-01")], "extra": [1]})
    frame = model_input(rows)
    assert "price" not in frame and "extra" not in frame and len(frame.columns) == 15
    assert frame.loc[0, "id"] == "1" and frame.loc[0, "last_review"] == "2019-05-01"
    assert frame["name"].isna().all()
    # the id is carried as text, never read: an id above 2**53 (Inside Airbnb's newer ones) keeps every digit
    assert model_input(pd.DataFrame({"id": [2**60 + 1]})).loc[0, "id"] == str(2**60 + 1)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([1, "2", None, np.nan, 3.5, pd.NA, True, dt.date(2019, 1, 2), pd.Timestamp("2019-03-04 05:06")]),
        pd.Series(["a", None, np.nan, "", " b "], dtype="string"),
        pd.Series(["a", None, np.nan, ""], dtype=object),
        pd.Series(pd.to_datetime(["2019-05-01 10:00", None])),
        pd.Series(pd.to_datetime(["2019-05-01 23:30", None]).tz_localize("America/New_York")),
        pd.Series([np.nan, np.nan]),
    ],
    ids=["mixed", "string", "text", "datetime", "zoned", "gaps"],
)
def test_model_input_gives_every_text_input_as_text_or_none_whatever_its_type(column):
    """Whole-column conversions where the column's type allows: the same text, value by value, as converting each
    value on its own (dates as YYYY-MM-DD in their own zone, gaps as None, anything else as str)."""

    def as_text(value):
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return None
        return value.strftime("%Y-%m-%d") if isinstance(value, dt.date) else str(value)

    expected = [as_text(value) for value in column.astype(object)]
    for name in ("id", "name", "last_review"):
        converted = model_input(pd.DataFrame({name: column}))[name]
        assert converted.dtype == object and converted.tolist() == expected


@pytest.mark.parametrize("estimator", ["random_forest", "gradient_boosting"])
def test_the_thread_count_does_not_change_the_model(estimator, splits):
    """The model step picks its threads by load (all cores alone, one in a backfill): the week's model must
    not depend on that choice. (The forest averages its trees in whatever order its threads finish, so its
    predictions may differ in the last bits.)"""
    params = ModelParams(estimator=estimator, n_estimators=20, max_iter=20)
    predictions = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads):
            model = fit_candidate(params, splits["train"], splits["val"]).model
            predictions.append(predict_prices(model, splits["test"].drop(columns="price")))
    np.testing.assert_allclose(predictions[0], predictions[1], rtol=1e-12)


def test_the_importance_is_scikit_learns_permutation_importance_of_the_whole_model(fitted, splits):
    """Each shuffle recomputes only the features that read the shuffled column: the figures must be those of
    shuffling the whole model's input."""
    from sklearn.inspection import permutation_importance

    rows = splits["val"].sample(n=300, random_state=42)
    features = rows.drop(columns="price")
    expected = permutation_importance(
        fitted.model, features, rows.price.to_numpy(), scoring="neg_mean_absolute_error", n_repeats=1, random_state=42
    )
    importance = input_importance(fitted.model, rows, max_rows=300)
    expected = pd.Series(expected.importances_mean, index=features.columns)
    assert (expected.abs() > 0.5).sum() >= 3  # shuffles that matter, not only zeros
    pd.testing.assert_series_equal(importance.sort_index(), expected.sort_index(), rtol=1e-12)


def test_an_input_the_model_never_reads_has_no_importance(fitted, splits):
    """The importance on `model`'s page: the unshuffled score and each shuffle's on the same sampled rows, so
    shuffling a column the model never reads (the listing's id, the host's name) changes nothing."""
    val = splits["val"]
    assert len(val) > 500  # more than it scores here: it draws its rows
    importance = input_importance(fitted.model, val, max_rows=500)
    assert abs(importance["id"]) < 1e-9 and abs(importance["host_name"]) < 1e-9, importance
    assert importance.iloc[0] > 1  # what the model does read matters, in dollars of val MAE
