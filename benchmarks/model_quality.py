"""Accuracy of the course forest and of the default model on sample2, on rows neither saw in training.

Prints JSON: test MAE, R² and fit time of each with the default (id-hash) split, the MAE ratio, and the wall
time of the whole weekly run of sample2 (all six assets, in-process, a temporary home as every week but the
first finds it: see e2e.py).

    .venv/bin/python benchmarks/model_quality.py [--samples DIR] [--skip-pipeline]
"""

import argparse
import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

from nyc_rental.core.cleaning import clean_listings
from nyc_rental.core.delivery import read_delivery
from nyc_rental.core.evaluation import score
from nyc_rental.core.features import model_input
from nyc_rental.core.splitting import assign_splits
from nyc_rental.core.training import ModelParams, fit_candidate, predict_prices

DEFAULT_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "nyc_airbnb"


def model_figures(sample: Path) -> dict:
    clean = clean_listings(read_delivery(sample).frame).frame
    labels = assign_splits(clean)
    rows = model_input(clean).assign(price=clean.price)
    train, val, test = (rows[labels == name] for name in ("train", "val", "test"))
    figures = {}
    for estimator in ("random_forest", "gradient_boosting"):
        candidate = fit_candidate(ModelParams(estimator=estimator), train, val)
        tested = score(test.price, predict_prices(candidate.model, test.drop(columns="price")))
        figures[estimator] = {
            "test_mae": round(tested.mae, 3),
            "test_r2": round(tested.r2, 4),
            "val_mae": round(candidate.validation.mae, 3),
            "fit_seconds": round(candidate.fit_seconds, 2),
        }
    figures["rows"] = {"clean": len(clean), "train": len(train), "val": len(val), "test": len(test)}
    figures["mae_ratio_default_over_forest"] = round(
        figures["gradient_boosting"]["test_mae"] / figures["random_forest"]["test_mae"], 4
    )
    return figures


def weekly_run_seconds(sample: Path) -> float:
    from dagster import DagsterInstance
    from e2e import fresh_home

    from nyc_rental.definitions import build_defs

    with tempfile.TemporaryDirectory() as folder:
        home = fresh_home(Path(folder), sample)  # a temporary copy of the delivery; stores created
        job = build_defs(home).resolve_job_def("weekly_pipeline")
        quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
        with DagsterInstance.ephemeral() as instance:
            started = time.perf_counter()
            result = job.execute_in_process(partition_key="2019-07-08", instance=instance, run_config=quiet)
            assert result.success
            return round(time.perf_counter() - started, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=Path(os.environ.get("NYC_RENTAL_SAMPLES") or DEFAULT_SAMPLES))
    parser.add_argument("--skip-pipeline", action="store_true", help="only the models, not the weekly run")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    sample = args.samples / "sample2.csv"
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    report = {"sample": sample.name, "machine": machine, **model_figures(sample)}
    if not args.skip_pipeline:
        report["weekly_run_seconds"] = weekly_run_seconds(sample)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
