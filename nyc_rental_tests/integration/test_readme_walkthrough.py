"""The walkthrough (docs/getting-started.md), run as a new user runs it: every command of its ```bash blocks,
verbatim, in order, from a copy of the repository with the default homes (`data/`, `.dagster/`), and what each
promises checked.

`make test` and `make test-all`, when the page shows them, are the commands not run here: they are what runs this.
"""

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import requests
from mlflow.tracking import MlflowClient

from nyc_rental.ml.tracking import CHAMPION, MODEL_NAME
from nyc_rental_tests.helpers import week_counts
from nyc_rental_tests.integration.dagster_dev import (
    REPO,
    DagsterUI,
    ctrl_c,
    start_in_session,
    ui_screenshots,
    wait_for,
)
from nyc_rental_tests.integration.readme import bash_commands, walkthrough_text

pytestmark = pytest.mark.integration

DEMO = "make demo"
DEV = "make dev"
DELIVER = ".venv/bin/nyc-rental demo --deliver-only --weeks 1 --first-week 2019-07-15"
DRIFT = ".venv/bin/nyc-rental demo --deliver-only --weeks 1 --first-week 2019-07-22 --drift"
REMOVE = "rm data/incoming/listings_2019-07-24.csv"
CORRECT = ".venv/bin/nyc-rental demo --deliver-only --weeks 1 --first-week 2019-07-22"
REPORT = "make report"
MLFLOW_UI = "make mlflow-ui"
PROMOTE = "make promote VERSION=2"
PREDICT = ".venv/bin/nyc-rental predict data/incoming/listings_2019-07-10.csv --interval 0.8 --comparables 5"
SERVE = "make serve"
VALIDATE = "make validate"
RUN_BY_CI = {"make test", "make test-all"}


def readme_commands() -> list[str]:
    """Every command of the walkthrough page's ```bash blocks (the production profile's are on their own page,
    which test_production.py runs against a production stack of its own)."""
    return bash_commands(walkthrough_text())


def curl_command() -> str:
    (command,) = [c for c in readme_commands() if c.startswith("curl ")]
    return command


def mlflow_predict_command() -> str:
    """`mlflow models predict` of the champion, as the README shows it (plain MLflow, no nyc-rental command)."""
    (command,) = [c for c in readme_commands() if "mlflow models predict" in c]
    return command


def test_the_walkthrough_runs_every_command_of_the_readme():
    steps = {DEMO, DEV, DELIVER, DRIFT, REMOVE, CORRECT, REPORT, MLFLOW_UI, PROMOTE, PREDICT, SERVE, VALIDATE}
    commands = set(readme_commands()) - RUN_BY_CI
    assert commands == steps | {curl_command(), mlflow_predict_command()}, commands ^ steps


