"""The course's data tests, as plain functions over a week of clean listings.

Each returns an `Outcome`: whether it passed, one sentence a user can act on, and the figures behind it.
The Dagster checks are thin wrappers over these, and `failed_tests` lets the validated table refuse a
week on the same grounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nyc_rental.core.cleaning import inside_bounding_box
from nyc_rental.core.delivery import REQUIRED_COLUMNS
from nyc_rental.core.rules import BOROUGHS, ListingLimits

EXAMPLE_IDS = 10


@dataclass(frozen=True)
class QualityThresholds(ListingLimits):
    """The course's data-test defaults: the listing limits, the plausible row count and the drift threshold."""

    min_rows: int = 15_000
    max_rows: int = 1_000_000
    kl_threshold: float = 0.2


@dataclass(frozen=True)
class Outcome:
    passed: bool
    summary: str
    figures: dict = field(default_factory=dict)


def _ids(frame: pd.DataFrame, mask: pd.Series) -> list[int]:
    return [int(i) for i in frame.loc[mask, "id"].head(EXAMPLE_IDS)]


def column_names(frame: pd.DataFrame) -> Outcome:
    """The 16 columns of the summary format, in the course's order (other columns may follow)."""
    found = [name for name in frame.columns if name in REQUIRED_COLUMNS]
    missing = [name for name in REQUIRED_COLUMNS if name not in found]
    if missing:
        return Outcome(False, f"missing column(s): {', '.join(missing)}", {"missing": missing})
    if found != list(REQUIRED_COLUMNS):
        return Outcome(False, f"columns out of the course's order: {', '.join(found)}", {"order": found})
    return Outcome(True, "all 16 required columns, in order", {"columns": len(found)})


def neighbourhood_names(frame: pd.DataFrame) -> Outcome:
    """Every borough is one of the five, and all five are there."""
    values = frame["neighbourhood_group"]
    unknown = ~values.isin(BOROUGHS)
    absent = [b for b in BOROUGHS if b not in set(values.dropna())]
    unknown_names = sorted(values[unknown].astype(str).unique().tolist())
    figures = {
        "unknown_rows": int(unknown.sum()),
        "unknown_names": unknown_names[:EXAMPLE_IDS],
        "absent_boroughs": absent,
        "example_ids": _ids(frame, unknown),
    }
    problems = []
    if unknown.any():
        problems.append(f"{int(unknown.sum())} row(s) outside the five boroughs ({', '.join(unknown_names[:5])})")
    if absent:
        problems.append(f"no listing in {', '.join(absent)}")
    if problems:
        return Outcome(False, "; ".join(problems), figures)
    return Outcome(True, "the five boroughs, and nothing else", figures)


def proper_boundaries(frame: pd.DataFrame, limits: QualityThresholds) -> Outcome:
    """Every listing inside the New York City bounding box."""
    outside = ~inside_bounding_box(frame, limits)
    figures = {"outside_rows": int(outside.sum()), "example_ids": _ids(frame, outside)}
    if outside.any():
        return Outcome(False, f"{int(outside.sum())} listing(s) outside the bounding box", figures)
    return Outcome(True, "every listing inside the bounding box", figures)


def price_range(frame: pd.DataFrame, limits: QualityThresholds) -> Outcome:
    """Every price within [min_price, max_price]."""
    out = ~frame["price"].between(limits.min_price, limits.max_price)
    figures = {
        "out_of_range_rows": int(out.sum()),
        "min_price": float(frame["price"].min()),
        "max_price": float(frame["price"].max()),
        "example_ids": _ids(frame, out),
    }
    if out.any():
        return Outcome(
            False, f"{int(out.sum())} price(s) outside [{limits.min_price:g}, {limits.max_price:g}]", figures
        )
    return Outcome(True, f"every price within [{limits.min_price:g}, {limits.max_price:g}]", figures)


def row_count(frame: pd.DataFrame, limits: QualityThresholds) -> Outcome:
    """A plausible number of listings: strictly between min_rows and max_rows."""
    rows = len(frame)
    figures = {"rows": rows, "min_rows": limits.min_rows, "max_rows": limits.max_rows}
    if limits.min_rows < rows < limits.max_rows:
        return Outcome(True, f"{rows} rows", figures)
    return Outcome(False, f"{rows} rows, expected between {limits.min_rows} and {limits.max_rows}", figures)


def borough_shares(frame: pd.DataFrame) -> pd.Series:
    return frame["neighbourhood_group"].value_counts(normalize=True).sort_index()


def kl_divergence(week: pd.Series, reference: pd.Series) -> float:
    """KL(week || reference) in bits over the union of categories; infinite if the reference lacks one."""
    categories = week.index.union(reference.index)
    p = week.reindex(categories, fill_value=0.0).to_numpy(dtype=float)
    q = reference.reindex(categories, fill_value=0.0).to_numpy(dtype=float)
    p, q = p / p.sum(), q / q.sum()
    support = p > 0
    if np.any(q[support] == 0):
        return float("inf")
    return float(np.sum(p[support] * np.log2(p[support] / q[support])))


def similar_neighbourhood_distribution(
    frame: pd.DataFrame, reference: pd.Series | None, limits: QualityThresholds, reference_name: str = "reference"
) -> Outcome:
    """The week's borough shares are close to the reference week's (its shares or its counts): KL divergence
    below the threshold."""
    if reference is None or reference.empty:
        return Outcome(True, "no reference week yet: nothing to compare with", {"reference": None})
    shares = borough_shares(frame)
    kl = kl_divergence(shares, reference)
    figures = {
        "kl_divergence": kl,
        "kl_threshold": limits.kl_threshold,
        "reference": reference_name,
        "shares": {k: round(float(v), 4) for k, v in shares.items()},
        "reference_shares": {k: round(float(v), 4) for k, v in (reference / reference.sum()).items()},
    }
    if kl < limits.kl_threshold:
        return Outcome(True, f"KL divergence {kl:.4f} from {reference_name}, below {limits.kl_threshold}", figures)
    return Outcome(
        False,
        f"borough shares drifted from {reference_name}: KL divergence {kl:.4f} is not below {limits.kl_threshold}",
        figures,
    )


DATA_TESTS = (
    "column_names",
    "neighbourhood_names",
    "proper_boundaries",
    "price_range",
    "row_count",
    "similar_neighbourhood_distribution",
)


def run_data_tests(
    frame: pd.DataFrame,
    limits: QualityThresholds,
    reference: pd.Series | None = None,
    reference_name: str = "reference",
    only: tuple[str, ...] = DATA_TESTS,
) -> dict[str, Outcome]:
    """The named data tests of a week (all of them by default), by name."""
    tests = {
        "column_names": lambda: column_names(frame),
        "neighbourhood_names": lambda: neighbourhood_names(frame),
        "proper_boundaries": lambda: proper_boundaries(frame, limits),
        "price_range": lambda: price_range(frame, limits),
        "row_count": lambda: row_count(frame, limits),
        "similar_neighbourhood_distribution": lambda: similar_neighbourhood_distribution(
            frame, reference, limits, reference_name
        ),
    }
    return {name: tests[name]() for name in only}
