"""Blocking, partitioned data checks on `clean_listings`, each a thin wrapper over `core.quality`.

A failing check stops `validated_listings` and everything downstream for that week only. The six checks are
one step (a multi-asset check), so the week is read from the warehouse once rather than six times. When one
fails, the step ends with a `Failure` whose description is the failed checks' own messages: that is what the
run's page shows first, where Dagster's own stop would show `DagsterAssetCheckFailedError` naming the checks only.
"""

import warnings
from collections.abc import Iterator

import pandas as pd
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSpec,
    Failure,
    MetadataValue,
    PreviewWarning,
    multi_asset_check,
)

from nyc_rental.core.quality import DATA_TESTS
from nyc_rental.defs.assets.listings import clean_listings
from nyc_rental.defs.partitions import week_of_partition, weekly_partitions
from nyc_rental.defs.resources import DataTests

# The check function's input is also named clean_listings (the week's rows), so keep the asset's key apart.
clean_listings_key = clean_listings.key

DESCRIPTIONS = {
    "column_names": "The 16 columns of the summary format are present, in the course's order.",
    "neighbourhood_names": "Every neighbourhood_group is one of the five boroughs, and all five are present.",
    "proper_boundaries": "Every listing lies inside the New York City bounding box.",
    "price_range": "Every price lies within [min_price, max_price].",
    "row_count": "The week has between min_rows and max_rows listings (exclusive).",
    "similar_neighbourhood_distribution": (
        "The week's borough shares are close to the reference week's: KL divergence (base 2) below "
        "kl_threshold. The reference is the pinned reference_week, else the latest earlier validated week."
    ),
}


# Figures that are a check's settings, or the same in every week it passes (16 columns): text, so that the
# check's Plots tab graphs only what a week measured (rows, the KL divergence, counts out of range).
SETTINGS = {"columns", "min_rows", "max_rows", "kl_threshold"}


def _metadata(figures: dict) -> dict:
    def value_of(key, value):
        if isinstance(value, (list, dict)):
            return MetadataValue.json(value)
        if key in SETTINGS:
            return MetadataValue.text(f"{value:,}" if isinstance(value, int) else f"{value:g}")
        if isinstance(value, float):
            return float(f"{value:.4g}")
        return value

    return {key: value_of(key, value) for key, value in figures.items() if value is not None}


with warnings.catch_warnings():
    warnings.simplefilter("ignore", PreviewWarning)  # partitioned checks are "preview" in dagster 1.13
    SPECS = [
        AssetCheckSpec(
            name=test,
            asset=clean_listings,
            description=DESCRIPTIONS[test],
            blocking=True,
            partitions_def=weekly_partitions,
        )
        for test in DATA_TESTS
    ]


@multi_asset_check(
    specs=SPECS,
    name="clean_listings_data_tests",
    can_subset=True,
    description="The week's data tests on clean_listings, run in one step so the week is read once.",
)
def data_checks(
    context: AssetCheckExecutionContext, clean_listings: pd.DataFrame, data_tests: DataTests
) -> Iterator[AssetCheckResult]:
    week = week_of_partition(context.partition_key)
    selected = tuple(
        test for test in DATA_TESTS if AssetCheckKey(clean_listings_key, test) in context.selected_asset_check_keys
    )
    failed = {}
    for test, outcome in data_tests.evaluate(clean_listings, week, only=selected).items():
        if not outcome.passed:
            context.log.error(f"week {week}, {test}: {outcome.summary}")
            failed[test] = outcome.summary
        yield AssetCheckResult(
            asset_key=clean_listings_key,
            check_name=test,
            passed=outcome.passed,
            description=outcome.summary,
            metadata=_metadata(outcome.figures),
        )
    if failed:
        # Every result is recorded above; stopping here, rather than letting Dagster raise its
        # DagsterAssetCheckFailedError after the step, puts the checks' messages in the run's failure.
        raise Failure(
            description=f"week {week} stopped: "
            + "; ".join(f"{test} failed: {summary}" for test, summary in failed.items())
            + ". validated_listings and the model steps were not run; the stored weeks are untouched.",
            metadata={"failed_checks": MetadataValue.json(failed)},
            allow_retries=False,
        )
