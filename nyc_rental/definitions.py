"""The code location: assets, checks, jobs, the sensor and the resources over NYC_RENTAL_HOME."""

from __future__ import annotations

from pathlib import Path

from dagster import Definitions

from nyc_rental import settings
from nyc_rental.assets.listings import clean_listings, raw_listings, validated_listings
from nyc_rental.checks import data_checks
from nyc_rental.jobs import weekly_pipeline
from nyc_rental.resources import DataTests, LandingFolder, Warehouse, WarehouseIOManager
from nyc_rental.sensors import incoming_listings_sensor


def resources_for(home: Path) -> dict:
    warehouse = Warehouse(path=str(settings.warehouse_path(home)))
    return {
        "warehouse": warehouse,
        "io_manager": WarehouseIOManager(warehouse=warehouse),
        "landing": LandingFolder(path=str(settings.incoming_dir(home))),
        "data_tests": DataTests(warehouse=warehouse),
    }


def build_defs(home: Path | None = None) -> Definitions:
    """Definitions writing under `home` (default: NYC_RENTAL_HOME)."""
    return Definitions(
        assets=[raw_listings, clean_listings, validated_listings],
        asset_checks=data_checks,
        jobs=[weekly_pipeline],
        sensors=[incoming_listings_sensor],
        resources=resources_for(home or settings.nyc_rental_home()),
    )
