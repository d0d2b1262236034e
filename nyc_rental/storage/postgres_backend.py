"""The Postgres backend: any number of writers, each week written with COPY in its own transaction.

psycopg and pyarrow (the `production` extra) are imported when a connection is made, not with this module.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote, urlsplit

import pandas as pd

from nyc_rental.storage.evolution import (
    BOOLEAN,
    DATE,
    FLOATING,
    INTEGER,
    NULL,
    ROW_COLUMN,
    SCHEMA,
    SQL_TYPES,
    TEXT,
    TIMESTAMP,
    TIMESTAMPTZ,
    WEEK_COLUMN,
    WarehouseError,
    evolve,
)
from nyc_rental.storage.urls import with_driver


def redacted(url: str) -> str:
    """A database URL without its password (and without query parameters, which may carry one)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username}@{host}" if parts.username else host
    if parts.port:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def scrubbed(text: str, url: str) -> str:
    """`text` with the URL and its password replaced, for messages from a driver that may quote them."""
    password = urlsplit(url).password
    text = text.replace(url, redacted(url))
    for secret in {password, unquote(password or "")} - {None, ""}:
        text = text.replace(secret, "***")
    return text


class PostgresBackend:
    """A Postgres database: each week is written with COPY in its own transaction, so runs write concurrently;
    changes to a table's columns take turns under an advisory lock."""

    kind = "postgres"

    def __init__(self, url: str):
        self.url = with_driver(url, None)  # libpq's form: a SQLAlchemy driver name is dropped

    @contextmanager
    def connect(self):
        import psycopg

        try:
            connection = psycopg.connect(self.url, autocommit=True, connect_timeout=10, application_name="nyc_rental")
        except psycopg.Error as error:
            raise WarehouseError(
                f"cannot connect to the warehouse {redacted(self.url)}: {scrubbed(str(error), self.url).strip()} "
                "(check NYC_RENTAL_WAREHOUSE_URL: server, port, database, user and password)"
            ) from None
        try:
            connection.execute("SET TIME ZONE 'UTC'")
            yield connection
        finally:
            connection.close()

    @contextmanager
    def exclusively(self, name: str) -> Iterator[None]:
        with self.connect() as con:  # the session holds the lock; closing it (or its death) releases it
            con.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"{SCHEMA}.{name}"])
            yield

    def _columns(self, con, table: str) -> dict[str, str]:
        rows = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [SCHEMA, table],
        ).fetchall()
        return {name: _postgres_family(type_name) for name, type_name in rows}

    def replace_week(self, table: str, week: dt.date, rows: pd.DataFrame) -> None:
        import psycopg
        from psycopg.copy import QueuedLibpqWriter

        rows = rows.assign(**{ROW_COLUMN: range(len(rows))})
        schema, converted = _arrow_schema(rows)
        incoming = {field.name: _arrow_family(field.type, table) for field in schema}
        types = SQL_TYPES[self.kind]
        with self.connect() as con:
            # Changes to the tables' columns take turns; writing the rows does not.
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [SCHEMA])
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
                stored = self._columns(con, table)
                if not stored:
                    columns = ", ".join(f'"{name}" {types[TEXT if f == NULL else f]}' for name, f in incoming.items())
                    con.execute(f"CREATE TABLE {SCHEMA}.{table} ({columns})")
                    con.execute(f"CREATE INDEX ON {SCHEMA}.{table} ({WEEK_COLUMN}, {ROW_COLUMN})")
                else:
                    added, widened = evolve(table, stored, incoming)
                    for name, family in added.items():
                        con.execute(f'ALTER TABLE {SCHEMA}.{table} ADD COLUMN "{name}" {types[family]}')
                    for name, family in widened.items():
                        via = "::integer" if stored[name] == BOOLEAN else ""
                        con.execute(
                            f'ALTER TABLE {SCHEMA}.{table} ALTER COLUMN "{name}" TYPE {types[family]} '
                            f'USING "{name}"{via}::{types[family]}'
                        )
            names = ", ".join(f'"{name}"' for name in schema.names)
            try:
                with con.transaction(), con.cursor() as cursor:
                    cursor.execute(f"DELETE FROM {SCHEMA}.{table} WHERE {WEEK_COLUMN} = %s", [week])
                    statement = f"COPY {SCHEMA}.{table} ({names}) FROM STDIN (FORMAT csv)"
                    # The rows go in slices, sent by a thread of psycopg's: the server parses one slice while
                    # this process converts the next (0.36 s against 0.40 s for a 49,000-row raw week).
                    with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
                        for batch in _batches(rows, schema, converted):
                            copy.write(_csv(batch))
            except psycopg.errors.DataError as error:
                raise WarehouseError(f"the rows of week {week} do not fit {SCHEMA}.{table}: {error}") from None

    def _read(self, con, table: str, where: str, week: dt.date | None, keep_week: bool) -> pd.DataFrame:
        import pyarrow.csv as pcsv

        families = self._columns(con, table)
        families.pop(ROW_COLUMN, None)
        if not keep_week:
            families.pop(WEEK_COLUMN)
        names = ", ".join(f'"{name}"' for name in families)
        query = f"SELECT {names} FROM {SCHEMA}.{table} {where} ORDER BY {WEEK_COLUMN}, {ROW_COLUMN}"
        buffer = io.BytesIO()
        statement = f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER)"
        with con.cursor() as cursor, cursor.copy(statement, [week] if week else None) as copy:
            for chunk in copy:
                buffer.write(chunk)
        buffer.seek(0)
        data = pcsv.read_csv(
            buffer,
            convert_options=pcsv.ConvertOptions(
                column_types={name: _arrow_type_of(f) for name, f in families.items() if f in _KNOWN},
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                true_values=["t"],
                false_values=["f"],
            ),
        )
        return _like_duckdb(data, families)

    def read_week(self, table: str, week: dt.date) -> pd.DataFrame | None:
        with self.connect() as con:
            if not self._columns(con, table):
                return None
            return self._read(con, table, f"WHERE {WEEK_COLUMN} = %s", week, keep_week=False)

    def read_all(self, table: str) -> pd.DataFrame:
        with self.connect() as con:
            if not self._columns(con, table):
                return pd.DataFrame()
            return self._read(con, table, "", None, keep_week=True)

    def query(self, sql: str, week: dt.date | None = None, table: str | None = None) -> pd.DataFrame:
        with self.connect() as con:
            if table is not None and not self._columns(con, table):
                return pd.DataFrame()
            cursor = con.execute(sql.replace("$week", "%s"), [week] if "$week" in sql else None)
            frame = pd.DataFrame(cursor.fetchall(), columns=[column.name for column in cursor.description])
            return _dates_as_datetimes(frame)


