"""The platform as users run it: `dagster dev`, its UI's GraphQL, the sensor and backfills through the daemon."""

import pytest
from mlflow.tracking import MlflowClient

from nyc_rental.ml.tracking import CHAMPION, MODEL_NAME
from nyc_rental_tests.helpers import synthetic_delivery, week_counts
from nyc_rental_tests.integration.dagster_dev import ui_screenshots

pytestmark = pytest.mark.integration

ASSETS = ["raw_listings", "clean_listings", "validated_listings", "splits", "model", "test_metrics", "portfolio_prices"]
CHECKS = [
    "column_names",
    "neighbourhood_names",
    "price_range",
    "proper_boundaries",
    "row_count",
    "similar_neighbourhood_distribution",
]
ROWS = 16_500  # above the course's 15,000-row minimum once cleaning has dropped its ~5 %
WAREHOUSE_STEPS = {"raw_listings", "clean_listings", "validated_listings", "splits", "test_metrics", "portfolio_prices"}

ASSET_NODES = """
{ assetNodes { assetKey { path } groupName pools isPartitioned
    assetChecksOrError { ... on AssetChecks { checks { name blocking } } } } }
"""
REPOSITORY = """
{ repositoriesOrError { ... on RepositoryConnection { nodes { name
    jobs { name } sensors { name sensorState { status } } } } } }
"""


def registry(dev) -> MlflowClient:
    uri = f"sqlite:///{dev.home / 'mlflow.db'}"
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_the_ui_shows_the_assets_their_checks_the_jobs_and_the_running_sensors(dev):
    nodes = {node["assetKey"]["path"][-1]: node for node in dev.query(ASSET_NODES)["assetNodes"]}
    assert sorted(nodes) == sorted(ASSETS)
    assert all(node["isPartitioned"] for node in nodes.values())
    assert {name: node["groupName"] for name, node in nodes.items()} == {
        **dict.fromkeys(ASSETS[:3], "listings"),
        **dict.fromkeys(ASSETS[3:6], "modeling"),
        "portfolio_prices": "portfolio",
    }
    checks = nodes["clean_listings"]["assetChecksOrError"]["checks"]
    assert sorted(check["name"] for check in checks) == CHECKS and all(check["blocking"] for check in checks)
    assert {name for name, node in nodes.items() if node["pools"] == ["warehouse"]} == WAREHOUSE_STEPS
    assert not nodes["model"]["pools"]  # the weeks' models train side by side, a core each

    (repository,) = dev.query(REPOSITORY)["repositoriesOrError"]["nodes"]
    assert {"weekly_pipeline", "promote_model"} <= {job["name"] for job in repository["jobs"]}
    sensors = {sensor["name"]: sensor["sensorState"]["status"] for sensor in repository["sensors"]}
    assert sensors == {
        "incoming_listings_sensor": "RUNNING",
        "raw_listings_freshness_sensor": "RUNNING",
        "close_mlflow_runs_of_failed_runs": "RUNNING",
        "finish_mlflow_runs_of_successful_runs": "RUNNING",
        "reprice_portfolio_on_new_champion": "RUNNING",
    }


def test_a_delivery_dropped_in_incoming_runs_its_week_and_registers_the_champion(dev):
    synthetic_delivery(dev.home / "incoming", "2019-07-03", rows=ROWS, seed=1)
    run = dev.wait_for_run("2019-07-01")
    assert run["status"] == "SUCCESS", dev.failure_text(run["runId"])
    tags = {tag["key"]: tag["value"] for tag in run["tags"]}
    assert tags["nyc_rental/delivery"] == "listings_2019-07-03.csv" and tags["dagster/sensor_name"]

    client = registry(dev)
    (version,) = client.search_model_versions(f"name='{MODEL_NAME}'")
    assert version.tags["week"] == "2019-07-01" and version.tags["dagster_run_id"] == run["runId"]
    assert client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version == version.version
    assert client.get_run(version.run_id).info.status == "FINISHED"
    metrics = dev.materialization(run["runId"], "test_metrics")
    assert 0 < metrics["test_mae"] < 60 and metrics["promoted"] is True
    assert week_counts(dev.home, "test_metrics") == {"2019-07-01": 1}


def test_the_asset_graph_page_renders_the_seven_assets_in_chromium(dev, tmp_path):
    script = ui_screenshots()
    picture = tmp_path / "asset_graph.png"
    assert sorted(script.capture(dev.url, picture, timeout=120)) == sorted(ASSETS)
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size > 20_000


def test_four_weeks_backfilled_like_the_ui_run_once_each_taking_turns_on_the_warehouse(dev):
    dev.stop_sensor()  # the backfill, not the sensor, is what runs these weeks
    weeks = ["2019-08-05", "2019-08-12", "2019-08-19", "2019-08-26"]
    for seed, week in enumerate(weeks, start=10):
        synthetic_delivery(dev.home / "incoming", week, rows=ROWS, seed=seed)
    backfill = dev.wait_for_backfill(dev.launch_backfill(weeks, ASSETS))

    failures = {run["runId"]: dev.failure_text(run["runId"]) for run in backfill["runs"] if run["status"] != "SUCCESS"}
    assert backfill["status"] == "COMPLETED_SUCCESS" and not failures, failures
    runs = backfill["runs"]
    # One run per week, each week once, and each week's model and scores stored once ...
    run_weeks = sorted(tag["value"] for run in runs for tag in run["tags"] if tag["key"] == "dagster/partition")
    assert run_weeks == weeks
    assert set(week_counts(dev.home, "test_metrics")) >= set(weeks)
    assert all(count == 1 for count in week_counts(dev.home, "model").values())
    # ... every table holds each week's rows once, whichever runs wrote side by side (they take turns on the
    # warehouse file, readers together, a writer alone) ...
    raw = week_counts(dev.home, "raw_listings")
    assert all(raw[week] == ROWS for week in weeks), raw
    for table in ("clean_listings", "validated_listings", "splits"):
        stored = week_counts(dev.home, table)
        assert all(0 < stored[week] <= ROWS for week in weeks), (table, stored)
    # ... and no step waited out the whole lock timeout or failed on the DuckDB lock.
    assert not any("locked" in dev.failure_text(run["runId"]) for run in runs)
