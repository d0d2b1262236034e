"""The modeling half: a validated week split, a model trained and registered, then scored and maybe promoted.

scikit-learn, MLflow and the plots are imported inside `model` and `test_metrics`, the steps that use them, so
loading the code location (every run process, the code server, the daemon) does not pay for them.
"""

import json
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

import numpy as np
import pandas as pd
from dagster import AssetExecutionContext, Config, Failure, MetadataValue, Output
from pydantic import Field

from nyc_rental.core import evaluation, splitting, training
from nyc_rental.defs.assets import weekly_asset
from nyc_rental.defs.assets.columns import model_schema, splits_schema, test_metrics_schema
from nyc_rental.defs.assets.inline_plots import bar_chart, line_chart
from nyc_rental.defs.assets.listings import VALIDATED_COLUMNS
from nyc_rental.defs.assets.metadata import markdown_table
from nyc_rental.defs.config import fields_of
from nyc_rental.defs.partitions import week_of_partition
from nyc_rental.defs.resources import WAREHOUSE_POOL
from nyc_rental.ml import tracking
from nyc_rental.ml.tracking import MODEL_NAME, ModelRegistry, Promotion, git_commit, log_figure, model_requirements
from nyc_rental.runtime.capacity import cores_per_run
from nyc_rental.storage.io_manager import ONE_ROW_PER_WEEK
from nyc_rental.storage.warehouse import Warehouse

GROUP = "modeling"


class SplitConfig(fields_of(splitting.SplitParams)):
    """The course's data_split parameters: the fields of core.splitting.SplitParams."""


@weekly_asset(
    group_name=GROUP,
    code_version="1",
    kinds={"duckdb", "pandas"},
    pool=WAREHOUSE_POOL,
    metadata=splits_schema(VALIDATED_COLUMNS),
    description=(
        "The week's validated listings split into train / val / test (a `split` column): test_size of the rows "
        "to test, then val_size of the rest to val. By default a listing's split is fixed by a hash of its id "
        "salted with the seed, so no model is ever scored on listings it was trained on in an earlier week."
    ),
)
def splits(context: AssetExecutionContext, config: SplitConfig, validated_listings: pd.DataFrame) -> Output:
    params = splitting.SplitParams(**config.model_dump())
    labels = splitting.assign_splits(validated_listings, params)
    frame = validated_listings.assign(split=labels.to_numpy())
    shares = splitting.shares_by_split(validated_listings, labels, params.stratify_by or "neighbourhood_group")
    counts = labels.value_counts()
    return Output(
        frame,
        metadata={
            **{f"{name}_rows": int(counts.get(name, 0)) for name in splitting.SPLITS},
            "method": params.method,
            "borough_shares_by_split": markdown_table(
                (shares * 100).round(2).reset_index().rename(columns=lambda c: str(c))
            ),
        },
    )


class ModelConfig(fields_of(training.ModelParams)):
    """The course's train_random_forest parameters and our booster's (the fields of core.training.ModelParams),
    the sweep switch and the thread count."""

    sweep: bool = Field(default=False, description="fit a grid of candidates (nested MLflow runs), keep the best")
    threads: int = Field(
        default=0,
        description=(
            "CPU threads for training and scoring; 0: the cores divided by the runs the instance runs at once "
            "(`max_concurrent_runs`; every core without a run queue), so a step's time does not depend on what "
            "runs beside it (gradient boosting's OpenMP threads slow down many times over on shared cores)."
        ),
    )


def cpu_threads(context: AssetExecutionContext, requested: int = 0) -> int:
    """How many threads this step may compute with: `requested`, or with 0 its share of the cores."""
    return requested if requested > 0 else cores_per_run(context.instance)


def _deliveries(warehouse: Warehouse, week) -> dict[str, str]:
    """The week's delivered files and their SHA-256, as raw_listings recorded them."""
    rows = warehouse.distinct("raw_listings", week, ["source_file", "source_sha256"])
    return dict(zip(rows.source_file, rows.source_sha256))


