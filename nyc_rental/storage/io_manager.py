"""The IO manager: each asset's week is the rows of table `nyc_rental.<asset>` with that `week`."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from dagster import ConfigurableIOManager, InputContext, OutputContext

from nyc_rental.storage.evolution import SCHEMA
from nyc_rental.storage.warehouse import Warehouse


def partition_week(context: InputContext | OutputContext) -> dt.date:
    return dt.date.fromisoformat(context.asset_partition_key)


# Definition metadata of an asset whose table holds one row per week (a record of the week: its model, its
# scores): its materializations carry no `dagster/row_count`, which would read "Row count 1" on every week.
ONE_ROW_PER_WEEK = "nyc_rental/one_row_per_week"


def _flag(value) -> bool:
    return bool(getattr(value, "value", value))


class WarehouseIOManager(ConfigurableIOManager):
    """Stores each asset's week as the rows of table `nyc_rental.<asset>` with that `week`.

    Unlike dagster-duckdb-pandas, a week is replaced in one transaction, columns are matched by name,
    and an empty frame fails instead of silently deleting the stored week.
    """

    warehouse: Warehouse

    def handle_output(self, context: OutputContext, obj: pd.DataFrame) -> None:
        table = context.asset_key.path[-1]
        self.warehouse.replace_week(table, partition_week(context), obj)
        metadata = {"dagster/table_name": f"{SCHEMA}.{table}"}
        if not _flag(context.definition_metadata.get(ONE_ROW_PER_WEEK)):
            metadata["dagster/row_count"] = len(obj)
        context.add_output_metadata(metadata)

    def load_input(self, context: InputContext) -> pd.DataFrame:
        table = context.upstream_output.asset_key.path[-1]
        return self.warehouse.read_week(table, partition_week(context))