@pytest.fixture
def checkout(tmp_path) -> Path:
    """The repository's files (as a clone would have them) beside the already built virtualenv."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    root = tmp_path / "nyc-rental"
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)  # timestamps kept: make sees an installed .venv
    (root / ".venv").symlink_to(REPO / ".venv")
    return root


def user_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NYC_RENTAL_", "MLFLOW_", "DAGSTER_"))}
    return {**env, "NYC_RENTAL_SENSOR_INTERVAL_SECONDS": "2", "PYTHONUNBUFFERED": "1"}


def run(command: str, cwd: Path, timeout: float = 600) -> str:
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=user_env(), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def readme_demo_lines() -> list[str]:
    text = walkthrough_text()
    return re.findall(r"^  (2019-07-0[18]  ok .*)$", text, re.M)


def printed_as_documented(printed: str, documented: str) -> bool:
    """The same words and the same counts, but for the last digits of what the model computes: its test MAE
    within 10 cents and the portfolio's under / within / over within 3 of 200 properties. The boosters' sums
    are made in another order by another CPU's vector instructions (the same lock and seeds give a first week
    of 32.16 on an x86_64 machine with AVX-512 and 32.22 on one without), and a property on the edge of its
    range moves with them."""
    parts, expected = re.split(r"(\d[\d,.]*\d|\d)", printed), re.split(r"(\d[\d,.]*\d|\d)", documented)
    if len(parts) != len(expected):
        return False
    for index, (part, wanted) in enumerate(zip(parts, expected)):
        if index % 2 == 0 or part == wanted:
            if part != wanted:
                return False
            continue
        if expected[index - 1].endswith("test MAE "):
            tolerance = 0.10
        elif expected[index + 1].startswith((" under", " within", " over")):
            tolerance = 3
        else:
            return False
        if abs(float(part.replace(",", "")) - float(wanted.replace(",", ""))) > tolerance:
            return False
    return True


def test_printed_as_documented_allows_the_last_digits_of_the_model_only():
    documented = "2019-07-08  ok  delivered 20,000  model v2: test MAE 32.45, not promoted  portfolio: 20 under, 137 within, 43 over"
    close = documented.replace("32.45", "32.44").replace("137 within, 43", "138 within, 42")
    assert printed_as_documented(documented, documented) and printed_as_documented(close, documented)
    for wrong in (
        documented.replace("20,000", "20,001"),
        documented.replace("v2", "v3"),
        documented.replace("32.45", "32.60"),
        documented.replace("43 over", "47 over"),
        documented.replace("not promoted", "promoted"),
        documented + " and more",
    ):
        assert not printed_as_documented(wrong, documented), wrong


def test_the_walkthrough_verbatim(checkout):
    data = checkout / "data"
    shown = run(DEMO, checkout)
    printed = [line.strip() for line in shown.splitlines()]
    assert readme_demo_lines() and all(
        any(printed_as_documented(line, documented) for line in printed) for documented in readme_demo_lines()
    ), shown

    dev = start_in_session(["bash", "-c", DEV], checkout, user_env(), checkout / "make-dev.log")
    servers = [dev]
    try:
        ui = DagsterUI(3000)
        wait_for("make dev to serve the code location on port 3000", ui.location_loaded, 180)
        started = (checkout / "make-dev.log").read_text()
        assert "bin/dg dev " in started and "SupersessionWarning" not in started, started[-3000:]  # dg, not dagster dev
        # The demo's runs are in the run history, tagged as the sensor tags a delivery's run.
        for week, name in (("2019-07-01", "listings_2019-07-03.csv"), ("2019-07-08", "listings_2019-07-10.csv")):
            (demo_run,) = ui.week_runs(week)
            assert demo_run["status"] == "SUCCESS"
            assert {"key": "nyc_rental/delivery", "value": name} in demo_run["tags"]

        run(DELIVER, checkout)
        delivered = ui.wait_for_run("2019-07-15", timeout=600)
        assert delivered["status"] == "SUCCESS", ui.failure_text(delivered["runId"])
        assert {"key": "nyc_rental/delivery", "value": "listings_2019-07-17.csv"} in delivered["tags"]
        # By now the sensor has looked at the demo's files many times: it knew them as run, as the page says.
        assert [len(ui.week_runs(week)) for week in ("2019-07-01", "2019-07-08")] == [1, 1]

        run(DRIFT, checkout)
        drifted = ui.wait_for_run("2019-07-22", timeout=600)
        assert drifted["status"] == "FAILURE"
        message = ui.failure_text(drifted["runId"])
        assert "borough shares drifted from week 2019-07-15" in message and "not below 0.2" in message
        assert "2019-07-22" not in week_counts(data, "validated_listings")

        run(REMOVE, checkout)
        run(CORRECT, checkout)
        corrected = ui.wait_for_run("2019-07-22", timeout=600, count=2)
        assert corrected["status"] == "SUCCESS", ui.failure_text(corrected["runId"])

        report = run(REPORT, checkout)
        for week in ("2019-07-01", "2019-07-08", "2019-07-15", "2019-07-22"):
            assert re.search(rf"^{week}\s+20,000", report, re.M), report
        print(report)  # the walkthrough's example comes from here

        mlflow_ui = start_in_session(["bash", "-c", MLFLOW_UI], checkout, user_env(), checkout / "mlflow-ui.log")
        servers.append(mlflow_ui)
        wait_for("the MLflow UI on port 5000", lambda: _answers("http://127.0.0.1:5000/health"), 120)
        # It prints the address of the experiment's runs (the view the walkthrough says to open).
        assert "/runs?workflowType=machine_learning" in (checkout / "mlflow-ui.log").read_text()
        newcomer_sees_the_story(ui.url, "http://127.0.0.1:5000", checkout / "screenshots")
        ctrl_c(mlflow_ui, MLFLOW_UI, group=True)

        assert re.search(r"^2019-07-22 .* False +\d+ +\d+ +\d+$", report, re.M), report  # version 1 stayed
        run(PROMOTE, checkout)
        uri = f"sqlite:///{data / 'mlflow.db'}"
        assert str(MlflowClient(uri, uri).get_model_version_by_alias(MODEL_NAME, CHAMPION).version) == "2"
        # the champion moved by hand: the daemon's sensor prices the latest week's portfolio again with it
        repriced = ui.wait_for_run("2019-07-22", timeout=300, count=3)  # after the drifted and the corrected run
        assert repriced["jobName"] == "reprice_portfolio" and repriced["status"] == "SUCCESS"

        priced = run(PREDICT, checkout)
        written = checkout / "data" / "predictions" / "listings_2019-07-10_predicted.csv"
        assert f"with nyc_rental_price version 2 -> {written}" in priced
        assert written.read_text().count("\n") == 20_001
        ranged = pd.read_csv(written)
        assert ((ranged.price_low <= ranged.predicted_price) & (ranged.predicted_price <= ranged.price_high)).all()
        comparables = pd.read_csv(data / "predictions" / "listings_2019-07-10_comparables.csv")
        assert len(comparables) == 100_000 and "-> " in priced and "100,000 comparables" in priced
        run(mlflow_predict_command(), checkout)
        predictions = json.loads((data / "predictions.json").read_text())["predictions"]
        expected = pd.read_csv(written).predicted_price
        assert len(predictions) == 20_000 and (pd.Series(predictions).round(2) - expected).abs().max() < 0.006

        serve = start_in_session(["bash", "-c", SERVE], checkout, user_env(), checkout / "make-serve.log")
        servers.append(serve)
        wait_for("make serve to answer on port 5001", lambda: _answers("http://127.0.0.1:5001/ping"), 180)
        answer = json.loads(run(curl_command(), checkout))
        (priced_one,) = answer["predictions"]
        assert priced_one["price_low"] < priced_one["price"] < priced_one["price_high"]
        assert 50 < priced_one["price"] < 500
        ctrl_c(serve, SERVE, group=True)

        run(VALIDATE, checkout)
    finally:
        for server in reversed(servers):
            if server.poll() is None:
                ctrl_c(server, "a server of the walkthrough", group=True)
    assert sorted(p.name for p in (data / "incoming").iterdir()) == [
        ".gitkeep",
        "listings_2019-07-03.csv",
        "listings_2019-07-10.csv",
        "listings_2019-07-17.csv",
        "listings_2019-07-24.csv",
    ]


def newcomer_sees_the_story(dagster_url: str, mlflow_url: str, folder: Path) -> None:
    """Both UIs in Chromium, as the documentation's pictures show them (scripts/ui_screenshots.py makes those)."""
    seen = ui_screenshots().tour(dagster_url, mlflow_url, folder, timeout=180)
    # test_metrics' page charts test MAE by week and predicted against actual in place, and its Plots tab charts
    # every numeric entry (by event: the demo's 2019 weeks are older than the partition view's newest 120 weeks).
    assert seen["test_metrics_inline_charts"] == [
        "mean predicted by actual-price decile; dashed: exact",
        "test MAE by week",
    ]
    assert seen["test_metrics_charts"] >= 4, seen["test_metrics_chart_titles"]
    assert all(title in seen["test_metrics_chart_titles"] for title in ("test_mae", "test_r2", "champion_test_mae"))
    # model's page shows its plot in place, not a file:// link.
    assert seen["model_inline_images"] == ["val MAE + $ when an input is shuffled"], seen
    # validated_listings' page lists its columns, with their types.
    text = seen["validated_listings_text"]
    assert "Columns" in text and all(column in text for column in ("neighbourhood_group", "room_type", "price"))
    # On a laptop (1440×900 and 1366×768, navigation shown) the inline charts and tables of these three pages show
    # whole: none has its right edge cut off (by window, "asset: entry" -> pixels cut off).
    assert seen["laptop_cut_off"] == {"1440x900": {}, "1366x768": {}}, seen["laptop_cut_off"]
    charts = {
        "model: feature_importance_plot",
        "test_metrics: test_mae_by_week_plot",
        "validated_listings: borough_shares_plot",
    }
    assert charts <= set(seen["laptop_room"]["1366x768"]), seen["laptop_room"]  # measured, not missed
    # The MLflow experiment opens on its runs, each named after its week and run.
    assert "/experiments/" in seen["mlflow_url"]
    assert any(name.startswith("week 2019-07-01") for name in seen["mlflow_run_names"]), seen["mlflow_run_names"]
    for picture in ("test_metrics_plots.png", "model_page.png", "validated_listings_columns.png", "mlflow_runs.png"):
        assert (folder / picture).read_bytes()[:4] == b"\x89PNG", picture


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        time.sleep(1)
        return False