def _postgres_family(type_name: str) -> str:
    return {
        "boolean": BOOLEAN,
        "smallint": INTEGER,
        "integer": INTEGER,
        "bigint": INTEGER,
        "real": FLOATING,
        "double precision": FLOATING,
        "numeric": FLOATING,
        "text": TEXT,
        "character varying": TEXT,
        "character": TEXT,
        "date": DATE,
        "timestamp without time zone": TIMESTAMP,
        "timestamp with time zone": TIMESTAMPTZ,
    }.get(type_name, type_name)


def _arrow_family(arrow_type, table: str) -> str:
    import pyarrow as pa

    kinds = [
        (pa.types.is_boolean, BOOLEAN),
        (pa.types.is_integer, INTEGER),
        (pa.types.is_floating, FLOATING),
        (pa.types.is_decimal, FLOATING),
        (pa.types.is_string, TEXT),
        (pa.types.is_large_string, TEXT),
        (pa.types.is_date, DATE),
        (pa.types.is_null, NULL),
    ]
    for test, family in kinds:
        if test(arrow_type):
            return family
    if pa.types.is_timestamp(arrow_type):
        return TIMESTAMPTZ if arrow_type.tz else TIMESTAMP
    raise WarehouseError(f"{SCHEMA}.{table}: values of type {arrow_type} cannot be stored; convert them to text")


