"""The seven weekly assets: listings.py (raw, clean, validated), modeling.py (splits, model, test_metrics) and
portfolio.py (portfolio_prices)."""

from dagster import asset

from nyc_rental.defs.partitions import weekly_partitions


def weekly_asset(*, group_name: str, code_version: str, kinds: set[str], description: str, **options):
    """`@asset` partitioned by week, as every asset of the platform is; `options` go to `@asset` as they are
    (`pool`, `dagster_type`, `required_resource_keys`)."""
    return asset(
        group_name=group_name,
        partitions_def=weekly_partitions,
        code_version=code_version,
        kinds=kinds,
        description=description,
        **options,
    )
