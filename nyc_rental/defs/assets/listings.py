"""The data half of the platform: a week's deliveries as delivered, cleaned, then validated."""

import warnings

import pandas as pd
from dagster import AssetExecutionContext, BetaWarning, Failure, MetadataValue, Output
from dagster_pandera import pandera_schema_to_dagster_type

from nyc_rental.core import cleaning, profiling, quality
from nyc_rental.core.delivery import RAW_COLUMNS, DeliveryError, read_delivery
from nyc_rental.core.schema import ValidatedListings, coerce_validated
from nyc_rental.defs.assets import weekly_asset
from nyc_rental.defs.assets.columns import (
    clean_listings_schema,
    raw_listings_schema,
    validated_listings_schema,
)
from nyc_rental.defs.assets.inline_plots import bar_chart
from nyc_rental.defs.assets.metadata import markdown_table
from nyc_rental.defs.config import fields_of
from nyc_rental.defs.partitions import week_of_partition
from nyc_rental.defs.resources import WAREHOUSE_POOL, DataTests, LandingFolder

GROUP = "listings"
with warnings.catch_warnings():
    warnings.simplefilter("ignore", BetaWarning)  # dagster-pandera is marked beta; we rely on it knowingly
    ValidatedListingsType = pandera_schema_to_dagster_type(ValidatedListings)
VALIDATED_COLUMNS = ValidatedListingsType.metadata["schema"].schema


@weekly_asset(
    group_name=GROUP,
    code_version="1",
    kinds={"duckdb", "pandas"},
    pool=WAREHOUSE_POOL,
    metadata=raw_listings_schema(),
    description=(
        "The week's deliveries from the landing folder exactly as delivered: every value as text, plus "
        "source_file, source_sha256, source_line, parse_error and ingested_at. Several files in one week are "
        "stacked oldest first; the delivery files are never modified."
    ),
)
def raw_listings(context: AssetExecutionContext, landing: LandingFolder) -> Output[pd.DataFrame]:
    week = week_of_partition(context.partition_key)
    deliveries, problems = landing.deliveries_of_week(week)
    for problem in problems:
        context.log.warning(f"skipped in {landing.folder}: {problem}")
    if not deliveries:
        raise Failure(
            description=(
                f"no delivery for week {week} in {landing.folder}: drop a file such as "
                f"listings_{week.isoformat()}.csv there, then materialize the week again"
            )
        )
    frames, files = [], {}
    for delivery in deliveries:
        try:
            read = read_delivery(delivery.path, delivery.sha256)
        except DeliveryError as error:
            raise Failure(description=f"{delivery.path}: {error}") from error
        if read.extra_columns:
            context.log.warning(f"{delivery.path.name}: extra column(s) dropped: {', '.join(read.extra_columns)}")
        if read.latin1_lines:
            context.log.warning(f"{delivery.path.name}: {read.latin1_lines} line(s) were not UTF-8, read as Latin-1")
        frames.append(read.frame)
        files[delivery.path.name] = {
            "sha256": delivery.sha256,
            "rows": len(read.frame),
            "malformed_rows": read.malformed_rows,
            "extra_columns_dropped": read.extra_columns,
            "latin1_lines": read.latin1_lines,
        }
    raw = pd.concat(frames, ignore_index=True)[list(RAW_COLUMNS)]
    raw["ingested_at"] = pd.Timestamp.now(tz="UTC")
    return Output(
        raw,
        metadata={
            "rows": len(raw),
            "files": MetadataValue.json(files),
            "malformed_rows": sum(f["malformed_rows"] for f in files.values()),
        },
    )


class CleaningConfig(fields_of(cleaning.CleaningRules)):
    """The course's basic_cleaning parameters: the fields of core.cleaning.CleaningRules."""


@weekly_asset(
    group_name=GROUP,
    code_version="1",
    kinds={"duckdb", "pandas"},
    pool=WAREHOUSE_POOL,
    metadata=clean_listings_schema(VALIDATED_COLUMNS),
    description=(
        "The week's listings parsed and typed, cleaned as the course did (price within [min_price, max_price], "
        "inside the NYC bounding box), unparseable rows and duplicate ids dropped; every drop is counted by rule. "
        "This is the staging table the data checks examine."
    ),
)
def clean_listings(
    context: AssetExecutionContext, config: CleaningConfig, raw_listings: pd.DataFrame
) -> Output[pd.DataFrame]:
    result = cleaning.clean_listings(raw_listings, cleaning.CleaningRules(**config.model_dump()))
    dropped = {rule: n for rule, n in result.drop_counts.items() if n}
    if result.rows_out == 0:
        raise Failure(
            description=f"week {context.partition_key}: cleaning dropped all {result.rows_in} rows ({dropped})",
            metadata={"dropped_by_rule": MetadataValue.json(dropped)},
        )
    return Output(
        result.frame,
        metadata={
            "rows_in": result.rows_in,
            "rows_out": result.rows_out,
            "rows_dropped": result.rows_in - result.rows_out,
            "dropped_pct": round(100 * (result.rows_in - result.rows_out) / result.rows_in, 2),
            "dropped_by_rule": MetadataValue.json(dropped),
            "dropped_examples": MetadataValue.json(result.drop_examples),
            "missing_values": MetadataValue.json(cleaning.missing_values(result.frame)),
            "price_quantiles_by_borough": markdown_table(
                cleaning.price_quantiles_by_borough(result.frame).rename_axis("borough").reset_index(),
                {column: ".0f" for column in ("p10", "p25", "p50", "p75", "p90")},
            ),
        },
    )


