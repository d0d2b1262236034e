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


def boosting_features(max_tfidf_features: int) -> ColumnTransformer:
    """Dense features for gradient boosting: categories as codes (the booster splits them natively),
    numbers with their gaps (it routes missing values itself), review age and the title's words."""
    return ColumnTransformer(
        [
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
            ("name", _tfidf(max_tfidf_features, sublinear_tf=True), TEXT),
        ],
        remainder="drop",
        sparse_threshold=0.0,
        verbose_feature_names_out=False,
    )
