"""Every form of PostgreSQL URL a user types, from the processes they start by hand: `postgresql://`,
`postgres://` and `postgresql+psycopg2://` for the shipped production instance (`deploy/dagster.yaml`'s
DAGSTER_PG_URL) and the warehouse (NYC_RENTAL_WAREHOUSE_URL) under `dagster asset materialize`, and for
`mlflow server --backend-store-uri`."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import requests
from mlflow.tracking import MlflowClient

from nyc_rental_tests.helpers import synthetic_delivery
from nyc_rental_tests.integration.dagster_dev import REPO, free_port, wait_for
from nyc_rental_tests.services import postgres_database

pytestmark = pytest.mark.integration

FORMS = ("postgresql", "postgres", "postgresql+psycopg2")
BIN = Path(sys.executable).parent


def in_form(url: str, form: str) -> str:
    return f"{form}://{url.split('://', 1)[1]}"


def clean_env(**variables: str) -> dict:
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("NYC_RENTAL_", "DAGSTER_", "MLFLOW_"))}
    return {**kept, **variables}


@pytest.mark.parametrize("form", FORMS)
def test_a_week_materialized_from_the_cli_on_the_shipped_production_instance(form, tmp_path):
    """The run and its events in the instance's database, the week's rows in the warehouse's: nothing rewrites
    the URLs (SQLAlchemy 2.1 would read a plain postgresql:// with psycopg 3, which breaks Dagster's event log)."""
    with postgres_database() as instance_db, postgres_database() as warehouse_db:
        dagster_home, home = tmp_path / "dagster", tmp_path / "home"
        dagster_home.mkdir()
        shutil.copy(REPO / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
        synthetic_delivery(home / "incoming", "2019-07-03", rows=300)
        env = clean_env(
            DAGSTER_HOME=str(dagster_home),
            NYC_RENTAL_HOME=str(home),
            DAGSTER_PG_URL=in_form(instance_db, form),
            NYC_RENTAL_WAREHOUSE_URL=in_form(warehouse_db, form),
        )
        done = subprocess.run(
            [BIN / "dagster", "asset", "materialize", "-m", "nyc_rental.definitions", "--select", "raw_listings",
             "--partition", "2019-07-01"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        with psycopg.connect(instance_db) as con:
            assert [row[0] for row in con.execute("SELECT status FROM runs")] == ["SUCCESS"]
            events = con.execute("SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")
            assert events.fetchone()[0] == 1
        with psycopg.connect(warehouse_db) as con:
            assert con.execute("SELECT count(*) FROM nyc_rental.raw_listings").fetchone()[0] == 300


@pytest.mark.parametrize("form", FORMS)
def test_mlflow_server_keeps_runs_in_any_url_form(form, tmp_path):
    with postgres_database() as store:
        port = free_port()
        log = open(tmp_path / "mlflow-server.log", "w")  # noqa: SIM115 - closed below
        server = subprocess.Popen(
            [BIN / "mlflow", "server", "--backend-store-uri", in_form(store, form), "--serve-artifacts",
             "--artifacts-destination", str(tmp_path / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
             "--workers", "1"],
            env=clean_env(PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            wait_for(f"mlflow server on {form}://", lambda: _healthy(port, server), 120)
            client = MlflowClient(tracking_uri=f"http://127.0.0.1:{port}")
            run = client.create_run(client.create_experiment("urls"))
            client.log_metric(run.info.run_id, "test_mae", 31.5)
            assert client.get_run(run.info.run_id).data.metrics == {"test_mae": 31.5}
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=60)
            log.close()


def _healthy(port: int, server: subprocess.Popen) -> bool:
    assert server.poll() is None, "mlflow server exited"
    try:
        return requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
    except requests.RequestException:
        return False
