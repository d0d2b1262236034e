"""The platform's weekly work as one plain Python script: the yardstick `benchmarks/e2e.py` measures against.

Same reading, cleaning, split, fit and scoring with the same estimator as `weekly_pipeline`, and nothing else:
no Dagster, no DuckDB, no checks, no MLflow. Outputs go to files in OUT (the clean rows with their split,
the fitted model, the scores). Prints JSON: wall time and peak RSS of this process.

    .venv/bin/python benchmarks/bare_pipeline.py DELIVERY.csv OUT [--estimator NAME] [--sweep]
"""

import argparse
import json
import pickle
import resource
import time
from pathlib import Path

import pandas as pd

from nyc_rental.core.evaluation import score
from nyc_rental.core.rules import MAX_PRICE, MIN_PRICE, NYC_BOUNDING_BOX
from nyc_rental.core.splitting import assign_splits
from nyc_rental.core.training import ModelParams, best_of, fit_candidate, predict_prices, sweep_grid

# The course's basic_cleaning: the price range and the NYC bounding box.
BOX = NYC_BOUNDING_BOX


def run(delivery: Path, out: Path, estimator: str, sweep: bool = False) -> dict:
    started = time.perf_counter()
    rows = pd.read_csv(delivery)
    rows = rows[rows.price.between(MIN_PRICE, MAX_PRICE)]
    rows = rows[
        rows.longitude.between(BOX.min_longitude, BOX.max_longitude)
        & rows.latitude.between(BOX.min_latitude, BOX.max_latitude)
    ]
    rows = rows.drop_duplicates("id", keep="last").reset_index(drop=True)
    rows["last_review"] = pd.to_datetime(rows.last_review)
    rows["split"] = assign_splits(rows).to_numpy()

    train, val, test = (rows[rows.split == name].drop(columns="split") for name in ("train", "val", "test"))
    params = ModelParams(estimator=estimator)
    best = best_of([fit_candidate(p, train, val) for p in (sweep_grid(params) if sweep else [params])])
    model = best.model
    scores = {
        "val": best.validation.__dict__,
        "test": score(test.price, predict_prices(model, test.drop(columns="price"))).__dict__,
    }

    out.mkdir(parents=True, exist_ok=True)
    rows.to_csv(out / "clean_listings.csv", index=False)
    (out / "model.pkl").write_bytes(pickle.dumps(model))
    (out / "scores.json").write_text(json.dumps(scores, indent=2))
    return {
        "estimator": estimator,
        "candidates": len(sweep_grid(params)) if sweep else 1,
        "rows": len(rows),
        "test_mae": round(scores["test"]["mae"], 3),
        "seconds": round(time.perf_counter() - started, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("delivery", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--estimator", default="random_forest", choices=["random_forest", "gradient_boosting"])
    parser.add_argument("--sweep", action="store_true", help="fit the sweep's grid, keep the best by validation MAE")
    args = parser.parse_args()
    print(json.dumps(run(args.delivery, args.out, args.estimator, args.sweep)))


if __name__ == "__main__":
    main()
