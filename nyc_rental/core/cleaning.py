"""The course's basic cleaning, made explicit: parse every column, then drop rows by named rules.

Each dropped row is counted under the first rule it breaks, so the counts add up to rows in minus rows
out and a user can see why a week shrank.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from nyc_rental.core.delivery import REQUIRED_COLUMNS
from nyc_rental.core.rules import ListingLimits

TEXT_COLUMNS = ("name", "host_name", "neighbourhood_group", "neighbourhood", "room_type")
INTEGER_COLUMNS = (
    "id",
    "host_id",
    "minimum_nights",
    "number_of_reviews",
    "calculated_host_listings_count",
    "availability_365",
)
FLOAT_COLUMNS = ("latitude", "longitude", "price", "reviews_per_month")
DATE_COLUMNS = ("last_review",)
# A listing without these cannot be placed, priced or stratified.
NOT_NULL_COLUMNS = ("id", "neighbourhood_group", "room_type", "latitude", "longitude", "price")
CLEAN_COLUMNS = REQUIRED_COLUMNS + ("source_file",)
EXAMPLES_PER_RULE = 5


@dataclass(frozen=True)
class CleaningRules(ListingLimits):
    """The course's cleaning: rows priced outside [min_price, max_price] or outside the bounding box go."""


@dataclass
class CleaningResult:
    """The clean rows and why the others were dropped."""

    frame: pd.DataFrame
    rows_in: int
    drop_counts: dict[str, int] = field(default_factory=dict)
    drop_examples: dict[str, list[str]] = field(default_factory=dict)

    @property
    def rows_out(self) -> int:
        return len(self.frame)


def parse_price(values: pd.Series) -> pd.Series:
    """Prices as numbers; '$1,200.00' is 1200.0."""
    return pd.to_numeric(values.str.replace(r"[\s$,]", "", regex=True), errors="coerce")


def parse_listings(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """Typed columns, and for each column the rows whose non-empty value did not parse."""
    text = raw[list(REQUIRED_COLUMNS)].apply(lambda column: column.str.strip())
    present = text.notna() & (text != "")
    parsed: dict[str, pd.Series] = {}
    for name in TEXT_COLUMNS:
        parsed[name] = text[name].where(present[name], None)
    for name in FLOAT_COLUMNS:
        number = parse_price(text[name]) if name == "price" else pd.to_numeric(text[name], errors="coerce")
        parsed[name] = number.astype("float64")
    for name in INTEGER_COLUMNS:
        number = pd.to_numeric(text[name], errors="coerce")
        parsed[name] = number.where(number.isna() | (number % 1 == 0))
    for name in DATE_COLUMNS:
        parsed[name] = pd.to_datetime(text[name], format="%Y-%m-%d", errors="coerce").dt.date
    unparseable = {
        name: present[name] & pd.isna(parsed[name]) for name in INTEGER_COLUMNS + FLOAT_COLUMNS + DATE_COLUMNS
    }
    frame = pd.DataFrame(parsed, index=raw.index)[list(REQUIRED_COLUMNS)]
    for name in INTEGER_COLUMNS:
        frame[name] = frame[name].astype("Int64")
    frame["last_review"] = frame["last_review"].astype(object).where(frame["last_review"].notna(), None)
    return frame, unparseable


def _rules(raw: pd.DataFrame, frame: pd.DataFrame, unparseable: dict[str, pd.Series], rules: CleaningRules):
    """Named masks of rows to drop, in the order they are applied."""
    yield "malformed_row", raw["parse_error"].notna()
    yield "repeated_header", (raw["id"].str.strip() == "id") & (raw["price"].str.strip() == "price")
    for name, mask in unparseable.items():
        yield f"unparseable_{name}", mask
    for name in NOT_NULL_COLUMNS:
        yield f"missing_{name}", frame[name].isna()
    yield "price_out_of_range", ~frame["price"].between(rules.min_price, rules.max_price)
    yield "outside_bounding_box", ~inside_bounding_box(frame, rules)
    # Deliveries arrive oldest first: the last row of an id is the newest.
    yield "duplicate_id", frame["id"].duplicated(keep="last")


def inside_bounding_box(frame: pd.DataFrame, box) -> pd.Series:
    """Rows whose coordinates lie inside `box` (anything with min/max longitude and latitude)."""
    return frame["longitude"].between(box.min_longitude, box.max_longitude) & frame["latitude"].between(
        box.min_latitude, box.max_latitude
    )


def _where(raw: pd.DataFrame, mask: pd.Series) -> list[str]:
    rows = raw.loc[mask].head(EXAMPLES_PER_RULE)
    return [f"{file}:{line} (id {listing})" for file, line, listing in zip(rows.source_file, rows.source_line, rows.id)]


def clean_listings(raw: pd.DataFrame, rules: CleaningRules = CleaningRules()) -> CleaningResult:
    """Parse and type a week's raw rows, then drop rows by the course's rules and count every drop."""
    frame, unparseable = parse_listings(raw)
    keep = pd.Series(True, index=raw.index)
    counts, examples = {}, {}
    for rule, mask in _rules(raw, frame, unparseable, rules):
        dropped = keep & mask.fillna(True).astype(bool)
        counts[rule] = int(dropped.sum())
        if counts[rule]:
            examples[rule] = _where(raw, dropped)
        keep &= ~dropped
    clean = frame.loc[keep].copy()
    clean["id"] = clean["id"].astype("int64")
    clean["source_file"] = raw.loc[keep, "source_file"]
    clean = clean.reset_index(drop=True)[list(CLEAN_COLUMNS)]
    return CleaningResult(frame=clean, rows_in=len(raw), drop_counts=counts, drop_examples=examples)


def missing_values(frame: pd.DataFrame) -> dict[str, int]:
    """Missing values per column, for the columns that have any."""
    counts = frame.isna().sum()
    return {name: int(count) for name, count in counts.items() if count}


def price_quantiles_by_borough(frame: pd.DataFrame, quantiles=(0.1, 0.25, 0.5, 0.75, 0.9)) -> pd.DataFrame:
    """Nightly price quantiles per borough: the quickest sign that a week's prices moved."""
    table = frame.groupby("neighbourhood_group")["price"].quantile(list(quantiles)).unstack()
    table.columns = [f"p{int(q * 100)}" for q in quantiles]
    table.insert(0, "listings", frame.groupby("neighbourhood_group").size())
    return table