def _version() -> str:
    try:
        return package_version("nyc-rental")
    except PackageNotFoundError:
        return "unknown"


@weekly_asset(
    group_name=GROUP,
    code_version="4",
    kinds={"mlflow", "scikitlearn"},
    required_resource_keys={"mlflow", "warehouse"},
    metadata={**model_schema(), ONE_ROW_PER_WEEK: True},
    description=(
        "The week's price model, trained on `train` and scored on `val`: the course's random forest "
        "(estimator 'random_forest') or our default gradient boosting; with `sweep`, the best of a grid by "
        "validation MAE. Logged to MLflow and registered as a new version of nyc_rental_price; the table keeps "
        "one row per week naming that version."
    ),
)
def model(context: AssetExecutionContext, config: ModelConfig, splits: pd.DataFrame) -> Output:
    import mlflow
    from threadpoolctl import threadpool_limits

    from nyc_rental.core.features import model_input
    from nyc_rental.core.pricing import PriceRange, reference_rows
    from nyc_rental.ml import lineage, serving

    # dagster-mlflow's resource is a legacy one: with it, resources come from context.resources.
    warehouse: Warehouse = context.resources.warehouse
    week = week_of_partition(context.partition_key)
    params = training.ModelParams(**config.model_dump(exclude={"sweep", "threads"}))
    if params.estimator not in training.ESTIMATORS:
        raise Failure(f"estimator {params.estimator!r} is unknown: choose one of {', '.join(training.ESTIMATORS)}")
    train = model_input(splits[splits.split == "train"]).assign(price=splits.loc[splits.split == "train", "price"])
    val = model_input(splits[splits.split == "val"]).assign(price=splits.loc[splits.split == "val", "price"])
    threads = cpu_threads(context, config.threads)
    with threadpool_limits(limits=threads):
        candidates = training.sweep_grid(params) if config.sweep else [params]
        fitted = []
        for number, candidate_params in enumerate(candidates, start=1):
            if config.sweep:
                name = tracking.candidate_run_name(str(week), context.run.run_id, context.run.job_name, number)
                with mlflow.start_run(run_name=name, nested=True):
                    candidate = training.fit_candidate(candidate_params, train, val)
                    mlflow.log_params(candidate_params.relevant())
                    mlflow.log_metrics({"val_mae": candidate.validation.mae, "val_r2": candidate.validation.r2})
                context.log.info(f"candidate {number}/{len(candidates)}: val MAE {candidate.validation.mae:.2f}")
            else:
                candidate = training.fit_candidate(candidate_params, train, val)
            fitted.append(candidate)
        best = training.best_of(fitted)

        importance = evaluation.input_importance(best.model, val, seed=params.random_seed)
    price_range = PriceRange.calibrate(val.price, best.val_predicted)
    mlflow.log_params(best.params.relevant() | {"sweep": config.sweep, "candidates": len(fitted), "threads": threads})
    mlflow.log_metrics(
        {"val_mae": best.validation.mae, "val_r2": best.validation.r2, "fit_seconds": best.fit_seconds, **best.extras}
    )
    log_figure(evaluation.importance_figure(importance, f"{params.estimator}, week {week}"), "feature_importance.png")
    deliveries = _deliveries(warehouse, week)
    for split, rows in (("train", train), ("val", val)):
        lineage.log_rows(rows, split, week.isoformat(), deliveries)
    info = serving.log_price_model(
        best.model,
        input_example=val.drop(columns=["price"]).head(3),
        registered_model_name=MODEL_NAME,
        pip_requirements=model_requirements(),
        price_range=price_range,
        reference=reference_rows(splits),
    )
    version = str(info.registered_model_version)
    tags = {
        "week": week.isoformat(),
        "estimator": params.estimator,
        "package_version": _version(),
        "git_commit": git_commit() or "unknown",
        "dagster_run_id": context.run.run_id,
        **{f"delivery_sha256.{name}": sha256 for name, sha256 in deliveries.items()},
    }
    client = mlflow.MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(MODEL_NAME, version, key, value)
    description = tracking.trained_description(week.isoformat(), params.estimator, best.validation.mae, len(val))
    tracking.describe_version(client, version, description)

    run_id = mlflow.active_run().info.run_id
    row = pd.DataFrame(
        [
            {
                "model_name": MODEL_NAME,
                "model_version": version,
                "model_uri": f"models:/{MODEL_NAME}/{version}",
                "mlflow_run_id": run_id,
                "estimator": params.estimator,
                "params": json.dumps(best.params.relevant()),
                "val_mae": best.validation.mae,
                "val_r2": best.validation.r2,
                "train_rows": len(train),
                "val_rows": len(val),
                "candidates": len(fitted),
                "fit_seconds": best.fit_seconds,
            }
        ]
    )
    return Output(
        row,
        metadata={
            "model_uri": row.model_uri[0],
            "model_version": version,
            "estimator": params.estimator,
            "val_mae": round(best.validation.mae, 2),
            "val_r2": round(best.validation.r2, 4),
            "candidates": len(fitted),
            "fit_seconds": round(best.fit_seconds, 2),
            "threads": threads,
            "mlflow_run_id": run_id,
            "feature_importance_plot": bar_chart(
                list(_helpful(importance).items()), "val MAE + $ when an input is shuffled"
            ),
            "top_inputs": _top_inputs(importance),
            "price_ranges": _price_ranges(price_range),
        },
    )


