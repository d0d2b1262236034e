"""Running weeks for real and reading what they left in the warehouse."""

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from dagster import AssetKey

from nyc_rental.storage.warehouse import Warehouse
from nyc_rental.synthetic import generate_listings, write_delivery

LISTING_ASSETS = ("raw_listings", "clean_listings", "validated_listings")
MODELING_ASSETS = ("splits", "model", "test_metrics")
# `model`'s config for tests about everything but the fit: one thread (the model step's OpenMP threads slow
# down many times over when another process shares the two cores, and the thread count does not change the
# model, core/test_training.py) and a small booster (10 iterations on 10 title words, without the default's
# second booster and price signals: the step still fits, logs, registers and scores a model; its quality is
# tested on the real samples and in core/test_training.py). SMALL_DEFAULT_MODEL keeps the default's shape
# (both boosters, the cross-fitted price levels, the title's ridge price) for tests of the registered model.
ONE_THREAD = {"threads": 1}
SMALL_DEFAULT_MODEL = {**ONE_THREAD, "max_iter": 10, "boosting_tfidf_features": 10}
SMALL_MODEL = {**SMALL_DEFAULT_MODEL, "boosting_target": "price", "target_encoding": False, "title_model": False}


def merged(base: dict, extra: dict) -> dict:
    """`base` with `extra` laid over it, nested dicts merged key by key (run configs); neither is changed."""
    result = dict(base)
    for key, value in extra.items():
        result[key] = (
            merged(result[key], value) if isinstance(value, dict) and isinstance(result.get(key), dict) else value
        )
    return result


def run_week(
    defs, instance, week: str, run_config: dict | None = None, assets=LISTING_ASSETS, min_rows: int | None = None
):
    """One real, in-process run of weekly_pipeline for a week (by default its listing assets and their
    checks; `assets=None` for all six); failures are returned, not raised. `min_rows` lowers the row_count
    data test's floor for this run (the `data_tests` resource, as typed in the Launchpad), so that a small
    synthetic week of a few thousand listings passes it."""
    job = defs.resolve_job_def("weekly_pipeline")
    if min_rows is not None:
        run_config = merged(run_config or {}, {"resources": {"data_tests": {"config": {"min_rows": min_rows}}}})
    return job.execute_in_process(
        partition_key=week,
        instance=instance,
        run_config=run_config or {},
        asset_selection=None if assets is None else [AssetKey(name) for name in assets],
        raise_on_error=False,
    )


@contextmanager
def reading(home: Path) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection to the home's warehouse (None before it exists), taking its turn on the file as
    the platform's processes do: a test reading while runs write waits for the writer instead of failing."""
    path = home / "warehouse.duckdb"
    if not path.exists():
        yield None
        return
    with Warehouse(path=str(path)).connect(read_only=True) as con:
        yield con


def week_counts(home: Path, table: str) -> dict[str, int]:
    """Rows per week of a warehouse table ({} when the table does not exist)."""
    with reading(home) as con:
        if con is None:
            return {}
        exists = con.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema='nyc_rental' AND table_name=?", [table]
        ).fetchone()
        if not exists:
            return {}
        rows = con.execute(f"SELECT week, count(*) FROM nyc_rental.{table} GROUP BY 1 ORDER BY 1").fetchall()
    return {week.isoformat(): n for week, n in rows}


def read_table(home: Path, table: str, week: str) -> pd.DataFrame:
    with reading(home) as con:
        return con.execute(
            f"SELECT * FROM nyc_rental.{table} WHERE week = ? ORDER BY ALL", [dt.date.fromisoformat(week)]
        ).df()


def synthetic_delivery(incoming: Path, day: str, rows: int = 20_000, seed: int = 7, edit=None) -> Path:
    """A synthetic delivery dated `day`, optionally edited (a function of the frame) before writing."""
    frame = generate_listings(rows, seed=seed, snapshot=dt.date.fromisoformat(day))
    if edit is not None:
        frame = edit(frame)
    return write_delivery(frame, incoming / f"listings_{day}.csv")


def check_results(result) -> dict[str, bool]:
    """The run's data checks by name. A run of selected assets also runs the freshness check of raw_listings,
    which is about the asset, not the week (test_freshness.py): left out here."""
    return {
        evaluation.check_name: evaluation.passed
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name != "freshness_check"
    }


def materialization_metadata(result, asset: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return {key: value.value for key, value in event.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialized")


def materialization_entries(result, asset: str) -> dict:
    """The metadata of the asset's materialization as Dagster stored it (MetadataValue objects: their types
    decide what the UI plots and how it shows them)."""
    for event in result.get_asset_materialization_events():
        if event.asset_key.to_user_string() == asset:
            return dict(event.materialization.metadata)
    raise AssertionError(f"{asset} was not materialized")


def inline_svg(markdown: str) -> str:
    """The SVG a Markdown metadata value shows in place (`![alt](data:image/svg+xml,...)`, under the UI's 1,000
    characters), with its escapes undone."""
    assert len(markdown) < 1000, f"{len(markdown)} characters: the UI would hide it behind a button"
    found = re.fullmatch(r"!\[[^\]]*\]\(data:image/svg\+xml,(\S+)\)", markdown)
    assert found, f"no inline SVG in {markdown[:200]!r}"
    return urllib.parse.unquote(found.group(1))


def declared_columns(defs, asset: str) -> list[str]:
    """The columns an asset declares in `dagster/column_schema` (what the asset page lists)."""
    spec = defs.resolve_assets_def(asset).specs_by_key[AssetKey(asset)]
    return [column.name for column in spec.metadata["dagster/column_schema"].schema.columns]


def failure_messages(result) -> str:
    return "\n".join(
        str(event.message) + str(event.event_specific_data) for event in result.all_events if event.is_failure
    )


@contextmanager
def warehouse_held_open(path: Path) -> Iterator[int]:
    """Another process (as a DuckDB CLI or notebook would) holding `path` open; yields its PID."""
    code = f"import duckdb, time; con = duckdb.connect({str(path)!r}); print('open', flush=True); time.sleep(600)"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()


@contextmanager
def serving_champion(tracking_uri: str) -> Iterator[Callable[[list[dict]], list[float]]]:
    """`mlflow models serve` of the champion from `tracking_uri` on a free port, as a user starts it (uvicorn
    from the virtualenv's PATH); yields a function posting records (and params) to /invocations and returning
    predictions."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    env = {**os.environ, "PATH": path, "MLFLOW_TRACKING_URI": tracking_uri}
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/nyc_rental_price@champion",
         "--env-manager", "local", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip

    def invocations(records: list[dict], params: dict | None = None) -> list:
        body = {"dataframe_records": records, **({"params": params} if params else {})}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())["predictions"]

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, "mlflow models serve exited"
            assert time.monotonic() < deadline, "mlflow models serve did not answer /ping within 120 s"
            time.sleep(1)
        yield invocations
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
