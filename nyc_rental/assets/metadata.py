"""Small helpers that turn results into Dagster metadata a user reads in the UI."""

import pandas as pd
from dagster import MetadataValue


def markdown_table(frame: pd.DataFrame) -> MetadataValue:
    """A frame as a Markdown table (its columns only: reset the index first to show it)."""

    def cell(value) -> str:
        return f"{value:g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return MetadataValue.md("\n".join(lines))
