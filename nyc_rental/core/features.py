"""Features: from listing rows in the delivery's columns to a model's inputs.

Every pipeline starts with `ListingColumns`, which types the columns it reads and tolerates anything a
delivery or an HTTP request can hold: numbers as text, missing values in any column, missing columns,
categories never seen in training. Nothing here may raise on a row a user sends.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder

from nyc_rental.core.delivery import REQUIRED_COLUMNS

CATEGORICAL = ("room_type", "neighbourhood_group", "neighbourhood")
NUMERIC = (
    "minimum_nights",
    "number_of_reviews",
    "reviews_per_month",
    "calculated_host_listings_count",
    "availability_365",
    "longitude",
    "latitude",
)
DATE = "last_review"
TEXT = "name"
HOST = "host_id"
HOST_NAME = "host_name"
IDS = ("id", HOST)  # numbered in order of creation: how old the listing and the host's account are
NO_REVIEW_DATE = "2010-01-01"  # the course's stand-in for listings never reviewed
# What the deployed model takes: a delivery's columns but the price.
INPUT_COLUMNS = tuple(name for name in REQUIRED_COLUMNS if name != "price")
TEXT_INPUTS = ("name", "host_name", "neighbourhood_group", "neighbourhood", "room_type", "last_review")


def _as_text(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.strftime("%Y-%m-%d")
    return str(value)


def model_input(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows as the deployed model takes them: the delivery's columns but price, numbers as floats, text as
    text (dates as YYYY-MM-DD). Missing columns become missing values."""
    frame = rows.reindex(columns=list(INPUT_COLUMNS))
    for name in INPUT_COLUMNS:
        if name in TEXT_INPUTS:
            frame[name] = frame[name].astype(object).map(_as_text)
        else:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return frame


class ListingColumns(BaseEstimator, TransformerMixin):
    """The feature columns, typed: numbers as floats, the review date as a date, text as text."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        out = pd.DataFrame(index=frame.index)
        for name in CATEGORICAL:
            values = frame[name] if name in frame else pd.Series(np.nan, index=frame.index)
            values = values.astype(object)
            out[name] = values.where(values.notna() & (values.astype(str).str.strip() != ""), np.nan)
        for name in NUMERIC:
            values = frame[name] if name in frame else pd.Series(np.nan, index=frame.index)
            out[name] = pd.to_numeric(values, errors="coerce").astype(float)
        dates = frame[DATE] if DATE in frame else pd.Series(None, index=frame.index)
        out[DATE] = pd.to_datetime(dates, errors="coerce", format="mixed")
        text = frame[TEXT] if TEXT in frame else pd.Series("", index=frame.index)
        out[TEXT] = text.fillna("").astype(str)
        for name in IDS:
            values = frame[name] if name in frame else pd.Series(np.nan, index=frame.index)
            out[name] = pd.to_numeric(values, errors="coerce").astype(float)
        names = frame[HOST_NAME] if HOST_NAME in frame else pd.Series(np.nan, index=frame.index)
        out[HOST_NAME] = names.astype(object).where(names.notna(), np.nan)
        return out


class DaysSince(BaseEstimator, TransformerMixin):
    """Days between a date and the latest date seen in training; a missing date counts as 2010-01-01.

    The course measured against the latest date of whatever batch it was given, so a single row always
    scored 0; the reference learned at fit time gives every row the same meaning.
    """

    def fit(self, X, y=None):
        dates = _dates(X)
        latest = dates.max() if dates.notna().any() else pd.Timestamp(NO_REVIEW_DATE)
        self.reference_ = latest.strftime("%Y-%m-%d")  # text: portable through any serializer
        return self

    def transform(self, X):
        dates = _dates(X).fillna(pd.Timestamp(NO_REVIEW_DATE))
        return ((pd.Timestamp(self.reference_) - dates).dt.days.astype(float)).to_numpy().reshape(-1, 1)

    def get_feature_names_out(self, input_features=None):
        return np.array(["days_since_last_review"], dtype=object)


def _dates(X) -> pd.Series:
    column = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else pd.Series(np.asarray(X).ravel())
    return pd.to_datetime(column, errors="coerce")


def _as_documents(X) -> np.ndarray:
    return np.asarray(X, dtype=object).ravel()


def _tfidf(max_features: int, sublinear_tf: bool = False) -> object:
    return make_pipeline(
        FunctionTransformer(_as_documents, feature_names_out="one-to-one"),
        TfidfVectorizer(max_features=max_features, stop_words="english", sublinear_tf=sublinear_tf),
    )


def course_features(max_tfidf_features: int) -> ColumnTransformer:
    """The course's preprocessing, made robust to unseen categories and missing values."""
    return ColumnTransformer(
        [
            (
                "room_type",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
                ),
                ["room_type"],
            ),
            (
                "borough",
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                ["neighbourhood_group"],
            ),
            ("numeric", SimpleImputer(strategy="constant", fill_value=0, keep_empty_features=True), list(NUMERIC)),
            ("days_since_review", DaysSince(), [DATE]),
            ("name", _tfidf(max_tfidf_features), TEXT),
        ],
        remainder="drop",
    )


