"""Writing and reading a real week on both warehouse backends: the DuckDB file and Postgres.

The week is sample2 (48,895 listings) as `raw_listings` stores it (every value as text, plus provenance) and
as `clean_listings` does (typed). Each backend first holds four other weeks of the same table (a warehouse in
use, not an empty one); then the week is replaced (`Warehouse.replace_week`: delete and insert in one
transaction, COPY on Postgres) and read back (`read_week`) `--repeat` times. Prints JSON: median and fastest
seconds of each, per backend and table. Postgres is this machine's (a database of its own, dropped after).

    .venv/bin/python benchmarks/warehouse_write.py [--repeat 7]
"""

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import pandas as pd  # noqa: E402

from nyc_rental.core.cleaning import clean_listings  # noqa: E402
from nyc_rental.core.delivery import RAW_COLUMNS, read_delivery  # noqa: E402
from nyc_rental.storage.warehouse import Warehouse  # noqa: E402
from nyc_rental_tests.services import postgres_database  # noqa: E402

SAMPLES = Path(os.environ.get("NYC_RENTAL_SAMPLES") or REPO.parent / "shared" / "data" / "nyc_airbnb")
WEEK = dt.date(2019, 7, 8)


def timed(action, repeat: int) -> dict:
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - started)
    return {"median": round(statistics.median(seconds), 3), "fastest": round(min(seconds), 3)}


def measure(warehouse: Warehouse, tables: dict[str, pd.DataFrame], repeat: int) -> dict:
    figures = {}
    for table, frame in tables.items():
        for weeks_back in range(1, 5):
            warehouse.replace_week(table, WEEK - dt.timedelta(weeks=weeks_back), frame)
        figures[table] = {
            "rows": len(frame),
            "replace_week_seconds": timed(lambda t=table, f=frame: warehouse.replace_week(t, WEEK, f), repeat),
            "read_week_seconds": timed(lambda t=table: warehouse.read_week(t, WEEK), repeat),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    raw = read_delivery(SAMPLES / "sample2.csv").frame[list(RAW_COLUMNS)]  # as raw_listings stores it
    raw["ingested_at"] = pd.Timestamp.now(tz="UTC")
    tables = {"raw_listings": raw, "clean_listings": clean_listings(raw).frame}
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    with tempfile.TemporaryDirectory() as folder:
        report["duckdb"] = measure(Warehouse(path=str(Path(folder) / "warehouse.duckdb")), tables, args.repeat)
    with postgres_database("nyc_rental_bench") as url:
        report["postgres"] = measure(Warehouse(url=url), tables, args.repeat)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
