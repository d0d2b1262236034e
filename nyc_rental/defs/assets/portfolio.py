"""The company's own properties, priced every week by the week's champion and judged against the market."""

import pandas as pd
from dagster import AssetExecutionContext, Config, Failure, MaterializeResult, MetadataValue
from pydantic import Field

from nyc_rental.core.portfolio import FLAGS, PortfolioError, furthest, judged, read_portfolio
from nyc_rental.core.pricing import check_interval
from nyc_rental.defs.assets import weekly_asset
from nyc_rental.defs.assets.columns import portfolio_prices_schema
from nyc_rental.defs.assets.metadata import markdown_table
from nyc_rental.defs.assets.modeling import RANGE_INTERVAL, cpu_threads, test_metrics
from nyc_rental.defs.partitions import week_of_partition
from nyc_rental.defs.resources import WAREHOUSE_POOL, PortfolioFile
from nyc_rental.ml.tracking import ModelRegistry
from nyc_rental.storage.evolution import SCHEMA
from nyc_rental.storage.warehouse import Warehouse

GROUP = "portfolio"
TABLE = "portfolio_prices"
SHOWN = 10  # the properties furthest from the market shown in the metadata
NAME_WIDTH = 28


class PortfolioConfig(Config):
    interval: float = Field(
        default=RANGE_INTERVAL,
        description="the calibrated range an asking price is judged by: 0.8, the range holding 80% of prices",
    )


@weekly_asset(
    group_name=GROUP,
    code_version="1",
    kinds={"mlflow", "duckdb"},
    pool=WAREHOUSE_POOL,
    deps=[test_metrics],
    metadata=portfolio_prices_schema(),
    description=(
        "The company's own properties ($NYC_RENTAL_HOME/portfolio.csv, the delivery's columns with `price` the "
        "asking price) priced by the champion once the week's test_metrics has decided it: the market price, its "
        "calibrated 80% range and a flag, 'under', 'within' or 'over', for where the asking price falls. A week "
        "without the file succeeds and says so; a file with an unusable value fails, naming its column and line. "
        "Priced again when the champion is changed by hand (sensor reprice_portfolio_on_new_champion)."
    ),
)
def portfolio_prices(
    context: AssetExecutionContext,
    config: PortfolioConfig,
    portfolio: PortfolioFile,
    registry: ModelRegistry,
    warehouse: Warehouse,
) -> MaterializeResult:
    from threadpoolctl import threadpool_limits

    from nyc_rental.core.features import model_input  # scikit-learn: imported by the step, not the code location
    from nyc_rental.ml.serving import PricesOnly, predict_with

    week = week_of_partition(context.partition_key)
    interval = check_interval(config.interval)
    champion = registry.champion()
    if champion is None:
        raise Failure(f"{registry.model_name} has no champion: week {week}'s test_metrics should have chosen one")
    version = str(champion.version)
    if not portfolio.file.is_file():
        context.log.info(f"no portfolio at {portfolio.file}: nothing to price")
        return MaterializeResult(
            metadata={"portfolio": f"no file at {portfolio.file}: nothing priced", "champion_version": version}
        )
    try:
        properties = read_portfolio(portfolio.file)
    except PortfolioError as error:
        raise Failure(str(error)) from None
    try:
        with threadpool_limits(limits=cpu_threads(context)):
            priced = predict_with(registry.load(version), model_input(properties), interval=interval)
    except PricesOnly as error:  # a champion registered before ranges existed: no range to judge by
        context.log.warning(f"champion v{version}: {error}; promote a newer version to flag the portfolio")
        return MaterializeResult(
            metadata={
                "portfolio": f"champion v{version} has no price range ({error}): nothing priced",
                "champion_version": version,
            }
        )
    frame = judged(properties, priced.price, priced.price_low, priced.price_high)
    frame["champion_version"] = version
    frame["interval"] = interval
    warehouse.replace_week(TABLE, week, frame)
    counts = frame.flag.value_counts()
    context.log.info(
        f"week {week}: {len(frame)} properties priced by v{version}: "
        + ", ".join(f"{int(counts.get(name, 0))} {name}" for name in FLAGS)
    )
    return MaterializeResult(
        metadata={
            "portfolio": str(portfolio.file),
            "properties": len(frame),
            **{name: int(counts.get(name, 0)) for name in FLAGS},
            "champion_version": version,
            "interval": interval,
            "furthest_from_market": _furthest_table(frame),
            "dagster/row_count": len(frame),
            "dagster/table_name": f"{SCHEMA}.{TABLE}",
        }
    )


def _furthest_table(frame: pd.DataFrame) -> MetadataValue:
    """The properties whose asking price is furthest from the market, in percent of the market price."""
    rows = furthest(frame, SHOWN)
    names = rows["name"].fillna("").map(lambda name: name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…")
    table = pd.DataFrame(
        {
            "id": rows.id,
            "name": names,
            "asking $": rows.asking_price,
            "market $": rows.price,
            "range $": [f"{low:.0f}–{high:.0f}" for low, high in zip(rows.price_low, rows.price_high)],
            "gap": [f"{gap:+.0f}%" for gap in rows.gap_percent],
            "flag": rows.flag,
        }
    )
    return markdown_table(table, {"asking $": ".0f", "market $": ".0f"})