RANGE_INTERVAL = 0.8  # the range test_metrics checks and portfolio_prices judges asking prices by


class PromotionConfig(Config):
    """How much worse than the champion, in test MAE dollars, a new model may be and still take over."""

    tolerance: float = 0.0


@weekly_asset(
    group_name=GROUP,
    code_version="4",
    kinds={"mlflow", "duckdb"},
    pool=WAREHOUSE_POOL,
    required_resource_keys={"mlflow", "registry", "warehouse"},
    metadata={**test_metrics_schema(), ONE_ROW_PER_WEEK: True},
    description=(
        "The week's model scored on the week's `test` rows (MAE, R², MAE per borough and per room type, the share "
        "of test prices its calibrated 80% range holds and the range's mean width), the "
        "current champion scored on the same rows, and the promotion decision: the week's model takes the alias "
        "'champion' when there is none, or when its week is not older than the champion's and its test MAE is not "
        "worse than the champion's by more than `tolerance`. One row per week: the trend of test MAE."
    ),
)
def test_metrics(
    context: AssetExecutionContext,
    config: PromotionConfig,
    splits: pd.DataFrame,
    model: pd.DataFrame,
) -> Output:
    import mlflow
    from threadpoolctl import threadpool_limits

    from nyc_rental.core.features import model_input
    from nyc_rental.core.pricing import range_scores
    from nyc_rental.ml import lineage
    from nyc_rental.ml.serving import PricesOnly, predict_with

    registry: ModelRegistry = context.resources.registry
    warehouse: Warehouse = context.resources.warehouse
    week = week_of_partition(context.partition_key)
    test = splits[splits.split == "test"]
    rows = model_input(test)
    version = str(model.model_version.iloc[0])
    # Runs of other weeks decide too (concurrently on the production profile): reading the champion, scoring
    # it and moving the alias are one step under the warehouse's lock, so no week is compared with a stale one.
    with warehouse.exclusively("champion"):
        champion = registry.champion()
        # This week's version already holds the alias by a promotion of its own: an earlier attempt of this step
        # decided, moved the alias and died before storing its row (a retry reruns the step). That decision stands.
        earlier = registry.recorded_promotion(champion) if champion and str(champion.version) == version else None
        champion_mae = None
        with threadpool_limits(limits=cpu_threads(context)):  # see ModelConfig.threads
            loaded = registry.load(version)
            try:
                priced = predict_with(loaded, rows, interval=RANGE_INTERVAL)
                predicted = priced.price.to_numpy()
            except PricesOnly:  # a week's version registered before ranges existed, scored again
                priced, predicted = None, training.predict_prices(loaded, rows)
            if earlier is None and champion is not None and str(champion.version) != version:
                champion_predicted = training.predict_prices(registry.load(champion.version), rows)
                champion_mae = evaluation.score(test.price, champion_predicted).mae
        scores = evaluation.score(test.price, predicted)
        if earlier is not None:
            promoted, decision, champion_before = True, earlier.decision, earlier.over
            champion_mae, decided_at = earlier.champion_mae, pd.Timestamp(earlier.decided_at)
        else:
            champion_before = None if champion is None else str(champion.version)
            promoted, decision = evaluation.promotion(
                scores.mae,
                champion_before,
                champion_mae,
                version,
                config.tolerance,
                week=week.isoformat(),
                champion_week=None if champion is None else champion.tags.get("week"),
            )
            decided_at = pd.Timestamp.now(tz="UTC")
            if promoted:
                promotion = Promotion(champion_before, champion_mae, decision, decided_at.to_pydatetime())
                registry.promote(version, promotion)
    # the range's share of test prices and mean width (none for a version registered before ranges existed)
    coverage, width = (
        (np.nan, np.nan) if priced is None else range_scores(test.price, priced.price_low, priced.price_high)
    )
    range_metrics = {} if priced is None else {"test_range80_coverage": coverage, "test_range80_mean_width": width}
    by_borough = evaluation.mae_by(test, predicted, "neighbourhood_group")
    by_room_type = evaluation.mae_by(test, predicted, "room_type")
    context.log.info(f"week {week}: model v{version} {'promoted' if promoted else 'not promoted'}: {decision}")

    lineage.log_rows(rows.assign(price=test.price.to_numpy()), "test", week.isoformat(), _deliveries(warehouse, week))
    mlflow.log_metrics(
        {
            "test_mae": scores.mae,
            "test_r2": scores.r2,
            **range_metrics,
            **({"champion_test_mae": champion_mae} if champion_mae else {}),
        }
    )
    mlflow.log_dict({"mae_by_borough": by_borough, "mae_by_room_type": by_room_type}, "test_mae_by_group.json")
    mlflow.set_tags({"promoted": str(promoted).lower(), "promotion_decision": decision})
    estimator = str(model.estimator.iloc[0])
    description = tracking.scored_description(week.isoformat(), estimator, scores.mae, scores.rows, promoted, decision)
    tracking.describe_version(registry.client(), version, description)
    week_scores = {"test_mae": scores.mae, "test_r2": scores.r2, "champion_test_mae": champion_mae}
    week_scores["val_mae"] = float(model.val_mae.iloc[0])
    tracking.log_week_trend(registry.client(), mlflow.active_run().info.experiment_id, week, week_scores)
    figure = evaluation.predicted_vs_actual_figure(test.price.to_numpy(), predicted, f"model v{version}, week {week}")
    log_figure(figure, "predicted_vs_actual.png")

    row = pd.DataFrame(
        [
            {
                "model_version": version,
                "test_rows": scores.rows,
                "test_mae": scores.mae,
                "test_r2": scores.r2,
                "mae_by_borough": json.dumps(by_borough),
                "mae_by_room_type": json.dumps(by_room_type),
                "range80_coverage": coverage,
                "range80_mean_width": width,
                "champion_version": champion_before,
                "champion_test_mae": champion_mae if champion_mae is not None else np.nan,
                "promoted": promoted,
                "decision": decision,
                "decided_at": decided_at,
            }
        ]
    )
    trend = _test_mae_by_week(warehouse.read_all("test_metrics"), row.assign(week=week))
    return Output(
        row,
        metadata={
            "test_mae": round(scores.mae, 2),
            "test_r2": round(scores.r2, 4),
            # left out, not written as text, when there is no other champion: the entry stays a number to plot
            **({"champion_test_mae": round(champion_mae, 2)} if champion_mae is not None else {}),
            "test_rows": scores.rows,
            **(
                {"range80_coverage_percent": round(coverage * 100, 1), "range80_mean_width": round(width, 2)}
                if range_metrics
                else {}
            ),
            "mae_by_borough": _mae_table(by_borough, "borough"),
            "mae_by_room_type": _mae_table(by_room_type, "room type"),
            "model_version": version,
            "champion_version_before": champion_before or "none",
            "promoted": promoted,
            "decision": decision,
            "predicted_vs_actual_plot": _predicted_vs_actual_chart(test.price.to_numpy(), predicted),
            "test_mae_by_week": markdown_table(trend, {"test_mae": ".2f"}),
            "test_mae_by_week_plot": _test_mae_by_week_chart(trend),
        },
    )