_SLICE_ROWS = 8192


def _arrow_schema(rows: pd.DataFrame):
    """The Arrow schema of `rows` without converting them (a column's dtype, or its first value for a column of
    text), and the columns of other Python objects converted whole (a mix of types is stored as text)."""
    import pyarrow as pa

    fields, converted = [], {}
    for name in rows.columns:
        series = rows[name]
        first = series.first_valid_index()
        if series.dtype == object and first is not None and isinstance(series[first], str):
            fields.append(pa.field(name, pa.string()))
            continue
        if series.dtype != object:
            try:
                fields.append(pa.field(name, pa.array(series.head(0), from_pandas=True).type))
                continue
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                pass
        converted[name] = _column(series, None)
        fields.append(pa.field(name, converted[name].type))
    return pa.schema(fields), converted


def _column(series: pd.Series, arrow_type):
    import pyarrow as pa

    try:
        return pa.array(series, type=arrow_type, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        if arrow_type not in (None, pa.string()):
            raise
        return pa.array(series.map(lambda v: None if pd.isna(v) else str(v)), type=pa.string())


def _batches(rows: pd.DataFrame, schema, converted: dict):
    """`rows` as Arrow record batches of _SLICE_ROWS rows, converted slice by slice."""
    import pyarrow as pa

    for start in range(0, len(rows), _SLICE_ROWS):
        part = rows.iloc[start : start + _SLICE_ROWS]
        arrays = [
            converted[f.name].slice(start, len(part)) if f.name in converted else _column(part[f.name], f.type)
            for f in schema
        ]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def _csv(data) -> memoryview:
    """CSV in Postgres' own reading: an unquoted empty field is null, a quoted one an empty string."""
    import pyarrow.csv as pcsv

    sink = io.BytesIO()
    pcsv.write_csv(data, sink, pcsv.WriteOptions(include_header=False, quoting_style="all_valid"))
    return sink.getbuffer()


def _arrow_type_of(family: str):
    import pyarrow as pa

    return {
        BOOLEAN: pa.bool_(),
        INTEGER: pa.int64(),
        FLOATING: pa.float64(),
        TEXT: pa.string(),
        DATE: pa.date32(),
        TIMESTAMP: pa.timestamp("us"),
        TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
    }[family]


_KNOWN = (BOOLEAN, INTEGER, FLOATING, TEXT, DATE, TIMESTAMP, TIMESTAMPTZ)


def _like_duckdb(data, families: dict[str, str]) -> pd.DataFrame:
    """The frame DuckDB's `.df()` gives, so that assets read the same frame from either backend: integers as
    int64 (Int64 when a value is missing), dates and timestamps as microsecond datetimes."""
    import pyarrow as pa

    frame = data.to_pandas(date_as_object=False, types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    for name, family in families.items():
        if family == INTEGER and not frame[name].hasnans:
            frame[name] = frame[name].astype("int64")
        elif family in (DATE, TIMESTAMP):
            frame[name] = frame[name].astype("datetime64[us]")
        elif family == TIMESTAMPTZ:
            frame[name] = frame[name].astype("datetime64[us, UTC]")
    return frame


def _dates_as_datetimes(frame: pd.DataFrame) -> pd.DataFrame:
    """Date columns of a query result as DuckDB gives them (datetime64[us])."""
    for name in frame.columns:
        first = frame[name].dropna().head(1).tolist()
        if first and isinstance(first[0], dt.date) and not isinstance(first[0], dt.datetime):
            frame[name] = pd.to_datetime(frame[name]).astype("datetime64[us]")
    return frame
