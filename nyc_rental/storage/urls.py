"""PostgreSQL URLs as users type them, for each library that reads them.

A user may write `postgresql://`, `postgres://` (Heroku's and many tools' form) or a SQLAlchemy URL naming a
driver, `postgresql+psycopg2://` or `postgresql+psycopg://`. libpq (psycopg, the warehouse) takes the first two;
SQLAlchemy takes the last two, and `postgresql://` with the driver it prefers: psycopg 3 from SQLAlchemy 2.1,
whose server-side parameters break dagster-postgres' `NOTIFY run_events, …`. Each reader gets the form it needs.
"""

from __future__ import annotations

SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg", "postgres+psycopg2")


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def is_postgres_url(url: str) -> bool:
    return scheme_of(url) in SCHEMES


def with_driver(url: str, driver: str | None) -> str:
    """`url` as `postgresql+<driver>://…`, or `postgresql://…` for libpq when `driver` is None; a URL of another
    kind is returned as it is."""
    if not is_postgres_url(url):
        return url
    rest = url.split("://", 1)[1]
    return f"postgresql+{driver}://{rest}" if driver else f"postgresql://{rest}"