def boosting_features(
    max_tfidf_features: int,
    neighbour_prices: bool = False,
    target_encoding: bool = False,
    title_model: bool = False,
    id_numbers: bool = False,
    seed: int = 0,
) -> ColumnTransformer:
    """Dense features for gradient boosting: categories as codes (the booster splits them natively),
    numbers with their gaps (it routes missing values itself), review age and the title's words; optionally
    what nearby listings cost, the neighbourhood's and the host's price level (cross-fitted) and the price a
    ridge regression reads in the title (out-of-fold)."""
    from sklearn.preprocessing import TargetEncoder

    parts = [
        (
            "categories",
            OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=np.nan,
                encoded_missing_value=np.nan,
                min_frequency=5,
            ),
            list(CATEGORICAL),
        ),
        ("numeric", "passthrough", list(NUMERIC)),
        ("days_since_review", DaysSince(), [DATE]),
    ]
    if id_numbers:
        parts.append(("ids", "passthrough", list(IDS)))
    if max_tfidf_features > 0:
        parts.append(("name", _tfidf(max_tfidf_features, sublinear_tf=True), TEXT))
    if neighbour_prices:
        parts.append(("neighbours", NeighbourPrices(random_state=seed), ["room_type", "latitude", "longitude"]))
    if target_encoding:
        encoder = TargetEncoder(target_type="continuous", shuffle=True, random_state=seed)
        parts.append(("price_levels", encoder, ["neighbourhood", HOST] + ([HOST_NAME] if id_numbers else [])))
    if title_model:
        parts.append(("title_price", title_price(seed), TEXT))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False)

def out_of_fold(fit_predict, X, y, n_splits: int, seed: int) -> np.ndarray:
    """`fit_predict(X_fit, y_fit, X_new)` for each of `n_splits` folds of the rows, stacked back in row order:
    every row gets a value from a fit that never saw it (its own price included)."""
    from sklearn.model_selection import KFold

    out = None
    for fit_rows, held_out in KFold(n_splits, shuffle=True, random_state=seed).split(np.zeros(len(y))):
        part = np.asarray(fit_predict(_rows(X, fit_rows), y[fit_rows], _rows(X, held_out)), dtype=float)
        if out is None:
            out = np.full((len(y),) + part.shape[1:], np.nan)
        out[held_out] = part
    return out


def _rows(X, index):
    return X.iloc[index] if isinstance(X, (pd.DataFrame, pd.Series)) else X[index]


