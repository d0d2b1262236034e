"""Blocking, partitioned data checks on `clean_listings`, each a thin wrapper over `core.quality`.

A failing check stops `validated_listings` and everything downstream for that week only.
"""

import warnings

import pandas as pd
from dagster import AssetCheckExecutionContext, AssetCheckResult, MetadataValue, PreviewWarning, asset_check

from nyc_rental.assets.listings import clean_listings
from nyc_rental.core.quality import DATA_TESTS
from nyc_rental.partitions import week_of_partition, weekly_partitions
from nyc_rental.resources import DataTests

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


def _metadata(figures: dict) -> dict:
    return {
        key: MetadataValue.json(value) if isinstance(value, (list, dict)) else value
        for key, value in figures.items()
        if value is not None
    }


def _data_check(test: str):
    @asset_check(
        asset=clean_listings,
        name=test,
        description=DESCRIPTIONS[test],
        blocking=True,
        partitions_def=weekly_partitions,
    )
    def check(
        context: AssetCheckExecutionContext, clean_listings: pd.DataFrame, data_tests: DataTests
    ) -> AssetCheckResult:
        week = week_of_partition(context.partition_key)
        outcome = data_tests.evaluate(clean_listings, week, only=(test,))[test]
        if not outcome.passed:
            context.log.error(f"week {week}, {test}: {outcome.summary}")
        return AssetCheckResult(passed=outcome.passed, description=outcome.summary, metadata=_metadata(outcome.figures))

    return check


with warnings.catch_warnings():
    warnings.simplefilter("ignore", PreviewWarning)  # partitioned checks are "preview" in dagster 1.13
    data_checks = [_data_check(test) for test in DATA_TESTS]