def _test_mae_by_week(history: pd.DataFrame, this_week: pd.DataFrame) -> pd.DataFrame:
    """Every week's test MAE, this week's row replacing any stored one."""
    columns = ["week", "model_version", "test_mae", "promoted"]
    rows = this_week[columns].to_dict("records")
    if not history.empty:
        history = history.assign(week=pd.to_datetime(history.week).dt.date)
        rows += history.loc[history.week != rows[0]["week"], columns].to_dict("records")
    return pd.DataFrame(rows, columns=columns).sort_values("week").round({"test_mae": 2})


def _predicted_vs_actual_chart(actual, predicted) -> MetadataValue:
    points = evaluation.binned_means(actual, predicted)
    low, high = points[0][0], points[-1][0]
    return line_chart(
        points, "mean predicted by actual-price decile; dashed: exact", (f"${low:.0f}", f"${high:.0f}"), True
    )


def _test_mae_by_week_chart(trend: pd.DataFrame, weeks: int = 52) -> MetadataValue:
    """Test MAE of the latest `weeks` stored weeks, one step per week however far apart the weeks are."""
    shown = trend.tail(weeks)
    points = list(enumerate(shown.test_mae.astype(float)))
    if len(points) == 1:
        points.append((1, points[0][1]))  # a line needs two points: the one week drawn flat
    return line_chart(points, "test MAE by week", (str(shown.week.iloc[0]), str(shown.week.iloc[-1])))