class NeighbourPrices(BaseEstimator, TransformerMixin):
    """What the `k` nearest listings of the same room type cost: the mean log price of each count of
    `neighbours`, and the distance (km) to the farthest of the largest count (how dense the area is).

    Location and room type set most of a price, and a tree cuts latitude and longitude only into boxes; this
    hands it the local price level directly. At fit time each row is valued from the other folds' listings
    (`fit_transform`), so the booster never learns from a value that holds the row's own price; afterwards
    from every training listing. A row without coordinates or room type gets NaN (the booster routes gaps).
    It stores plain arrays: the trees are built when needed.
    """

    def __init__(self, neighbours=(5, 25), n_splits=5, random_state=0):
        self.neighbours = neighbours
        self.n_splits = n_splits
        self.random_state = random_state

    def fit(self, X, y):
        self.room_, self.points_, self.log_price_ = self._points(X, np.log1p(np.asarray(y, dtype=float)))
        return self

    def fit_transform(self, X, y):
        self.fit(X, y)
        return out_of_fold(self._values, X, np.asarray(y, dtype=float), self.n_splits, self.random_state)

    def transform(self, X):
        return self._values(None, None, X)

    def _points(self, X, log_price=None):
        room = X["room_type"].astype(object).where(X["room_type"].notna(), None).astype(str).to_numpy()
        latitude = pd.to_numeric(X["latitude"], errors="coerce").to_numpy(dtype=float)
        longitude = pd.to_numeric(X["longitude"], errors="coerce").to_numpy(dtype=float)
        points = np.column_stack([latitude * 111.0, longitude * 84.3])  # km, at New York's latitude
        known = np.isfinite(points).all(axis=1) & (room != "None")
        if log_price is None:
            return room, points, known
        return room[known], points[known], log_price[known]

    def _values(self, X_fit, y_fit, X):
        from sklearn.neighbors import KDTree

        if X_fit is None:
            room_fit, points_fit, price_fit = self.room_, self.points_, self.log_price_
        else:
            room_fit, points_fit, price_fit = self._points(X_fit, np.log1p(y_fit))
        room, points, known = self._points(X)
        out = np.full((len(room), len(self.neighbours) + 1), np.nan)
        largest = max(self.neighbours)
        for value in np.unique(room[known]):
            same = room_fit == value
            rows = np.flatnonzero(known & (room == value))
            if same.sum() < largest:
                continue
            distance, index = KDTree(points_fit[same]).query(points[rows], k=largest)
            prices = price_fit[same][index]
            for column, k in enumerate(self.neighbours):
                out[rows, column] = prices[:, :k].mean(axis=1)
            out[rows, -1] = distance[:, -1]
        return out

    def get_feature_names_out(self, input_features=None):
        names = [f"neighbour_log_price_{k}" for k in self.neighbours] + ["neighbour_distance_km"]
        return np.array(names, dtype=object)


class OutOfFoldPrediction(BaseEstimator, TransformerMixin):
    """The log price that `estimator` predicts from this transformer's columns, as one feature: out-of-fold
    at fit time (each row from a fit on the other folds, never on its own price), from a fit on every
    training row afterwards. It lets a linear model read the many words of a title and hand the booster
    one number (stacking) instead of hundreds of sparse columns."""

    def __init__(self, estimator, n_splits=5, random_state=0):
        self.estimator = estimator
        self.n_splits = n_splits
        self.random_state = random_state

    def fit(self, X, y):
        from sklearn.base import clone

        self.estimator_ = clone(self.estimator).fit(X, np.log1p(np.asarray(y, dtype=float)))
        return self

    def fit_transform(self, X, y):
        from sklearn.base import clone

        self.fit(X, y)
        log_price = np.log1p(np.asarray(y, dtype=float))
        oof = out_of_fold(
            lambda X_fit, y_fit, X_new: clone(self.estimator).fit(X_fit, y_fit).predict(X_new),
            X,
            log_price,
            self.n_splits,
            self.random_state,
        )
        return oof.reshape(-1, 1)

    def transform(self, X):
        return np.asarray(self.estimator_.predict(X), dtype=float).reshape(-1, 1)

    def get_feature_names_out(self, input_features=None):
        return np.array(["predicted_log_price"], dtype=object)


def title_price(seed: int = 0) -> object:
    """The log price a ridge regression reads in the title's words (and word pairs) and character n-grams,
    out-of-fold. The vocabulary and weights are learnt once from every training title: they hold no price."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_union

    return make_pipeline(
        FunctionTransformer(_as_documents, feature_names_out="one-to-one"),
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=3, sublinear_tf=True),
        ),
        OutOfFoldPrediction(Ridge(alpha=3.0, solver="lsqr"), random_state=seed),
    )
