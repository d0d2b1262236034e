"""Dagster's Postgres instance storage for any PostgreSQL URL a user types (`deploy/dagster.yaml`'s
`storage: custom:`).

dagster-postgres hands its URL to SQLAlchemy as it is, and SQLAlchemy 2.1 reads a plain `postgresql://` with
psycopg 3, whose server-side parameters break the event log's `NOTIFY run_events, …` (see
docs/upstream/dagster-postgres-psycopg3-notify.md), while `postgres://` is no SQLAlchemy URL at all. These
classes are dagster-postgres' with the URL given psycopg2, the driver dagster-postgres requires. The composite
storage names its three parts as classes of this module in the instance reference every run process, code server
and Celery worker rebuilds the instance from, so each of them reads the URL the same way.
"""

from __future__ import annotations

from dagster._serdes import ConfigurableClassData
from dagster_postgres import (
    DagsterPostgresStorage,
    PostgresEventLogStorage,
    PostgresRunStorage,
    PostgresScheduleStorage,
)
from dagster_postgres.utils import get_token_provider_from_config, pg_url_from_config

from nyc_rental.storage.urls import with_driver

DRIVER = "psycopg2"


def _arguments(inst_data, config_value) -> dict:
    return {
        "inst_data": inst_data,
        "postgres_url": with_driver(pg_url_from_config(config_value), DRIVER),
        "should_autocreate_tables": config_value.get("should_autocreate_tables", True),
        "token_provider": get_token_provider_from_config(config_value),
    }


class RunStorage(PostgresRunStorage):
    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(**_arguments(inst_data, config_value))


class EventLogStorage(PostgresEventLogStorage):
    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(**_arguments(inst_data, config_value))


class ScheduleStorage(PostgresScheduleStorage):
    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(**_arguments(inst_data, config_value))


class PostgresStorage(DagsterPostgresStorage):
    """`storage: custom: {module: nyc_rental.runtime.postgres_storage, class: PostgresStorage, config:
    {postgres_url: {env: DAGSTER_PG_URL}}}`: the configuration of dagster-postgres' storage, any URL form."""

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(**_arguments(inst_data, config_value))

    def _part(self, name: str) -> ConfigurableClassData | None:
        return ConfigurableClassData(__name__, name, self.inst_data.config_yaml) if self.inst_data else None

    @property
    def event_storage_data(self) -> ConfigurableClassData | None:
        return self._part(EventLogStorage.__name__)

    @property
    def run_storage_data(self) -> ConfigurableClassData | None:
        return self._part(RunStorage.__name__)

    @property
    def schedule_storage_data(self) -> ConfigurableClassData | None:
        return self._part(ScheduleStorage.__name__)
