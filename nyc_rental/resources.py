"""Resources: the DuckDB warehouse (and the IO manager over it) and the landing folder."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from dagster import (
    ConfigurableIOManager,
    ConfigurableResource,
    InitResourceContext,
    InputContext,
    OutputContext,
    get_dagster_logger,
)
from pydantic import PrivateAttr

from nyc_rental.config import fields_of
from nyc_rental.core.delivery import Delivery, deliveries_of_week
from nyc_rental.core.quality import DATA_TESTS, Outcome, QualityThresholds, run_data_tests
from nyc_rental.settings import DEFAULT_LOCK_TIMEOUT_SECONDS

SCHEMA = "nyc_rental"
WEEK_COLUMN = "week"
# Concurrency pools (limit 1 each in dagster.yaml): steps that write the warehouse take turns, and one model
# trains at a time. Steps that only read it (the checks) wait out a writer through the lock retry below.
WAREHOUSE_POOL = "warehouse"
TRAINING_POOL = "training"
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?)(?: \(PID (\d+)\))")


def runs_at_once(instance) -> int:
    """The most runs the instance runs side by side: its run queue's `max_concurrent_runs`; 1 for an instance
    without a run queue; the cores when the queue has no limit (-1)."""
    queue = instance.get_concurrency_config().run_queue_config
    if queue is None:
        return 1
    if queue.max_concurrent_runs < 0:
        return len(os.sched_getaffinity(0))
    return max(1, queue.max_concurrent_runs)


def cores_per_run(instance) -> int:
    """The threads a step may compute with: the cores divided by the runs that may run at once, fixed by the
    instance's configuration rather than by what happens to run when the step starts. Native thread pools
    (gradient boosting's OpenMP, DuckDB) slow down many times over when the cores they counted on are taken."""
    return max(1, len(os.sched_getaffinity(0)) // runs_at_once(instance))


class WarehouseError(RuntimeError):
    """The warehouse cannot do what was asked; the message names the file or table."""


def _lock_holder(error: duckdb.Error) -> str | None:
    text = str(error)
    if "Could not set lock" not in text and "Conflicting lock" not in text:
        return None
    match = _LOCK_HOLDER.search(text)
    return f"{match.group(1)} (PID {match.group(2)})" if match else "another process"


class Warehouse(ConfigurableResource):
    """The DuckDB file that holds one table per asset, each with a `week` column.

    DuckDB allows one writing process per file: a locked file is retried with backoff for
    `lock_timeout_seconds`, then reported with the process that holds it.
    """

    path: str
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    _threads: int = PrivateAttr(default=0)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """In a run, DuckDB computes with the run's share of the cores (see cores_per_run), not every core."""
        if context.instance is not None:
            self._threads = cores_per_run(context.instance)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        path = Path(self.path)
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        deadline, pause, waited = time.monotonic() + self.lock_timeout_seconds, 0.05, False
        while True:
            try:
                config = {"threads": self._threads} if self._threads else {}
                connection = duckdb.connect(str(path), read_only=read_only, config=config)
                break
            except duckdb.Error as error:
                holder = _lock_holder(error)
                if holder is None:
                    raise WarehouseError(f"cannot open the warehouse {path}: {error}") from error
                if not waited:
                    waited = True
                    get_dagster_logger().warning(
                        f"the warehouse {path} is locked by {holder}; waiting up to {self.lock_timeout_seconds:g} s"
                    )
                if time.monotonic() >= deadline:
                    raise WarehouseError(
                        f"the warehouse {path} is locked by {holder} and stayed locked for "
                        f"{self.lock_timeout_seconds:g} s; close that DuckDB session (CLI, notebook) and retry"
                    ) from error
                time.sleep(pause)
                pause = min(pause * 2, 2.0)
        try:
            yield connection
        finally:
            connection.close()

    def _exists(self) -> bool:
        return Path(self.path).exists()

    @contextmanager
    def reading(self, table: str) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A read-only connection, or None when the file or `table` does not exist yet (one open per read)."""
        if not self._exists():
            yield None
            return
        with self.connect(read_only=True) as con:
            yield con if _has_table(con, table) else None

    def replace_week(self, table: str, week: dt.date, frame: pd.DataFrame) -> None:
        """Replace one week's rows of `table` in a single transaction; other weeks are untouched."""
        if frame.empty:
            raise WarehouseError(f"refusing to store an empty week {week} in {SCHEMA}.{table}: the stored rows stay")
        rows = frame.copy()
        rows.insert(0, WEEK_COLUMN, week)
        with self.connect() as con:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            con.register("incoming_rows", rows)
            if not _has_table(con, table):
                _create_table(con, table)
            stored = [row[0] for row in con.execute(f"DESCRIBE {SCHEMA}.{table}").fetchall()]
            if set(stored) != set(rows.columns):
                raise WarehouseError(
                    f"{SCHEMA}.{table} in {self.path} has columns {stored}, the new rows have {list(rows.columns)}; "
                    "drop the table (its weeks will need re-materializing) or restore the code that wrote it"
                )
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"DELETE FROM {SCHEMA}.{table} WHERE {WEEK_COLUMN} = ?", [week])
                con.execute(f"INSERT INTO {SCHEMA}.{table} BY NAME SELECT * FROM incoming_rows")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def read_week(self, table: str, week: dt.date) -> pd.DataFrame:
        """One week's rows of `table`, without the `week` column."""
        with self.reading(table) as con:
            if con is None:
                raise WarehouseError(f"{SCHEMA}.{table} does not exist in {self.path}: materialize {table} first")
            frame = con.execute(
                f"SELECT * EXCLUDE ({WEEK_COLUMN}) FROM {SCHEMA}.{table} WHERE {WEEK_COLUMN} = ?", [week]
            ).df()
        if frame.empty:
            raise WarehouseError(
                f"{SCHEMA}.{table} has no rows for week {week}: materialize {table} for that week first"
            )
        return frame

    def read_all(self, table: str) -> pd.DataFrame:
        """Every week of `table`, with its `week` column (empty when the table does not exist)."""
        with self.reading(table) as con:
            if con is None:
                return pd.DataFrame()
            return con.execute(f"SELECT * FROM {SCHEMA}.{table} ORDER BY {WEEK_COLUMN}").df()

    def distinct(self, table: str, week: dt.date, columns: list[str]) -> pd.DataFrame:
        """The distinct values of `columns` in one week of `table`."""
        with self.connect(read_only=True) as con:
            names = ", ".join(columns)
            return con.execute(
                f"SELECT DISTINCT {names} FROM {SCHEMA}.{table} WHERE {WEEK_COLUMN} = ? ORDER BY ALL", [week]
            ).df()

    def weeks(self, table: str) -> list[dt.date]:
        """The weeks `table` holds, oldest first."""
        with self.reading(table) as con:
            if con is None:
                return []
            rows = con.execute(f"SELECT DISTINCT {WEEK_COLUMN} FROM {SCHEMA}.{table} ORDER BY 1").fetchall()
        return [_as_date(row[0]) for row in rows]

    def rows_per_week(self, table: str) -> pd.Series:
        """Row count of every week of `table`, oldest first (empty when the table does not exist)."""
        with self.reading(table) as con:
            if con is None:
                return pd.Series(dtype="int64", name=table)
            frame = con.execute(f"SELECT {WEEK_COLUMN}, count(*) AS n FROM {SCHEMA}.{table} GROUP BY 1 ORDER BY 1").df()
        return frame.set_index(WEEK_COLUMN)["n"].rename(table)

    def count_by(self, table: str, week: dt.date, column: str) -> pd.Series:
        """Row counts of one week per value of `column` (the drift check's reference)."""
        with self.connect(read_only=True) as con:
            frame = con.execute(
                f"SELECT {column} AS value, count(*) AS n FROM {SCHEMA}.{table} WHERE {WEEK_COLUMN} = ? GROUP BY 1",
                [week],
            ).df()
        return frame.set_index("value")["n"].sort_index()


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = con.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [SCHEMA, table]
    ).fetchone()
    return found is not None


