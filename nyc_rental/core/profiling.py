"""A week's table at a glance: each column's type, gaps, distinct values and range, and the price's
distribution. Plain pandas, cheap enough to run on every week: a 20,000-row week profiles in a few hundredths
of a second (part of validated_listings' step in `make bench-profile`)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

PROFILE_COLUMNS = ("column", "dtype", "null_pct", "distinct", "min", "p25", "median", "p75", "max")


def column_profile(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per column: dtype, share of nulls (percent, 2 decimals), distinct non-null values and, for
    numbers and dates, min / quartiles / max (numbers to 4 significant digits, dates as ISO dates)."""
    rows = []
    for name in frame.columns:
        column = frame[name]
        values = column.dropna()
        row = {
            "column": str(name),
            "dtype": str(column.dtype),
            "null_pct": round(100 * (1 - len(values) / len(column)), 2) if len(column) else 0.0,
            "distinct": int(values.nunique()),
        }
        if not len(values) or pd.api.types.is_bool_dtype(column):
            pass
        elif pd.api.types.is_numeric_dtype(column):
            quartiles = np.percentile(values.to_numpy(dtype=float), [0, 25, 50, 75, 100])
            row.update(zip(PROFILE_COLUMNS[4:], (float(f"{q:.4g}") for q in quartiles)))
        elif pd.api.types.is_datetime64_any_dtype(column) or isinstance(values.iloc[0], dt.date):
            quartiles = pd.to_datetime(values).quantile([0, 0.25, 0.5, 0.75, 1.0])
            row.update(zip(PROFILE_COLUMNS[4:], (q.date().isoformat() for q in quartiles)))
        rows.append(row)
    return pd.DataFrame(rows, columns=list(PROFILE_COLUMNS))


def price_histogram(prices: pd.Series, bins: int = 10) -> pd.DataFrame:
    """Counts of nightly prices in `bins` equal dollar ranges from the cheapest to the dearest (whole dollars),
    with each range's share of the week in percent (1 decimal)."""
    values = prices.dropna().to_numpy(dtype=float)
    if not len(values):
        return pd.DataFrame(columns=["price", "listings", "share_pct"])
    low, high = np.floor(values.min()), np.ceil(values.max())
    edges = np.linspace(low, high if high > low else low + 1, bins + 1)
    counts, edges = np.histogram(values, bins=edges)
    return pd.DataFrame(
        {
            "price": [f"${a:,.0f}–{b:,.0f}" for a, b in zip(edges[:-1], edges[1:])],
            "listings": counts.astype(int),
            "share_pct": np.round(100 * counts / len(values), 1),
        }
    )
