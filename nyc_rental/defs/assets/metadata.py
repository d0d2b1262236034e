"""Small helpers that turn results into Dagster metadata a user reads in the UI.

Numbers a user plots stay numbers (Dagster's Plots tab graphs IntMetadataValue and FloatMetadataValue entries,
by partition or by time), rounded to what a person reads; a value that does not exist for a week is left out
rather than written as text, so the entry stays numeric in every partition. Charts are small SVGs the page shows
in place (inline_plots.py).
"""

import re

import pandas as pd
from dagster import MetadataValue

BREAK = "\u200b"  # zero-width space: where a line may break
LONG_WORD = re.compile(r"\S{16,}")


def markdown_table(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> MetadataValue:
    """A frame as a Markdown table (its columns only: reset the index first to show it); `formats` maps a
    column to a format spec (".2f", ",d", ".1%"), other floats print with `g`.

    The page shows a value in a column about 310 pixels wide on a laptop (inline_plots.py): a header may break
    after an underscore (a zero-width space follows each, `model_version` on one line is too wide beside three
    other columns) and so may a cell's word over 15 characters (`calculated_host_listings_count`, 250 pixels;
    `neighbourhood_group` in the column profile)."""
    formats = formats or {}

    def cell(column: str, value) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return "–"
        if column in formats:
            return format(value, formats[column])
        if isinstance(value, float):
            return f"{value:g}"
        return LONG_WORD.sub(lambda word: word.group().replace("_", "_" + BREAK), str(value))

    columns = [str(c) for c in frame.columns]
    headers = [column.replace("_", "_" + BREAK) for column in columns]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join(cell(c, v) for c, v in zip(columns, row)) + " |" for row in frame.itertuples(index=False)
    ]
    return MetadataValue.md("\n".join(lines))
