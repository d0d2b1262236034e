"""Accuracy of the course forest and of the default model (or named candidates) on rows neither saw in training.

Six splits: both real samples x three split seeds (id-hash split, SplitParams.random_seed). For each split it
prints the forest's and each model's test MAE, R² and fit seconds and the MAE ratio model / forest, then per
model the median and the worst ratio of the six and its longest fit. The forest is fitted once per split and
reused for every candidate of the run. Fits run with 2 threads (threadpoolctl), as the model step does alone.
Unless --skip-pipeline, it also times the whole weekly run of sample2 (all six assets, in-process, a temporary
home as every week but the first finds it: see e2e.py).

    .venv/bin/python benchmarks/model_quality.py [--samples DIR] [--skip-pipeline] [--candidate NAME ...]
    .venv/bin/python benchmarks/model_quality.py --list
"""

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path

from nyc_rental.core.cleaning import clean_listings
from nyc_rental.core.delivery import read_delivery
from nyc_rental.core.evaluation import score
from nyc_rental.core.features import model_input
from nyc_rental.core.splitting import SplitParams, assign_splits
from nyc_rental.core.training import ModelParams, build_model, predict_prices

DEFAULT_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "nyc_airbnb"
SAMPLES = ("sample1.csv", "sample2.csv")
SEEDS = (42, 7, 2026)
THREADS = 2
# The candidates tried for issue 13, each a ModelParams of build_model (benchmarks/CANDIDATES.md has their
# figures; those built on options since removed, such as neighbour prices, are in commit 0452ae3).
OLD_DEFAULT = ModelParams(target_encoding=False, title_model=False, boosting_target="price", boosting_max_features=1.0)
CANDIDATES = {
    "default": ModelParams(),
    "forest": ModelParams(estimator="random_forest"),
    "old_default": OLD_DEFAULT,
    "log_target": replace(OLD_DEFAULT, boosting_target="log"),
    "target_encoding": replace(OLD_DEFAULT, target_encoding=True),
    "title_model": replace(OLD_DEFAULT, title_model=True),
    "both_features": replace(OLD_DEFAULT, target_encoding=True, title_model=True),
}


def split_rows(sample: Path, seed: int) -> dict:
    clean = clean_listings(read_delivery(sample).frame).frame
    labels = assign_splits(clean, SplitParams(random_seed=seed))
    rows = model_input(clean).assign(price=clean.price)
    return {name: rows[labels == name] for name in ("train", "val", "test")}


def figures(params: ModelParams, rows: dict) -> dict:
    """Fit on train; test MAE, R², val MAE and fit seconds."""
    from threadpoolctl import threadpool_limits

    train, val, test = rows["train"], rows["val"], rows["test"]
    model = build_model(params)
    with threadpool_limits(limits=THREADS):
        started = time.perf_counter()
        model.fit(train.drop(columns="price"), train.price.to_numpy(dtype=float))
        seconds = time.perf_counter() - started
        tested = score(test.price, predict_prices(model, test.drop(columns="price")))
        validated = score(val.price, predict_prices(model, val.drop(columns="price")))
    return {
        "test_mae": round(tested.mae, 3),
        "test_r2": round(tested.r2, 4),
        "val_mae": round(validated.mae, 3),
        "fit_seconds": round(seconds, 2),
    }


def model_figures(samples: Path, names: list[str]) -> dict:
    table = []
    for sample in SAMPLES:
        for seed in SEEDS:
            rows = split_rows(samples / sample, seed)
            line = {"sample": sample, "seed": seed, "rows": {k: len(v) for k, v in rows.items()}}
            line["forest"] = figures(CANDIDATES["forest"], rows)  # once per split, for every candidate
            for name in names:
                line[name] = figures(CANDIDATES[name], rows)
                line[name]["ratio"] = round(line[name]["test_mae"] / line["forest"]["test_mae"], 4)
            table.append(line)
    summary = {
        name: {
            "median_ratio": round(statistics.median(line[name]["ratio"] for line in table), 4),
            "worst_ratio": max(line[name]["ratio"] for line in table),
            "max_fit_seconds": max(line[name]["fit_seconds"] for line in table),
        }
        for name in names
    }
    return {"splits": table, "summary": summary}


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
    parser.add_argument(
        "--candidate", action="append", choices=[n for n in CANDIDATES if n != "forest"], help="default: 'default'"
    )
    parser.add_argument("--list", action="store_true", help="print the candidates' parameters and stop")
    args = parser.parse_args()
    if args.list:
        print(json.dumps({name: params.relevant() for name, params in CANDIDATES.items()}, indent=2))
        return
    warnings.simplefilter("ignore")
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    report = {"machine": machine, "threads": THREADS, **model_figures(args.samples, args.candidate or ["default"])}
    if not args.skip_pipeline:
        report["weekly_run_seconds"] = weekly_run_seconds(args.samples / "sample2.csv")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