@weekly_asset(
    group_name=GROUP,
    code_version="1",
    kinds={"duckdb", "pandas"},
    pool=WAREHOUSE_POOL,
    dagster_type=ValidatedListingsType,
    metadata=validated_listings_schema(VALIDATED_COLUMNS),
    description=(
        "The week's clean listings, materialized only when every data check of the week passed: the table the "
        "model may see. Typed by the pandera model ValidatedListings."
    ),
)
def validated_listings(
    context: AssetExecutionContext, clean_listings: pd.DataFrame, data_tests: DataTests
) -> Output[pd.DataFrame]:
    # Blocking checks stop this step in the run that failed them; re-running the same tests here keeps the
    # rule true when this asset is materialized on its own.
    week = week_of_partition(context.partition_key)
    outcomes = data_tests.evaluate(clean_listings, week)
    failed = {name: outcome.summary for name, outcome in outcomes.items() if not outcome.passed}
    if failed:
        raise Failure(
            description=f"week {week} failed data test(s): "
            + "; ".join(f"{name}: {summary}" for name, summary in failed.items()),
            metadata={"failed_tests": MetadataValue.json(failed)},
        )
    validated = coerce_validated(clean_listings)
    drift = outcomes["similar_neighbourhood_distribution"].figures
    reference = drift.get("reference")
    shares = {k: float(v) for k, v in quality.borough_shares(validated).items()}
    return Output(
        validated,
        metadata={
            "rows": len(validated),
            "borough_shares": _borough_shares_table(shares, drift.get("reference_shares"), reference),
            "borough_shares_plot": _borough_shares_chart(shares, drift.get("reference_shares")),
            "drift_reference": reference or "none (no earlier validated week)",
            **({"kl_divergence": float(f"{drift['kl_divergence']:.4g}")} if "kl_divergence" in drift else {}),
            "tests_passed": MetadataValue.json(sorted(outcomes)),
            "column_profile": _profile_table(profiling.column_profile(validated)),
            "price_histogram": _histogram_table(profiling.price_histogram(validated.price)),
        },
    )


def _borough_shares_chart(shares: dict, reference_shares: dict | None) -> MetadataValue:
    """This week's borough shares (%) as bars, the reference week's as a thin grey bar under each."""
    boroughs = sorted(shares, key=shares.get, reverse=True)
    bars = [(borough, 100 * shares[borough]) for borough in boroughs]
    if not reference_shares:
        return bar_chart(bars, "borough shares %")
    reference = [100 * reference_shares.get(borough, 0.0) for borough in boroughs]
    return bar_chart(bars, "borough shares %, grey: reference week", reference=reference)


def _profile_table(profile: pd.DataFrame) -> MetadataValue:
    """Each column's null share, distinct values and range (min – median – max, for numbers and dates) as a
    Markdown table narrow enough to show whole on a laptop's page (the page's **Columns** give the types)."""

    def spread(row) -> str:
        if pd.isna(row["min"]):
            return "–"
        return " – ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in row[["min", "median", "max"]])

    table = pd.DataFrame(
        {
            "column": profile["column"],
            "null %": profile["null_pct"],
            "distinct": profile["distinct"],
            "min – median – max": profile.apply(spread, axis=1),
        }
    )
    return markdown_table(table, {"null %": "g", "distinct": ",d"})


def _histogram_table(histogram: pd.DataFrame, width: int = 16) -> MetadataValue:
    """The price histogram as a small Markdown table with a bar per range, short enough for the UI to show
    inline (it shows Markdown under 1,000 characters in place, longer behind a button)."""
    longest = max(int(histogram.listings.max()), 1) if len(histogram) else 1
    bars = ["█" * round(width * n / longest) for n in histogram.listings]
    return markdown_table(histogram.assign(bar=bars).rename(columns={"share_pct": "%"}), {"%": ".1f"})


def _borough_shares_table(shares: dict, reference_shares: dict | None, reference: str | None) -> MetadataValue:
    """The week's borough shares in percent, beside the reference week's and the difference when there is one."""
    table = pd.DataFrame({"borough": list(shares), "this week %": [100 * v for v in shares.values()]})
    if reference_shares:
        table[f"{reference} %"] = [100 * reference_shares.get(b, 0.0) for b in shares]
        table["difference (points)"] = table["this week %"] - table[f"{reference} %"]
    return markdown_table(table, {column: ".2f" for column in table.columns[1:]})
