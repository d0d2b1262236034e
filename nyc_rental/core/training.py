"""The price models: the course's random forest (the baseline) and our default gradient boosting.

The default (issue 13) averages two boosters, one on the price (absolute error) and one on its log (squared
error), over the listing's columns plus two stacked features: the neighbourhood's and the host's price level
(cross-fitted target encoding) and the price a ridge regression reads in the title. benchmarks/CANDIDATES.md
has the figures of each idea.

A model is a scikit-learn Pipeline from listing rows in the delivery's columns to a nightly price.
scikit-learn is imported when a model is built, not with this module: the code location reads `ModelParams`
for its run config and must load without it.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from nyc_rental.core.evaluation import Scores, score

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

TARGET = "price"
ESTIMATORS = ("gradient_boosting", "random_forest")
# What a saved pipeline holds beyond scikit-learn's defaults, for MLflow's skops serialization: our own
# transformers and booster, the voting ensemble's Bunch of its members and the target encoder's folds (a file
# we wrote ourselves, so trusted); TreePredictor is in the versions saved before the booster packed its trees.
TRUSTED_TYPES = [
    "functools.partial",
    "nyc_rental.core.boosting.Booster",
    "nyc_rental.core.features.DaysSince",
    "nyc_rental.core.features.ListingColumns",
    "nyc_rental.core.features.OutOfFoldPrediction",
    "nyc_rental.core.features.TitleVectorizer",
    "nyc_rental.core.features._as_documents",
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.model_selection._split.KFold",
    "sklearn.tree._tree.Tree",
    "sklearn.utils._bunch.Bunch",
    "sklearn.utils.validation.check_array",
]


@dataclass(frozen=True)
class ModelParams:
    """Hyperparameters of both estimators; each reads its own. Defaults: the course's forest, our booster."""

    estimator: str = field(
        default="gradient_boosting", metadata={"description": "'gradient_boosting' or 'random_forest'"}
    )
    random_seed: int = 42
    # the course's random forest, exactly
    max_tfidf_features: int = 5
    n_estimators: int = 100
    max_depth: int = 15
    min_samples_split: int = 4
    min_samples_leaf: int = 3
    max_features: float = 0.5
    criterion: str = "squared_error"
    oob_score: bool = True
    # gradient boosting
    boosting_tfidf_features: int = 100
    learning_rate: float = 0.1
    max_iter: int = 200
    max_leaf_nodes: int = 63
    l2_regularization: float = 1.0
    boosting_min_samples_leaf: int = 20
    boosting_max_features: float = 0.5  # each split looks at half of the features: the two boosters differ more
    boosting_target: str = field(
        default="both",
        metadata={
            "description": "'price' (absolute error on the price), 'log' (squared error on log(1 + price)) "
            "or 'both' (the average of the two boosters)"
        },
    )
    target_encoding: bool = field(
        default=True, metadata={"description": "the neighbourhood's and the host's price level (cross-fitted)"}
    )
    title_model: bool = field(
        default=True,
        metadata={"description": "the price a ridge regression reads in the title's words and letters (out-of-fold)"},
    )

    def relevant(self) -> dict:
        """The parameters that shape this estimator, as they are logged."""
        shared = {"estimator": self.estimator, "random_seed": self.random_seed}
        if self.estimator == "random_forest":
            names = ("max_tfidf_features", "n_estimators", "max_depth", "min_samples_split", "min_samples_leaf")
            names += ("max_features", "criterion", "oob_score")
        else:
            names = ("boosting_tfidf_features", "learning_rate", "max_iter", "max_leaf_nodes", "l2_regularization")
            names += ("boosting_min_samples_leaf", "boosting_max_features", "boosting_target")
            names += ("target_encoding", "title_model")
        return shared | {name: getattr(self, name) for name in names}


