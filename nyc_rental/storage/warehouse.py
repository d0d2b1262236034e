"""The warehouse: one table per asset in schema `nyc_rental`, each holding its weeks in a `week` column.

Two backends with the same guarantees: a DuckDB file (the embedded default, one writing process at a time) or
Postgres (`NYC_RENTAL_WAREHOUSE_URL=postgresql://…`, any number of writers). A week is replaced in one
transaction, an empty frame is refused, columns are matched by name, and a table follows the code that writes
it: a column the code adds is added (earlier weeks read it as null), a column it stops writing stays, a column
whose values widen (integer to float, date to timestamp) is widened, and only a change that cannot be cast is
refused. Weeks that cannot be recomputed as they were (model versions, champion decisions) are never dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from nyc_rental.runtime.capacity import cores_per_run
from nyc_rental.settings import DEFAULT_LOCK_TIMEOUT_SECONDS
from nyc_rental.storage.duckdb_backend import DuckDBBackend
from nyc_rental.storage.evolution import SCHEMA, WEEK_COLUMN, WarehouseError
from nyc_rental.storage.postgres_backend import PostgresBackend, redacted


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


class Warehouse(ConfigurableResource):
    """The tables of every asset, one row set per week: in the DuckDB file at `path`, or in Postgres when `url`
    (a postgresql:// URL, from NYC_RENTAL_WAREHOUSE_URL) is set.

    DuckDB allows one writing process per file: the platform's processes take turns on a file lock beside it
    (readers together, a writer alone), a session outside the platform is waited out with backoff, and after
    `lock_timeout_seconds` the process that holds the file is named. Postgres takes concurrent writers.
    """

    path: str = ""
    url: str = ""
    lock_timeout_seconds: float = DEFAULT_LOCK_TIMEOUT_SECONDS
    _threads: int = PrivateAttr(default=0)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        """In a run, DuckDB computes with the run's share of the cores (see cores_per_run), not every core."""
        if context.instance is not None:
            self._threads = cores_per_run(context.instance)

    @property
    def location(self) -> str:
        """Where the tables are, safe to print: the file, or the server's URL without its password."""
        return redacted(self.url) if self.url else self.path

    @property
    def backend(self) -> DuckDBBackend | PostgresBackend:
        if self.url:
            return PostgresBackend(self.url)
        if not self.path:
            raise WarehouseError("the warehouse needs a DuckDB path or a postgresql:// URL")
        return DuckDBBackend(Path(self.path), self.lock_timeout_seconds, self._threads)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the DuckDB file (the embedded backend only)."""
        with self.backend.connect(read_only=read_only) as con:
            yield con

    @contextmanager
    def exclusively(self, name: str) -> Iterator[None]:
        """Hold the lock `name` for a read-decide-write sequence that runs of other weeks must not interleave
        (the champion decision), whichever processes or machines they run on: a Postgres advisory lock, or a
        file lock beside the DuckDB file. Either is released when its holder dies. The wait is the server's
        or the kernel's, not a poll."""
        with self.backend.exclusively(name):
            yield

    def replace_week(self, table: str, week: dt.date, frame: pd.DataFrame) -> None:
        """Replace one week's rows of `table` in a single transaction; other weeks are untouched."""
        if frame.empty:
            raise WarehouseError(f"refusing to store an empty week {week} in {SCHEMA}.{table}: the stored rows stay")
        rows = frame.copy()
        rows.insert(0, WEEK_COLUMN, week)
        self.backend.replace_week(table, week, rows)

    def read_week(self, table: str, week: dt.date) -> pd.DataFrame:
        """One week's rows of `table`, in the order they were written, without the `week` column."""
        frame = self.backend.read_week(table, week)
        if frame is None:
            raise WarehouseError(f"{SCHEMA}.{table} does not exist in {self.location}: materialize {table} first")
        if frame.empty:
            raise WarehouseError(
                f"{SCHEMA}.{table} has no rows for week {week}: materialize {table} for that week first"
            )
        return frame

    def read_all(self, table: str) -> pd.DataFrame:
        """Every week of `table`, with its `week` column (empty when the table does not exist)."""
        return self.backend.read_all(table)

    def distinct(self, table: str, week: dt.date, columns: list[str]) -> pd.DataFrame:
        """The distinct values of `columns` in one week of `table`."""
        names = ", ".join(f'"{name}"' for name in columns)
        order = ", ".join(str(i + 1) for i in range(len(columns)))
        return self.backend.query(
            f"SELECT DISTINCT {names} FROM {SCHEMA}.{table} WHERE {WEEK_COLUMN} = $week ORDER BY {order}", week, table
        )

    def weeks(self, table: str) -> list[dt.date]:
        """The weeks `table` holds, oldest first."""
        frame = self.backend.query(f"SELECT DISTINCT {WEEK_COLUMN} FROM {SCHEMA}.{table} ORDER BY 1", table=table)
        return [_as_date(value) for value in frame[WEEK_COLUMN]] if len(frame) else []

    def rows_per_week(self, table: str) -> pd.Series:
        """Row count of every week of `table`, oldest first (empty when the table does not exist)."""
        frame = self.backend.query(
            f"SELECT {WEEK_COLUMN}, count(*) AS n FROM {SCHEMA}.{table} GROUP BY 1 ORDER BY 1", table=table
        )
        if frame.empty:
            return pd.Series(dtype="int64", name=table)
        return frame.set_index(WEEK_COLUMN)["n"].astype("int64").rename(table)

    def count_by(self, table: str, week: dt.date, column: str) -> pd.Series:
        """Row counts of one week per value of `column` (the drift check's reference)."""
        frame = self.backend.query(
            f'SELECT "{column}" AS value, count(*) AS n FROM {SCHEMA}.{table} WHERE {WEEK_COLUMN} = $week GROUP BY 1',
            week,
            table,
        )
        if frame.empty:
            return pd.Series(dtype="int64", name="n")
        return frame.set_index("value")["n"].astype("int64").sort_index()
