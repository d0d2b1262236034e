"""Resources: the landing folder, the portfolio file, the data tests' parameters and the concurrency pools (the
warehouse and its IO manager are in nyc_rental/storage/)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
from dagster import ConfigurableResource

from nyc_rental.core.delivery import Delivery, deliveries_of_week
from nyc_rental.core.quality import DATA_TESTS, Outcome, QualityThresholds, run_data_tests
from nyc_rental.defs.config import fields_of
from nyc_rental.storage.warehouse import Warehouse, WarehouseError

# The concurrency pool of every step that writes the warehouse. Neither shipped instance limits it: on the DuckDB
# file the steps of runs side by side take turns on the file itself, for as long as each holds a connection
# (nyc_rental/storage/duckdb_backend.py), and Postgres takes concurrent writers. An instance can still give it a
# limit (`concurrency: pools:` in dagster.yaml), say to bound the load on a shared server. The model step is in
# no pool: the run queue bounds the weeks that train at once, and each trains on its share of the cores
# (runtime/capacity.py).
WAREHOUSE_POOL = "warehouse"


class LandingFolder(ConfigurableResource):
    """The folder deliveries are dropped into; the platform only ever reads it."""

    path: str

    @property
    def folder(self) -> Path:
        return Path(self.path)

    def deliveries_of_week(self, week: dt.date) -> tuple[list[Delivery], list[str]]:
        return deliveries_of_week(self.folder, week)


class PortfolioFile(ConfigurableResource):
    """The company's own properties to price every week (`$NYC_RENTAL_HOME/portfolio.csv`); only ever read."""

    path: str

    @property
    def file(self) -> Path:
        return Path(self.path)


class DataTests(fields_of(QualityThresholds, base=ConfigurableResource)):
    """The course's data_check parameters (the fields of core.quality.QualityThresholds), shared by the asset
    checks and `validated_listings`.

    The drift reference is `reference_week` when pinned, else the latest earlier week that has
    `validated_listings` (a week that failed never becomes a reference).
    """

    warehouse: Warehouse
    reference_week: str | None = None

    def thresholds(self) -> QualityThresholds:
        return QualityThresholds(
            **{field.name: getattr(self, field.name) for field in dataclasses.fields(QualityThresholds)}
        )

    def reference(self, week: dt.date) -> tuple[dt.date | None, pd.Series | None]:
        """The week to compare borough shares with, and its borough counts."""
        table = "validated_listings"
        if self.reference_week:
            pinned = dt.date.fromisoformat(self.reference_week)
            if pinned not in self.warehouse.weeks(table):
                raise WarehouseError(
                    f"reference_week {pinned} has no validated_listings: pick a week that passed its checks"
                )
            return pinned, self.warehouse.count_by(table, pinned, "neighbourhood_group")
        earlier = [w for w in self.warehouse.weeks(table) if w < week]
        if not earlier:
            return None, None
        return earlier[-1], self.warehouse.count_by(table, earlier[-1], "neighbourhood_group")

    def evaluate(self, frame: pd.DataFrame, week: dt.date, only: tuple[str, ...] = DATA_TESTS) -> dict[str, Outcome]:
        reference_week, reference = (None, None)
        if "similar_neighbourhood_distribution" in only:
            reference_week, reference = self.reference(week)
        name = f"week {reference_week}" if reference_week else "reference"
        return run_data_tests(frame, self.thresholds(), reference, name, only)