def build_model(params: ModelParams) -> Pipeline:
    """An unfitted pipeline for `params.estimator`."""
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.ensemble import RandomForestRegressor, VotingRegressor
    from sklearn.pipeline import Pipeline

    from nyc_rental.core.boosting import Booster
    from nyc_rental.core.features import CATEGORICAL, ListingColumns, boosting_features, course_features

    if params.estimator == "random_forest":
        forest = RandomForestRegressor(
            n_estimators=params.n_estimators,
            max_depth=params.max_depth,
            min_samples_split=params.min_samples_split,
            min_samples_leaf=params.min_samples_leaf,
            max_features=params.max_features,
            criterion=params.criterion,
            oob_score=params.oob_score,
            n_jobs=-1,
            random_state=params.random_seed,
        )
        return Pipeline(
            [
                ("columns", ListingColumns()),
                ("features", course_features(params.max_tfidf_features)),
                ("regressor", forest),
            ]
        )
    if params.estimator == "gradient_boosting":

        def booster(loss: str) -> Booster:
            return Booster(
                loss=loss,
                learning_rate=params.learning_rate,
                max_iter=params.max_iter,
                max_leaf_nodes=params.max_leaf_nodes,
                l2_regularization=params.l2_regularization,
                min_samples_leaf=params.boosting_min_samples_leaf,
                max_features=params.boosting_max_features,
                categorical_features=list(range(len(CATEGORICAL))),
                early_stopping=False,
                random_state=params.random_seed,
            )

        on_price = booster("absolute_error")
        on_log = TransformedTargetRegressor(
            booster("squared_error"), func=np.log1p, inverse_func=np.expm1, check_inverse=False
        )
        regressors = {"price": on_price, "log": on_log, "both": VotingRegressor([("price", on_price), ("log", on_log)])}
        if params.boosting_target not in regressors:
            choices = ", ".join(regressors)
            raise ValueError(f"unknown boosting_target {params.boosting_target!r}: choose one of {choices}")
        regressor = regressors[params.boosting_target]
        features = boosting_features(
            params.boosting_tfidf_features,
            target_encoding=params.target_encoding,
            title_model=params.title_model,
            seed=params.random_seed,
        )
        return Pipeline([("columns", ListingColumns()), ("features", features), ("regressor", regressor)])
    raise ValueError(f"unknown estimator {params.estimator!r}: choose one of {', '.join(ESTIMATORS)}")


def sweep_grid(params: ModelParams) -> list[ModelParams]:
    """Candidates around `params`: the course's grid for the forest, ours for the booster."""
    if params.estimator == "random_forest":
        axes = {"max_tfidf_features": (10, 15, 30), "max_features": (0.1, 0.33, 0.5, 0.75, 1.0)}
    else:
        axes = {"learning_rate": (0.05, 0.1), "max_leaf_nodes": (31, 63), "boosting_tfidf_features": (50, 100)}
    return [replace(params, **dict(zip(axes, values))) for values in itertools.product(*axes.values())]


@dataclass
class Candidate:
    params: ModelParams
    model: Pipeline
    validation: Scores
    fit_seconds: float
    extras: dict = field(default_factory=dict)
    val_predicted: np.ndarray | None = None  # the served prices of the val rows: what the price range calibrates on


def fit_candidate(params: ModelParams, train: pd.DataFrame, val: pd.DataFrame) -> Candidate:
    """Fit on `train`, score on `val`."""
    model = build_model(params)
    started = time.perf_counter()
    model.fit(train.drop(columns=[TARGET]), train[TARGET].to_numpy(dtype=float))
    seconds = time.perf_counter() - started
    predicted = model.predict(val.drop(columns=[TARGET]))
    validation = score(val[TARGET], predicted)
    extras = {}
    if params.estimator == "random_forest" and params.oob_score:
        extras["oob_r2"] = float(model.named_steps["regressor"].oob_score_)
    return Candidate(params, model, validation, seconds, extras, np.clip(predicted, 0.0, None))


def best_of(candidates: list[Candidate]) -> Candidate:
    """The candidate with the lowest validation MAE (the first one on a tie)."""
    return min(candidates, key=lambda c: c.validation.mae)


def predict_prices(model, rows: pd.DataFrame) -> np.ndarray:
    """Nightly prices for listing rows; never negative."""
    return np.clip(model.predict(rows), 0.0, None)
