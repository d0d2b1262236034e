"""The embedded backend: a DuckDB file, one writing process at a time, with a lock retry naming the holder.

DuckDB lets one process write a file, or any number read it, and refuses the rest at once. The platform's own
processes (the steps of runs side by side) take turns on a file lock beside the database instead,
`warehouse.duckdb.access.lock`: shared to read, exclusive to write. A waiting process goes on within
milliseconds of the holder's close, and the kernel releases the lock of a process that dies. Sessions outside
the platform (the DuckDB CLI, a notebook) do not know that lock: DuckDB's own refusal is retried with backoff.
Both waits end after `lock_timeout_seconds` with an error naming the process that holds the file.
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from dagster import get_dagster_logger

from nyc_rental.storage.evolution import (
    BOOLEAN,
    DATE,
    FLOATING,
    INTEGER,
    NULL,
    SCHEMA,
    SQL_TYPES,
    TEXT,
    TIMESTAMP,
    TIMESTAMPTZ,
    WEEK_COLUMN,
    WarehouseError,
    evolve,
)

_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?)(?: \(PID (\d+)\))")


def _lock_holder(error: duckdb.Error) -> str | None:
    text = str(error)
    if "Could not set lock" not in text and "Conflicting lock" not in text:
        return None
    match = _LOCK_HOLDER.search(text)
    return f"{match.group(1)} (PID {match.group(2)})" if match else "another process"


# How often a process waiting for the access lock asks again (a non-blocking flock is a system call).
_ACCESS_POLL_SECONDS = 0.01


def flock_holders(path: Path) -> list[int]:
    """PIDs holding a flock on `path` (from /proc/locks; empty where it cannot be read)."""
    try:
        inode = path.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    holders = []
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 4242 00:2f:1234 0 EOF" (a waiting lock's line has "->" after the number)
        if "FLOCK" in fields and "->" not in fields and len(fields) >= 6:
            pid, file_id = fields[4], fields[5]
            if file_id.rsplit(":", 1)[-1] == str(inode):
                holders.append(int(pid))
    return sorted(set(holders))


def _locked(path: Path, holder: str, seconds: float, advice: str) -> WarehouseError:
    return WarehouseError(f"the warehouse {path} is locked by {holder} and stayed locked for {seconds:g} s; {advice}")


class DuckDBBackend:
    """The DuckDB file: one writing process at a time, with a lock retry naming the holder."""

    kind = "duckdb"

    def __init__(self, path: Path, lock_timeout_seconds: float, threads: int):
        self.path, self.lock_timeout_seconds, self.threads = path, lock_timeout_seconds, threads

    @property
    def access_lock(self) -> Path:
        return self.path.with_name(f"{self.path.name}.access.lock")

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout_seconds
        with self._access(read_only, deadline):
            connection = self._open(read_only, deadline)
            try:
                yield connection
            finally:
                connection.close()

    @contextmanager
    def _access(self, read_only: bool, deadline: float) -> Iterator[None]:
        """The platform's turn on the file: the access lock, shared to read, exclusive to write."""
        try:
            handle = open(self.access_lock, "a")  # noqa: SIM115 (closed below, which releases the lock)
        except OSError as error:
            if read_only:  # a reader of a folder it cannot write (a read-only copy): nobody writes it either
                yield
                return
            raise WarehouseError(f"cannot create the lock {self.access_lock} of the warehouse: {error}") from error
        mode = (fcntl.LOCK_SH if read_only else fcntl.LOCK_EX) | fcntl.LOCK_NB
        waited = False
        try:
            while True:
                try:
                    fcntl.flock(handle, mode)
                    break
                except OSError as error:
                    if error.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                if not waited:
                    waited = True
                    get_dagster_logger().debug(f"waiting for the turn of another process on {self.path}")
                if time.monotonic() >= deadline:
                    holders = [pid for pid in flock_holders(self.access_lock) if pid != os.getpid()]
                    holder = f"PID {', '.join(map(str, holders))}" if holders else "another process"
                    raise _locked(
                        self.path,
                        f"{holder} (a process of the platform)",
                        self.lock_timeout_seconds,
                        "a run's step holds it: look at that process's run, or raise NYC_RENTAL_LOCK_TIMEOUT_SECONDS",
                    )
                time.sleep(_ACCESS_POLL_SECONDS)
            yield
        finally:
            handle.close()

    def _open(self, read_only: bool, deadline: float) -> duckdb.DuckDBPyConnection:
        """DuckDB's own lock, retried with backoff: a session outside the platform holds the file."""
        pause, waited = 0.05, False
        config = {"threads": self.threads} if self.threads else {}
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only, config=config)
            except duckdb.Error as error:
                holder = _lock_holder(error)
                if holder is None:
                    raise WarehouseError(f"cannot open the warehouse {self.path}: {error}") from error
                if not waited:
                    waited = True
                    seconds = self.lock_timeout_seconds
                    get_dagster_logger().warning(
                        f"the warehouse {self.path} is locked by {holder}; waiting up to {seconds:g} s"
                    )
                if time.monotonic() >= deadline:
                    advice = "close that DuckDB session (CLI, notebook) and retry"
                    raise _locked(self.path, holder, self.lock_timeout_seconds, advice) from error
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    @contextmanager
    def exclusively(self, name: str) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f"{self.path.name}.{name}.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    @contextmanager
    def _reading(self, table: str | None) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A read-only connection, or None when the file (or `table`) does not exist yet."""
        if not self.path.exists():
            yield None
            return
        with self.connect(read_only=True) as con:
            yield con if table is None or _duckdb_has_table(con, table) else None

    def replace_week(self, table: str, week: dt.date, rows: pd.DataFrame) -> None:
        types = SQL_TYPES[self.kind]
        with self.connect() as con:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            con.register("incoming_rows", rows)
            incoming = {name: _duckdb_family(type_name) for name, type_name in _duckdb_columns(con, "incoming_rows")}
            con.execute("BEGIN TRANSACTION")
            try:
                if not _duckdb_has_table(con, table):
                    _duckdb_create_table(con, table)
                else:
                    stored = {n: _duckdb_family(t) for n, t in _duckdb_columns(con, f"{SCHEMA}.{table}")}
                    added, widened = evolve(table, stored, incoming)
                    for name, family in added.items():
                        con.execute(f'ALTER TABLE {SCHEMA}.{table} ADD COLUMN "{name}" {types.get(family, family)}')
                    for name, family in widened.items():
                        con.execute(f'ALTER TABLE {SCHEMA}.{table} ALTER COLUMN "{name}" TYPE {types[family]}')
                con.execute(f"DELETE FROM {SCHEMA}.{table} WHERE {WEEK_COLUMN} = ?", [week])
                con.execute(f"INSERT INTO {SCHEMA}.{table} BY NAME SELECT * FROM incoming_rows")
                con.execute("COMMIT")
            except duckdb.ConversionException as error:
                con.execute("ROLLBACK")
                raise WarehouseError(f"the rows of week {week} do not fit {SCHEMA}.{table}: {error}") from error
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def read_week(self, table: str, week: dt.date) -> pd.DataFrame | None:
        with self._reading(table) as con:
            if con is None:
                return None
            return con.execute(
                f"SELECT * EXCLUDE ({WEEK_COLUMN}) FROM {SCHEMA}.{table} WHERE {WEEK_COLUMN} = ?", [week]
            ).df()

    def read_all(self, table: str) -> pd.DataFrame:
        with self._reading(table) as con:
            if con is None:
                return pd.DataFrame()
            return con.execute(f"SELECT * FROM {SCHEMA}.{table} ORDER BY {WEEK_COLUMN}").df()

    def query(self, sql: str, week: dt.date | None = None, table: str | None = None) -> pd.DataFrame:
        """A small query; `$week` stands for the week. Empty when `table` (or the file) does not exist."""
        with self._reading(table) as con:
            if con is None:
                return pd.DataFrame()
            return con.execute(sql.replace("$week", "?"), [week] if "$week" in sql else []).df()


def _duckdb_has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    found = con.execute(
        "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [SCHEMA, table]
    ).fetchone()
    return found is not None


def _duckdb_create_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A table shaped like the incoming rows; a column that is all null in them is typed as text."""
    con.execute(f"CREATE TABLE {SCHEMA}.{table} AS SELECT * FROM incoming_rows LIMIT 0")
    for name, type_name in _duckdb_columns(con, f"{SCHEMA}.{table}"):
        if _duckdb_family(type_name) == NULL:
            con.execute(f'ALTER TABLE {SCHEMA}.{table} ALTER COLUMN "{name}" TYPE VARCHAR')


def _duckdb_columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]


def _duckdb_family(type_name: str) -> str:
    name = type_name.upper().strip('"')
    if name == "BOOLEAN":
        return BOOLEAN
    if name.endswith("INT") or name in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}:
        return INTEGER
    if name in {"FLOAT", "DOUBLE", "REAL"} or name.startswith("DECIMAL"):
        return FLOATING
    if name == "VARCHAR":
        return TEXT
    if name == "DATE":
        return DATE
    if name in {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"}:
        return TIMESTAMPTZ
    if name.startswith("TIMESTAMP"):
        return TIMESTAMP
    if name == "NULL":
        return NULL
    return name  # any other type (a list, a struct) only matches itself
