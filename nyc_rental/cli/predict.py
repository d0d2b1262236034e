"""`nyc-rental predict FILE.csv`: price listings with the champion model.

Writes FILE's rows, unchanged, with a `predicted_price` column, into $NYC_RENTAL_HOME/predictions/ (or where
`--output` says), and says which model version priced them. `--interval 0.8` adds `price_low` and `price_high`,
the model's calibrated range holding 80% of true prices. `--comparables 5` writes a second file beside it,
FILE_comparables.csv, one row per comparable: the priced row's number in FILE (from 1, as `row`) and id, then
the comparable's rank, id, name, neighbourhood, room type, minimum nights, distance in km and nightly price.
FILE needs only the delivery's columns it has: missing ones are treated as missing values, and named in a
warning when the model reads them. A file with none of the columns the model reads is refused.
"""

import argparse
import gzip
import io
import json
import sys
from pathlib import Path

import pandas as pd

from nyc_rental import settings
from nyc_rental.core.features import FEATURE_COLUMNS, model_input
from nyc_rental.core.pricing import COMPARABLE_FIELDS
from nyc_rental.core.training import predict_prices
from nyc_rental.ml.tracking import ModelRegistry


def read_rows(path: Path) -> pd.DataFrame:
    """The file's rows as text, exactly as written (gzip content is read whatever the name)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding_errors="replace")


def missing_columns(rows: pd.DataFrame) -> list[str]:
    """The columns the model reads that `rows` lacks."""
    return [name for name in FEATURE_COLUMNS if name not in rows.columns]


def comparables_table(rows: pd.DataFrame, comparables: pd.Series) -> pd.DataFrame:
    """One row per comparable: the priced row (its number in the file, from 1, and its id), the comparable's rank
    and what the model returned of it."""
    ids = rows["id"] if "id" in rows else pd.Series([""] * len(rows))
    lines = [
        {"row": number, "listing_id": listing_id, "rank": rank, **{f"comparable_{k}": v for k, v in found.items()}}
        for number, (listing_id, text) in enumerate(zip(ids, comparables), start=1)
        for rank, found in enumerate(json.loads(text), start=1)
    ]
    return pd.DataFrame(lines, columns=["row", "listing_id", "rank", *(f"comparable_{k}" for k in COMPARABLE_FIELDS)])


def main(argv: list[str] | None = None, prog: str = "nyc-rental predict") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a CSV of listings in the delivery format")
    parser.add_argument(
        "--output", type=Path, help="where to write (default: $NYC_RENTAL_HOME/predictions/FILE_predicted.csv)"
    )
    parser.add_argument("--version", help="a registered version of nyc_rental_price (default: the champion)")
    parser.add_argument(
        "--interval", type=float, help="add price_low and price_high: the range holding this share of prices (0.8)"
    )
    parser.add_argument(
        "--comparables", type=int, metavar="K", help="write the K listings most like each row to FILE_comparables.csv"
    )
    args = parser.parse_args(argv)
    if args.interval is not None and not 0 < args.interval < 1:
        parser.error(f"--interval {args.interval}: a share between 0 and 1, such as 0.8")
    if args.comparables is not None and args.comparables < 1:
        parser.error(f"--comparables {args.comparables}: a count of 1 or more, such as 5")
    if not args.file.is_file():
        parser.exit(2, f"{args.file}: no such file\n")
    rows = read_rows(args.file)
    missing = missing_columns(rows)
    if len(missing) == len(FEATURE_COLUMNS):
        parser.exit(
            2,
            f"{args.file} has none of the columns the model reads ({', '.join(FEATURE_COLUMNS)}); its columns: "
            f"{', '.join(map(str, rows.columns))}. Is it a CSV of listings in the delivery format, comma-delimited?\n",
        )
    if missing:
        print(
            f"warning: {args.file} lacks {len(missing)} of the {len(FEATURE_COLUMNS)} columns the model reads: "
            f"{', '.join(missing)}. They are priced as missing values: expect rougher prices.",
            file=sys.stderr,
        )

    registry = ModelRegistry(tracking_uri=settings.mlflow_tracking_uri())
    version = args.version
    if version is None:
        champion = registry.champion()
        if champion is None:
            parser.exit(2, f"no champion in {registry.tracking_uri}: run a week first (make demo)\n")
        version = str(champion.version)
    try:
        model = registry.load(version)
    except Exception as error:  # noqa: BLE001 - reported to the user as it is
        parser.exit(2, f"cannot load {registry.model_name} version {version}: {error}\n")
    params = {name: value for name, value in (("interval", args.interval), ("comparables", args.comparables)) if value}
    if params:
        from nyc_rental.ml.serving import PricesOnly, predict_with

        try:
            answer = predict_with(model, model_input(rows), **params)
        except PricesOnly as error:
            parser.exit(
                2,
                f"{registry.model_name} version {version}: {error}; leave out --interval and --comparables, "
                "or price with a newer version (--version)\n",
            )
        priced = rows.assign(predicted_price=answer.price.round(2).to_numpy())
        if args.interval:
            priced = priced.assign(price_low=answer.price_low.round(2).to_numpy())
            priced = priced.assign(price_high=answer.price_high.round(2).to_numpy())
    else:
        priced = rows.assign(predicted_price=predict_prices(model, model_input(rows)).round(2))
    stem = args.file.name.split(".")[0]
    output = args.output or settings.predictions_dir() / f"{stem}_predicted.csv"
    output.parent.mkdir(parents=True, exist_ok=True)
    priced.to_csv(output, index=False)
    print(f"priced {len(priced):,} rows of {args.file} with {registry.model_name} version {version} -> {output}")
    if args.comparables:
        found = comparables_table(rows, answer.comparables)
        beside = output.with_name(f"{output.name.split('.')[0].removesuffix('_predicted')}_comparables.csv")
        found.to_csv(beside, index=False)
        print(f"{len(found):,} comparables ({args.comparables} per row at most) -> {beside}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