def _helpful(importance: pd.Series) -> pd.Series:
    """The inputs whose shuffling raised validation MAE by a cent or more, largest first."""
    return importance[importance.round(2) > 0].sort_values(ascending=False)


def _top_inputs(importance: pd.Series, shown: int = 8) -> MetadataValue:
    """The inputs whose shuffling raised validation MAE most, largest first; inputs whose shuffling lowered it
    (noise on the rows sampled) are named in a note, not ranked; those that moved it by less than a cent, left out."""
    helpful = _helpful(importance)
    table = pd.DataFrame(
        {"rank": range(1, min(shown, len(helpful)) + 1), "input": helpful.index[:shown], "val MAE +$": helpful[:shown]}
    )
    text = markdown_table(table, {"val MAE +$": ".2f"}).value
    negative = importance[importance.round(2) < 0].sort_values()
    if len(negative):
        names = ", ".join(f"{name} ({value:.2f})" for name, value in negative.items())
        text += f"\n\nShuffling lowered val MAE (noise, not ranked): {names}."
    return MetadataValue.md(text)


def _price_ranges(price_range, prices=(50, 100, 200, 400), intervals=(0.8, 0.9)) -> MetadataValue:
    """The calibrated ranges of a few predicted prices: how wide the model's doubt is, and how it grows."""
    table = pd.DataFrame({"predicted $": prices})
    for interval in intervals:
        low, high = price_range.bounds(prices, interval)
        table[f"{interval:.0%} range $"] = [f"{a:.0f}–{b:.0f}" for a, b in zip(low, high)]
    return markdown_table(table)


def _mae_table(mae: dict[str, float], group: str) -> MetadataValue:
    return markdown_table(pd.DataFrame({group: list(mae), "test MAE $": list(mae.values())}), {"test MAE $": ".2f"})
