"""How well the calibrated price range holds on rows nobody calibrated it on.

Six splits: both real samples x three split seeds (as model_quality.py). For each, the default model is fitted
on train, its range calibrated on val (core.pricing.PriceRange, as the model step does) and read on test: the
share of test prices inside the 80% and 90% ranges and their mean width, beside the mean width of a
constant-width range (one ± $ for every listing) that holds the same share of the same test rows.

    .venv/bin/python benchmarks/price_range.py [--samples DIR]
"""

import argparse
import json
import os
import platform
import warnings
from pathlib import Path

import numpy as np
from model_quality import DEFAULT_SAMPLES, SAMPLES, SEEDS, THREADS, split_rows

from nyc_rental.core.pricing import PriceRange, range_scores
from nyc_rental.core.training import ModelParams, fit_candidate, predict_prices

INTERVALS = (0.8, 0.9)


def range_figures(rows: dict) -> dict:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=THREADS):
        candidate = fit_candidate(ModelParams(), rows["train"], rows["val"])
        tested = predict_prices(candidate.model, rows["test"].drop(columns="price"))
    price_range = PriceRange.calibrate(rows["val"].price, candidate.val_predicted)
    actual = rows["test"].price.to_numpy(dtype=float)
    figures = {}
    for interval in INTERVALS:
        low, high = price_range.bounds(tested, interval)
        coverage, width = range_scores(actual, low, high)
        # the narrowest constant ± that holds the same share of these test rows
        constant = float(np.quantile(np.abs(actual - tested), coverage, method="higher"))
        figures[f"{interval:.0%}"] = {
            "coverage": round(coverage, 4),
            "mean_width": round(width, 1),
            "constant_width_same_coverage": round(2 * constant, 1),
            "plus_minus_at_40_and_300": [
                round(float(high - price), 1)
                for price, high in zip((40, 300), price_range.bounds([40, 300], interval)[1])
            ],
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, default=Path(os.environ.get("NYC_RENTAL_SAMPLES") or DEFAULT_SAMPLES))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    table = []
    for sample in SAMPLES:
        for seed in SEEDS:
            rows = split_rows(args.samples / sample, seed)
            line = {"sample": sample, "seed": seed, "val_rows": len(rows["val"]), "test_rows": len(rows["test"])}
            table.append(line | range_figures(rows))
            print(json.dumps(table[-1]), flush=True)
    summary = {
        interval: {
            "coverage_min": min(line[interval]["coverage"] for line in table),
            "coverage_max": max(line[interval]["coverage"] for line in table),
            "narrower_than_constant_in": sum(
                line[interval]["mean_width"] < line[interval]["constant_width_same_coverage"] for line in table
            ),
        }
        for interval in (f"{i:.0%}" for i in INTERVALS)
    }
    print(json.dumps({"machine": f"{platform.machine()}, {os.cpu_count()} cores", "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