def _create_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A table shaped like the incoming rows; a column that is all null in them is typed as text."""
    con.execute(f"CREATE TABLE {SCHEMA}.{table} AS SELECT * FROM incoming_rows LIMIT 0")
    for name, type_name, *_ in con.execute(f"DESCRIBE {SCHEMA}.{table}").fetchall():
        if type_name == '"NULL"':
            con.execute(f'ALTER TABLE {SCHEMA}.{table} ALTER COLUMN "{name}" TYPE VARCHAR')


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def partition_week(context: InputContext | OutputContext) -> dt.date:
    return dt.date.fromisoformat(context.asset_partition_key)


class WarehouseIOManager(ConfigurableIOManager):
    """Stores each asset's week as the rows of table `nyc_rental.<asset>` with that `week`.

    Unlike dagster-duckdb-pandas, a week is replaced in one transaction, columns are matched by name,
    and an empty frame fails instead of silently deleting the stored week.
    """

    warehouse: Warehouse

    def handle_output(self, context: OutputContext, obj: pd.DataFrame) -> None:
        table = context.asset_key.path[-1]
        self.warehouse.replace_week(table, partition_week(context), obj)
        context.add_output_metadata({"dagster/table_name": f"{SCHEMA}.{table}", "dagster/row_count": len(obj)})

    def load_input(self, context: InputContext) -> pd.DataFrame:
        table = context.upstream_output.asset_key.path[-1]
        return self.warehouse.read_week(table, partition_week(context))


class LandingFolder(ConfigurableResource):
    """The folder deliveries are dropped into; the platform only ever reads it."""

    path: str

    @property
    def folder(self) -> Path:
        return Path(self.path)

    def deliveries_of_week(self, week: dt.date) -> tuple[list[Delivery], list[str]]:
        return deliveries_of_week(self.folder, week)


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
