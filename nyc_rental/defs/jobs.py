"""Jobs: the weekly pipeline the sensor and backfills run, the manual promotion of a model and the portfolio's
re-pricing."""

from dagster import AssetSelection, Config, OpExecutionContext, define_asset_job, job, op

from nyc_rental.defs.assets.portfolio import portfolio_prices
from nyc_rental.defs.freshness import raw_listings_freshness_checks
from nyc_rental.ml.tracking import ModelRegistry
from nyc_rental.runtime.executor import patient_in_process_executor

# The executor is the code location's (definitions.py, NYC_RENTAL_EXECUTOR). In-process by default: a run's
# steps share one process, so they never race each other for DuckDB's single-writer lock (runs of other weeks
# take turns through the concurrency pools, see resources.py; a step waiting for its pool sleeps, see
# executor.py), and a run does not pay a Python start-up per step. The production profile runs the steps on
# Celery workers over the Postgres warehouse. The freshness check on raw_listings is about the asset, not a week:
# its sensor runs it (freshness.py), never a week's run.
weekly_pipeline = define_asset_job(
    name="weekly_pipeline",
    selection=AssetSelection.groups("listings", "modeling", "portfolio")
    - AssetSelection.checks(*raw_listings_freshness_checks),
    description=(
        "One week through raw → clean → (checks) → validated listings → splits → model → test_metrics → "
        "portfolio_prices."
    ),
)

reprice_portfolio = define_asset_job(
    name="reprice_portfolio",
    selection=AssetSelection.assets(portfolio_prices),
    description="A week's portfolio priced again by the current champion (sensor reprice_portfolio_on_new_champion).",
)


class PromoteConfig(Config):
    """The registered version of nyc_rental_price to make champion."""

    version: str


@op(description="Moves the alias 'champion' of nyc_rental_price to the configured version.")
def set_champion(context: OpExecutionContext, config: PromoteConfig, registry: ModelRegistry) -> None:
    previous = registry.champion()
    chosen = registry.version(config.version)
    registry.set_champion(chosen.version)
    context.log.info(
        f"champion: v{previous.version if previous else 'none'} -> v{chosen.version} (week {chosen.tags.get('week')})"
    )


@job(
    executor_def=patient_in_process_executor,
    description="Promote a registered model version by hand, as the course's manual 'prod' tag did.",
)
def promote_model():
    set_champion()
