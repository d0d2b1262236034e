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
NO_REVIEW_DATE = "2010-01-01"  # the course's stand-in for listings never reviewed
# What the deployed model takes: a delivery's columns but the price.
INPUT_COLUMNS = tuple(name for name in REQUIRED_COLUMNS if name != "price")
# The input columns the default model reads (host_id through its price levels): `id` and `host_name` are taken
# and carried, never read.
FEATURE_COLUMNS = tuple(name for name in INPUT_COLUMNS if name in {TEXT, HOST, DATE, *CATEGORICAL, *NUMERIC})
# `id` is text: it is carried, never read, and a number would lose the digits of ids above 2**53.
TEXT_INPUTS = ("id", "name", "host_name", "neighbourhood_group", "neighbourhood", "room_type", "last_review")


def _as_text(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _text_column(values: pd.Series) -> pd.Series:
    """`_as_text` of every value, as objects; whole-column operations where the column's type allows them (a week
    of rows holds 390,000 text values: one Python call each took a fifth of a second)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values.dt.strftime("%Y-%m-%d").astype(object).where(values.notna(), None)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):  # text and gaps only
        return values.astype(object).where(values.notna(), None)
    return values.astype(object).map(_as_text)


def model_input(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows as the deployed model takes them: the delivery's columns but price, numbers as floats, text as
    text (dates as YYYY-MM-DD). Missing columns become missing values."""
    frame = rows.reindex(columns=list(INPUT_COLUMNS))
    for name in INPUT_COLUMNS:
        if name in TEXT_INPUTS:
            frame[name] = _text_column(frame[name])
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
        host = frame[HOST] if HOST in frame else pd.Series(np.nan, index=frame.index)
        out[HOST] = pd.to_numeric(host, errors="coerce").astype(float)
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
    max_tfidf_features: int, target_encoding: bool = False, title_model: bool = False, seed: int = 0
) -> ColumnTransformer:
    """Dense features for gradient boosting: categories as codes (the booster splits them natively),
    numbers with their gaps (it routes missing values itself), review age and the title's words; optionally
    the neighbourhood's and the host's price level (cross-fitted) and the price a ridge regression reads in
    the title (out-of-fold)."""
    from sklearn.model_selection import KFold
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
    if max_tfidf_features > 0:
        parts.append(("name", _tfidf(max_tfidf_features, sublinear_tf=True), TEXT))
    if target_encoding:
        # fit_transform encodes each row from the other folds' prices (cross-fitting); unknown: the mean price
        encoder = TargetEncoder(target_type="continuous", cv=KFold(5, shuffle=True, random_state=seed))
        parts.append(("price_levels", encoder, ["neighbourhood", HOST]))
    if title_model:
        parts.append(("title_price", title_price(seed), TEXT))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=False)


class OutOfFoldPrediction(BaseEstimator, TransformerMixin):
    """The log price that `estimator` predicts from this transformer's input, as one feature (stacking): it
    lets a linear model read the thousands of words of the titles and hand the booster one number.

    At fit time every row gets the prediction of a fit on the other folds, never on its own price: with
    in-sample predictions the booster would learn to trust a feature that memorised the training prices.
    Afterwards (`transform`) the prediction comes from a fit on every training row.
    """

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
        from sklearn.model_selection import KFold, cross_val_predict

        self.fit(X, y)
        folds = KFold(self.n_splits, shuffle=True, random_state=self.random_state)
        log_price = np.log1p(np.asarray(y, dtype=float))
        return cross_val_predict(clone(self.estimator), X, log_price, cv=folds).reshape(-1, 1)

    def transform(self, X):
        return np.asarray(self.estimator_.predict(X), dtype=float).reshape(-1, 1)

    def get_feature_names_out(self, input_features=None):
        return np.array(["title_log_price"], dtype=object)


class TitleVectorizer(TfidfVectorizer):
    """TfidfVectorizer whose saved state holds its vocabulary as an array of terms in column order, not a dict.

    skops writes a dict entry by entry into the JSON schema of its file (two nodes per term): the title model's
    two vocabularies, about 18,000 terms for a 45 % week of sample2, made two thirds of a default model's
    schema and of the seconds it takes to write the file and read it back. An array is one .npy entry. The
    fitted object, its features and its predictions are TfidfVectorizer's.
    """

    def __getstate__(self):
        state = dict(super().__getstate__())  # object.__getstate__ is the instance's own __dict__: a copy
        vocabulary = state.get("vocabulary_")
        if isinstance(vocabulary, dict):
            terms = sorted(vocabulary, key=vocabulary.__getitem__)
            state["vocabulary_"] = np.array(terms, dtype=str)
        return state

    def __setstate__(self, state):
        terms = state.get("vocabulary_")
        if isinstance(terms, np.ndarray):
            state = {**state, "vocabulary_": {term: column for column, term in enumerate(terms.tolist())}}
        super().__setstate__(state)


def title_price(seed: int = 0) -> object:
    """The log price a ridge regression reads in the title's words (and word pairs) and character n-grams,
    out-of-fold. The vocabulary and weights are learnt once from every training title: they hold no price."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_union

    return make_pipeline(
        FunctionTransformer(_as_documents, feature_names_out="one-to-one"),
        make_union(
            TitleVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
            TitleVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=3, sublinear_tf=True),
        ),
        OutOfFoldPrediction(Ridge(alpha=3.0, solver="lsqr"), random_state=seed),
    )
