"""`nyc-rental migrate`: make the production stores ready for this version of the platform, before any service
starts (`make prod` and the compose stack's `migrate` service run it).

For each of DAGSTER_PG_URL, NYC_RENTAL_WAREHOUSE_URL and MLFLOW_BACKEND_STORE_URI (any PostgreSQL URL form), the
database is created when it does not exist, by asking the server's `postgres` database. An MLflow store an
older MLflow created is upgraded (`mlflow db upgrade`: the server refuses an outdated schema; a new one the
server creates itself), then Dagster's instance (`dagster instance migrate`, on DAGSTER_HOME's dagster.yaml).
Nothing printed holds a password.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from nyc_rental.storage.postgres_backend import redacted, scrubbed
from nyc_rental.storage.urls import with_driver

STORES = ("DAGSTER_PG_URL", "NYC_RENTAL_WAREHOUSE_URL", "MLFLOW_BACKEND_STORE_URI")
BIN = Path(sys.executable).parent


class MigrationError(Exception):
    pass


def ensure_database(url: str) -> bool:
    """Create the database `url` names when it does not exist; True when it was created."""
    import psycopg

    parts = urlsplit(with_driver(url, None))._replace(query="")
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as con:
            if con.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None:
                return False
            con.execute(f'CREATE DATABASE "{name}"')
            return True
    except psycopg.Error as error:
        message = scrubbed(str(error), url)
        raise MigrationError(f"cannot prepare database {name} on {redacted(admin)}: {message}") from None


def mlflow_schema_exists(url: str) -> bool:
    import psycopg

    with psycopg.connect(with_driver(url, None), connect_timeout=10) as con:
        return con.execute("SELECT to_regclass('public.alembic_version') IS NOT NULL").fetchone()[0]


def run(command: list, secret_url: str) -> None:
    """Run `command`; on failure, raise with its output, the URL's password left out."""
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True)
    if done.returncode != 0:
        shown = " ".join(redacted(str(part)) if str(part) == secret_url else str(part) for part in command[:3])
        raise MigrationError(f"{shown} failed: {scrubbed((done.stdout + done.stderr)[-3000:], secret_url)}")


def migrate() -> list[str]:
    """Prepare the three stores of the environment; what was done, one line each."""
    missing = [name for name in STORES if not os.environ.get(name)]
    if missing:
        raise MigrationError(f"set {', '.join(missing)} (docs/production.md)")
    done = []
    for name in STORES:
        if ensure_database(os.environ[name]):
            done.append(f"created the database of {name}: {redacted(with_driver(os.environ[name], None))}")
    store = os.environ["MLFLOW_BACKEND_STORE_URI"]
    if mlflow_schema_exists(store):
        run([BIN / "mlflow", "db", "upgrade", store], store)
        done.append("MLflow's store is at the installed MLflow's schema")
    run([BIN / "dagster", "instance", "migrate"], os.environ["DAGSTER_PG_URL"])
    done.append("Dagster's instance is at the installed Dagster's schema")
    return done


def main(argv: list[str] | None = None, prog: str = "nyc-rental migrate") -> int:
    argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0]).parse_args(argv)
    try:
        for line in migrate():
            print(line, flush=True)
    except MigrationError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
