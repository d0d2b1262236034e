"""Scoring a model: MAE and R², per group, and the plots a user reads."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Scores:
    mae: float
    r2: float
    rows: int


def score(actual, predicted) -> Scores:
    from sklearn.metrics import mean_absolute_error, r2_score

    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    return Scores(float(mean_absolute_error(actual, predicted)), float(r2_score(actual, predicted)), len(actual))


def mae_by(rows: pd.DataFrame, predicted, column: str, target: str = "price") -> dict[str, float]:
    """MAE per value of `column` (per borough, per room type)."""
    errors = (rows[target].to_numpy(dtype=float) - np.asarray(predicted, dtype=float)).__abs__()
    grouped = pd.Series(errors, index=rows.index).groupby(rows[column].fillna("(missing)"))
    return {str(name): round(float(value), 4) for name, value in grouped.mean().items()}


def promotion(
    test_mae: float,
    champion_version: str | None,
    champion_mae: float | None,
    version: str,
    tolerance: float,
    week: str | None = None,
    champion_week: str | None = None,
) -> tuple[bool, str]:
    """Whether the week's model takes the champion's place, and why.

    It does when there is no champion, or when its week (ISO date) is not older than the champion's week and
    its test MAE is not worse than the champion's on the same rows by more than `tolerance` dollars. The
    champion prices today's listings: a backfill of older weeks records their scores and the comparison but
    never hands the alias back to a model of older data.
    """
    if champion_version is None:
        return True, "no champion yet"
    if champion_mae is None:
        return True, f"version {version} is already the champion"
    scores = f"test MAE {test_mae:.2f}, champion v{champion_version}'s {champion_mae:.2f}"
    if week and champion_week and week < champion_week:
        return False, f"week {week} is older than champion v{champion_version}'s week {champion_week} ({scores})"
    comparison = f"champion v{champion_version}'s {champion_mae:.2f} by more than {tolerance:g}"
    if test_mae <= champion_mae + tolerance:
        return True, f"test MAE {test_mae:.2f} is not worse than {comparison}"
    return False, f"test MAE {test_mae:.2f} is worse than {comparison}"


def input_importance(
    model, rows: pd.DataFrame, target: str = "price", seed: int = 42, max_rows: int = 1000
) -> pd.Series:
    """How much validation MAE grows when each input column is shuffled: comparable across estimators.

    A diagnostic plot, not a metric: it shuffles each column once, on at most `max_rows` rows drawn first. The
    rows are drawn before scoring, not with scikit-learn's `max_samples`, which scores the unshuffled baseline
    on every row and each shuffle on the sample: every importance would be off by the difference (a column the
    model never reads would not score 0). Each shuffle computes only the features that read the shuffled column
    (`_UnshuffledFeaturesOnce`): the title's n-grams, most of a prediction's time, are read again only when the
    title is shuffled.
    """
    from sklearn.inspection import permutation_importance

    if len(rows) > max_rows:
        rows = rows.sample(n=max_rows, random_state=seed)
    features = rows.drop(columns=[target])
    result = permutation_importance(
        _UnshuffledFeaturesOnce.of(model, features),
        features,
        rows[target].to_numpy(dtype=float),
        scoring="neg_mean_absolute_error",
        n_repeats=1,
        random_state=seed,
        n_jobs=1,
    )
    return pd.Series(result.importances_mean, index=features.columns).sort_values(ascending=False)


class _UnshuffledFeaturesOnce:
    """A fitted Pipeline([first step, ColumnTransformer, regressor]) predicting rows that differ from `rows` in some
    columns: each of the ColumnTransformer's parts that reads none of the columns the first step's output changed
    in is computed once, on `rows`, and reused. The predictions are the model's own."""

    def __init__(self, model, rows: pd.DataFrame):
        self.model = model
        (_, self.first), (_, self.features), (_, self.regressor) = model.steps
        self.typed = self.first.transform(rows)
        self.parts = {}
        self.features_of(self.typed, record=True)

    @classmethod
    def of(cls, model, rows: pd.DataFrame):
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline

        steps = [step for _, step in model.steps] if isinstance(model, Pipeline) else []
        if len(steps) != 3 or not isinstance(steps[1], ColumnTransformer) or not hasattr(steps[0], "transform"):
            return model  # another shape of model: predicted whole for each shuffle
        return cls(model, rows)

    def __sklearn_tags__(self):  # what scikit-learn's scorers ask an estimator: the model's answers
        return self.model.__sklearn_tags__()

    def fit(self, X, y=None):  # scikit-learn's scorers want an estimator; this one is fitted already
        return self

    def predict(self, X):
        return self.regressor.predict(self.features_of(self.first.transform(X)))

    def features_of(self, typed: pd.DataFrame, record: bool = False):
        changed = {name for name in typed.columns if not typed[name].equals(self.typed[name])}
        parts = []
        for name, part, columns in self.features.transformers_:
            read = {columns} if isinstance(columns, str) else set(columns) if _all_names(columns) else None
            if not record and name in self.parts and read is not None and not read & changed:
                part = _Replay(self.parts[name])
            elif record and not isinstance(part, str):
                part = _Record(part, self.parts, name)
            parts.append((name, part, columns))
        features = copy.copy(self.features)
        features.transformers_ = parts
        return features.transform(typed)


def _all_names(columns) -> bool:
    return isinstance(columns, (list, tuple)) and all(isinstance(name, str) for name in columns)


class _Record:
    def __init__(self, part, parts: dict, name: str):
        self.part, self.parts, self.name = part, parts, name

    def transform(self, X, **params):
        self.parts[self.name] = self.part.transform(X, **params)
        return self.parts[self.name]


class _Replay:
    def __init__(self, output):
        self.output = output

    def transform(self, X, **params):
        return self.output


def importance_figure(importance: pd.Series, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = importance[importance.abs() > 0].head(15)[::-1]
    figure, axis = plt.subplots(figsize=(7, 0.35 * len(shown) + 1.2))
    axis.barh(shown.index, shown.values, color="#4c78a8")
    axis.set_xlabel("increase in validation MAE when shuffled ($)")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def predicted_vs_actual_figure(actual, predicted, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.5, 5.5))
    axis.scatter(actual, predicted, s=3, alpha=0.25, color="#4c78a8")
    top = float(max(np.max(actual), np.max(predicted)))
    axis.plot([0, top], [0, top], color="#e45756", linewidth=1)
    axis.set_xlabel("actual nightly price ($)")
    axis.set_ylabel("predicted nightly price ($)")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def binned_means(actual, predicted, bins: int = 10) -> list[tuple[float, float]]:
    """Mean actual and mean predicted price within each `bins`-quantile of the actual price, lowest first: the
    predicted-vs-actual scatter as a line a few characters long (a good model's line follows y = x)."""
    frame = pd.DataFrame({"actual": np.asarray(actual, dtype=float), "predicted": np.asarray(predicted, dtype=float)})
    groups = pd.qcut(frame.actual.rank(method="first"), min(bins, len(frame)), labels=False)
    means = frame.groupby(groups).mean()
    return list(zip(means.actual.round(2), means.predicted.round(2)))
