"""`nyc-rental predict FILE.csv`: price listings with the champion model.

Writes FILE's rows, unchanged, with a `predicted_price` column, into $NYC_RENTAL_HOME/predictions/ (or where
`--output` says), and says which model version priced them.
FILE needs only the delivery's columns it has: missing ones are treated as missing values, and named in a
warning when the model reads them. A file with none of the columns the model reads is refused.
"""

import argparse
import gzip
import io
import sys
from pathlib import Path

import pandas as pd

from nyc_rental import settings
from nyc_rental.core.features import FEATURE_COLUMNS, model_input
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


def main(argv: list[str] | None = None, prog: str = "nyc-rental predict") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a CSV of listings in the delivery format")
    parser.add_argument(
        "--output", type=Path, help="where to write (default: $NYC_RENTAL_HOME/predictions/FILE_predicted.csv)"
    )
    parser.add_argument("--version", help="a registered version of nyc_rental_price (default: the champion)")
    args = parser.parse_args(argv)
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
    priced = rows.assign(predicted_price=predict_prices(model, model_input(rows)).round(2))
    output = args.output or settings.predictions_dir() / f"{args.file.name.split('.')[0]}_predicted.csv"
    output.parent.mkdir(parents=True, exist_ok=True)
    priced.to_csv(output, index=False)
    print(f"priced {len(priced):,} rows of {args.file} with {registry.model_name} version {version} -> {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
