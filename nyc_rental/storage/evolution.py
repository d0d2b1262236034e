"""The tables' shape, shared by both backends: schema `nyc_rental`, one table per asset holding its weeks in a
`week` column, and how a stored table follows the code that writes it.

A column the code adds is added (earlier weeks read it as null), a column it stops writing stays, a column whose
values widen (integer to float, date to timestamp) is widened, and only a change that cannot be cast is refused.
"""

from __future__ import annotations

SCHEMA = "nyc_rental"
WEEK_COLUMN = "week"
# Postgres keeps no insertion order: each row carries its place in its week, so reads return the rows as written.
ROW_COLUMN = "row_in_week"

# Column families, shared by both backends' types; a stored column of family B accepts values of family A when
# (A, B) is in _CASTS, and is widened to A when (B, A) is.
BOOLEAN, INTEGER, FLOATING, TEXT, DATE, TIMESTAMP, TIMESTAMPTZ, NULL = (
    "boolean", "integer", "floating", "text", "date", "timestamp", "timestamptz", "null",
)  # fmt: skip
_CASTS = {(BOOLEAN, INTEGER), (BOOLEAN, FLOATING), (INTEGER, FLOATING), (DATE, TIMESTAMP)}
SQL_TYPES = {
    "duckdb": {BOOLEAN: "BOOLEAN", INTEGER: "BIGINT", FLOATING: "DOUBLE", TEXT: "VARCHAR", DATE: "DATE",
               TIMESTAMP: "TIMESTAMP", TIMESTAMPTZ: "TIMESTAMPTZ"},
    "postgres": {BOOLEAN: "boolean", INTEGER: "bigint", FLOATING: "double precision", TEXT: "text", DATE: "date",
                 TIMESTAMP: "timestamp", TIMESTAMPTZ: "timestamptz"},
}  # fmt: skip


class WarehouseError(RuntimeError):
    """The warehouse cannot do what was asked; the message names the table, the column or the server."""


def evolve(table: str, stored: dict[str, str], incoming: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The columns to add and the columns to widen so that `incoming` fits `stored` (column → family), or a
    WarehouseError naming the column whose values cannot be cast to what the table holds."""
    added, widened = {}, {}
    for name, family in incoming.items():
        held = stored.get(name)
        if held is None:
            added[name] = TEXT if family == NULL else family
        elif family in (NULL, held) or held == TEXT or (family, held) in _CASTS:
            continue
        elif (held, family) in _CASTS:
            widened[name] = family
        else:
            raise WarehouseError(
                f"{SCHEMA}.{table}.{name} holds {held} values, the new rows hold {family} values, which cannot be cast "
                f"to {held}: restore the code that wrote them, or convert the column by hand (ALTER TABLE "
                f"{SCHEMA}.{table} ALTER COLUMN {name} TYPE …) and materialize again; the stored weeks are untouched"
            )
    return added, widened
