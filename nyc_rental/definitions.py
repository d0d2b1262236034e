"""The code location: assets, checks (the data checks, the freshness check), jobs, sensors and the resources
over NYC_RENTAL_HOME.

`defs` is built when Dagster loads the location (`@definitions`), not when this module is imported. Nothing
imported here loads scikit-learn, SciPy, MLflow or matplotlib: the steps that need them import them, so the
code server, the daemon and every run process start without them.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import Definitions, EnvVar, ExecutorDefinition, definitions, multiprocess_executor

from nyc_rental import settings
from nyc_rental.defs.assets.listings import clean_listings, raw_listings, validated_listings
from nyc_rental.defs.assets.modeling import model, splits, test_metrics
from nyc_rental.defs.assets.portfolio import portfolio_prices
from nyc_rental.defs.checks import data_checks
from nyc_rental.defs.freshness import raw_listings_freshness_checks, raw_listings_freshness_sensor
from nyc_rental.defs.jobs import promote_model, reprice_portfolio, weekly_pipeline
from nyc_rental.defs.resources import DataTests, LandingFolder, PortfolioFile
from nyc_rental.defs.sensors import (
    close_mlflow_runs_of_failed_runs,
    finish_mlflow_runs_of_successful_runs,
    incoming_listings_sensor,
    reprice_portfolio_on_new_champion,
)
from nyc_rental.ml.tracking import EXPERIMENT, ModelRegistry, mlflow_run
from nyc_rental.runtime.executor import patient_in_process_executor, recorded
from nyc_rental.storage.io_manager import WarehouseIOManager
from nyc_rental.storage.warehouse import Warehouse

# Run config for runs launched from the command line: warnings and errors only on the console.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def executor_for(name: str) -> ExecutorDefinition:
    """The executor of weekly_pipeline and of materializations launched from the UI (NYC_RENTAL_EXECUTOR)."""
    if name == "in_process":
        return patient_in_process_executor
    if name == "multiprocess":
        return recorded(multiprocess_executor)
    # The production extra; only this location pays for Celery. The broker and result backend are read by the
    # run and by every worker (nyc_rental/runtime/celery_worker.py) from the environment, with the same settings.
    from dagster_celery import celery_executor

    config = {"broker": {"env": settings.CELERY_BROKER_ENV}, "config_source": settings.CELERY_SETTINGS}
    if os.environ.get(settings.CELERY_BACKEND_ENV):
        config["backend"] = {"env": settings.CELERY_BACKEND_ENV}  # else rpc://, as settings.celery_backend()
    return recorded(celery_executor).configured(config, name="celery")


def resources_for(home: Path, executor: str = "in_process") -> dict:
    # The URL is read from the environment when a run starts: the UI shows the variable's name, never its value.
    url = EnvVar("NYC_RENTAL_WAREHOUSE_URL") if settings.warehouse_url() else ""
    warehouse = Warehouse(
        path=str(settings.warehouse_path(home)), url=url, lock_timeout_seconds=settings.lock_timeout_seconds()
    )
    tracking_uri = settings.mlflow_tracking_uri(home)
    return {
        "warehouse": warehouse,
        "io_manager": WarehouseIOManager(warehouse=warehouse),
        "landing": LandingFolder(path=str(settings.incoming_dir(home))),
        "portfolio": PortfolioFile(path=str(settings.portfolio_file(home))),
        "data_tests": DataTests(warehouse=warehouse),
        "mlflow": mlflow_run.configured(
            {
                "experiment_name": EXPERIMENT,
                "mlflow_tracking_uri": tracking_uri,
                "artifact_root": str(settings.mlflow_artifact_root(home)),
                # in-process, the resource's teardown follows the run's last step; else the sensors end the run
                "end_with_last_step": executor == "in_process",
            }
        ),
        "registry": ModelRegistry(tracking_uri=tracking_uri),
    }


def build_defs(home: Path | None = None, executor: str | None = None) -> Definitions:
    """Definitions writing under `home` (default: NYC_RENTAL_HOME), running steps with `executor` (default:
    NYC_RENTAL_EXECUTOR, else in-process)."""
    executor = executor or settings.executor_name()
    return Definitions(
        assets=[raw_listings, clean_listings, validated_listings, splits, model, test_metrics, portfolio_prices],
        asset_checks=[data_checks, *raw_listings_freshness_checks],
        jobs=[weekly_pipeline, promote_model, reprice_portfolio],
        sensors=[
            incoming_listings_sensor,
            raw_listings_freshness_sensor,
            close_mlflow_runs_of_failed_runs,
            finish_mlflow_runs_of_successful_runs,
            reprice_portfolio_on_new_champion,
        ],
        resources=resources_for(home or settings.nyc_rental_home(), executor),
        # weekly_pipeline and materializations launched from the UI; promote_model always runs in-process.
        executor=executor_for(executor),
    )


@definitions
def defs() -> Definitions:
    """The location `dg`, `dagster dev`, the code server and `dagster asset materialize -m nyc_rental.definitions`
    load."""
    return build_defs()
