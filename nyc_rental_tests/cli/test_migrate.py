"""`nyc-rental migrate` on the machine's real Postgres: the stores' databases created when missing, Dagster's
instance migrated, and no password in what it prints when a store refuses it."""

import shutil
import uuid

import psycopg

from nyc_rental.cli import migrate
from nyc_rental_tests.conftest import REPO
from nyc_rental_tests.services import POSTGRES_ADMIN_URL, postgres_database, with_database


def test_missing_databases_are_created_and_the_instance_is_migrated(tmp_path, monkeypatch, capsys):
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    with postgres_database() as instance_db, postgres_database() as warehouse_db:
        missing = f"nyc_rental_test_{uuid.uuid4().hex[:12]}"
        monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
        monkeypatch.setenv("DAGSTER_PG_URL", instance_db)
        monkeypatch.setenv("NYC_RENTAL_WAREHOUSE_URL", warehouse_db)
        monkeypatch.setenv(
            "MLFLOW_BACKEND_STORE_URI", with_database(POSTGRES_ADMIN_URL, missing).replace("postgresql:", "postgres:")
        )
        try:
            assert migrate.main([]) == 0
            printed = capsys.readouterr().out
            assert (
                f"created the database of MLFLOW_BACKEND_STORE_URI: postgresql://postgres@127.0.0.1:5432/{missing}"
                in printed
            )
            with psycopg.connect(instance_db) as con:  # Dagster's tables, at the installed schema
                assert con.execute("SELECT to_regclass('public.runs') IS NOT NULL").fetchone()[0]
            assert migrate.main([]) == 0  # again: nothing to create
            assert "created" not in capsys.readouterr().out
        finally:
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{missing}" WITH (FORCE)')


def test_a_refused_login_is_reported_without_its_password(monkeypatch, capsys):
    refused = "postgresql://nobody_here:{}@127.0.0.1:5432/nyc_rental_nothing".format("s3cr%2Fet-word")
    for name in migrate.STORES:
        monkeypatch.setenv(name, refused)
    assert migrate.main([]) == 1
    error = capsys.readouterr().err
    assert "cannot prepare database nyc_rental_nothing on postgresql://nobody_here@127.0.0.1:5432/postgres" in error
    assert "s3cr" not in error


def test_the_stores_it_needs_are_named(monkeypatch, capsys):
    for name in migrate.STORES:
        monkeypatch.delenv(name, raising=False)
    assert migrate.main([]) == 1
    assert "set DAGSTER_PG_URL, NYC_RENTAL_WAREHOUSE_URL, MLFLOW_BACKEND_STORE_URI" in capsys.readouterr().err
