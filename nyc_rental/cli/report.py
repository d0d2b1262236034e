"""`nyc-rental report`: every week in the warehouse, side by side (what each step kept, the model's
test MAE, the champion's on the same rows, whether the model became champion, and how many of the company's
properties ask under, within or over the market's range), read from the tables the assets write."""

import argparse
import sys

import pandas as pd

from nyc_rental import settings
from nyc_rental.core.portfolio import FLAGS
from nyc_rental.storage.warehouse import Warehouse

COUNTED = ("raw_listings", "clean_listings", "validated_listings")


def weeks_table(warehouse: Warehouse) -> pd.DataFrame:
    """One row per week: rows per listing table, then the week's model and test MAE, the champion it was compared
    with and that champion's MAE on the same test rows, and the promotion."""
    counts = [warehouse.rows_per_week(table).rename(table.removesuffix("_listings")) for table in COUNTED]
    frame = pd.concat([c for c in counts if len(c)], axis=1) if any(len(c) for c in counts) else pd.DataFrame()
    metrics = warehouse.read_all("test_metrics")
    if len(metrics):
        columns = ["model_version", "test_mae", "champion_version", "champion_test_mae", "promoted"]
        kept = metrics.set_index("week").reindex(columns=columns)  # a store older than a column reads it as empty
        renamed = {"champion_version": "champion_before", "champion_test_mae": "champion_mae"}
        frame = frame.join(kept.rename(columns=renamed), how="left")
    priced = warehouse.read_all("portfolio_prices")
    if len(priced) and not frame.empty:
        flags = priced.groupby(["week", "flag"]).size().unstack(fill_value=0).reindex(columns=list(FLAGS), fill_value=0)
        frame = frame.join(flags, how="left")
    if frame.empty:
        return frame
    frame.index = pd.to_datetime(frame.index).date
    frame.index.name = "week"
    return frame.sort_index()


def render(frame: pd.DataFrame) -> str:
    shown = frame.copy()
    for column in ("raw", "clean", "validated"):
        if column in shown:
            shown[column] = shown[column].map(lambda n: "-" if pd.isna(n) else f"{int(n):,}")
    for column in FLAGS:
        if column in shown:
            shown[column] = shown[column].map(lambda n: "-" if pd.isna(n) else f"{int(n)}")
    for column in ("test_mae", "champion_mae"):
        if column in shown:
            shown[column] = shown[column].map(lambda v: "-" if pd.isna(v) else f"{v:.2f}")
    return shown.astype(object).where(shown.notna(), "-").to_string()


def main(argv: list[str] | None = None, prog: str = "nyc-rental report") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    warehouse = Warehouse(
        path=str(settings.warehouse_path()),
        url=settings.warehouse_url() or "",
        lock_timeout_seconds=settings.lock_timeout_seconds(),
    )
    frame = weeks_table(warehouse)
    if frame.empty:
        print(
            f"no weeks in {warehouse.location} yet: run `make demo` or drop a delivery into {settings.incoming_dir()}"
        )
        return 1
    print(f"weeks in {warehouse.location}:")
    print(render(frame))
    return 0


if __name__ == "__main__":
    sys.exit(main())
