"""What a property manager acts on besides a price: a calibrated price range, the comparable listings, and a
property's asking price judged against the market.

The price range is split-conformal, normalized by the price. On the week's `val` rows, which the model did not
fit, each listing's error is divided by its scale, the square root of its predicted price (at least $10): a
$40 private room and a $300 loft err by different dollars but by similar multiples of that scale. For an
interval `a`, the range is the prediction ± the `a`-quantile of those scores times the listing's scale (low end
at least 0), which holds the true price of a share `a` of listings drawn like the val rows (a finite-sample
guarantee of split-conformal prediction). The scores are kept sorted, so any interval is a lookup.

The comparables are the listings of the model's week most like a listing: the same room type, then nearest in
a space of location (kilometres east and north) and the minimum stay (the logarithm of 1 + minimum nights,
one unit weighing like a kilometre: a 30-night minimum is 2.3 km away from a 2-night one). Location and
room type are what the model finds most telling in every week; the minimum stay separates monthly rentals from
nightly ones, which are different markets.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

SCALE_FLOOR = 10.0  # dollars: a predicted price of $3 gets the scale of $10
# Degrees to kilometres around New York (latitude 40.73°): one degree of latitude is 110.57 km, one of
# longitude 111.32 km × cos(40.73°).
CENTER_LATITUDE, CENTER_LONGITUDE = 40.73, -73.95
KM_PER_LATITUDE = 110.57
KM_PER_LONGITUDE = 111.32 * math.cos(math.radians(CENTER_LATITUDE))
STAY_KM = 1.0  # one unit of log(1 + minimum nights) weighs like this many kilometres
REFERENCE_COLUMNS = (
    "id",
    "name",
    "neighbourhood_group",
    "neighbourhood",
    "room_type",
    "latitude",
    "longitude",
    "minimum_nights",
    "price",
)

# What a comparable shows, in this order.
COMPARABLE_FIELDS = ("id", "name", "neighbourhood", "room_type", "minimum_nights", "distance_km", "price")


def price_scale(predicted) -> np.ndarray:
    """How wide a listing's range is, in units of its calibration score: sqrt(max(predicted price, $10))."""
    return np.sqrt(np.maximum(np.asarray(predicted, dtype=float), SCALE_FLOOR))


@dataclass(frozen=True)
class PriceRange:
    """Conformal scores of the calibration rows, ascending: |price − predicted| / price_scale(predicted)."""

    scores: np.ndarray

    @classmethod
    def calibrate(cls, actual, predicted) -> PriceRange:
        actual = np.asarray(actual, dtype=float)
        predicted = np.asarray(predicted, dtype=float)
        if len(actual) == 0:
            raise ValueError("a price range needs calibration rows: the week has no val rows")
        scores = np.abs(actual - predicted) / price_scale(predicted)
        return cls(np.sort(scores[np.isfinite(scores)]))

    def score_at(self, interval: float) -> float:
        """The ceil((n + 1) × interval)-th smallest of the n scores. Beyond n/(n + 1) (0.9999 with 9,999 val rows)
        no score guarantees the share: refused, naming the limit."""
        check_interval(interval)
        n = len(self.scores)
        rank = math.ceil((n + 1) * interval)
        if rank > n:
            raise ValueError(
                f"interval {interval} is beyond what {n:,} calibration rows can guarantee: at most {n / (n + 1):.4f}"
            )
        return float(self.scores[rank - 1])

    def bounds(self, predicted, interval: float) -> tuple[np.ndarray, np.ndarray]:
        """The low and high ends of each listing's range for `interval` (a share in (0, 1))."""
        predicted = np.asarray(predicted, dtype=float)
        half = self.score_at(interval) * price_scale(predicted)
        return np.maximum(predicted - half, 0.0), predicted + half

    def to_json(self) -> str:
        return json.dumps({"method": __name__, "scale_floor": SCALE_FLOOR, "scores": self.scores.round(6).tolist()})

    @classmethod
    def from_json(cls, text: str) -> PriceRange:
        return cls(np.asarray(json.loads(text)["scores"], dtype=float))


def range_scores(actual, low, high) -> tuple[float, float]:
    """How a range did on rows whose prices are known: the share of prices inside it (its ends included) and its
    mean width in dollars."""
    actual, low, high = (np.asarray(values, dtype=float) for values in (actual, low, high))
    return float(np.mean((actual >= low) & (actual <= high))), float(np.mean(high - low))


def check_interval(interval) -> float:
    if not isinstance(interval, (int, float)) or not 0 < interval < 1:
        raise ValueError(f"interval must be a share between 0 and 1 (0.8 for an 80% range), got {interval!r}")
    return float(interval)


def _numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)


def _points(latitude, longitude, minimum_nights) -> np.ndarray:
    return np.column_stack(
        [
            (np.asarray(longitude) - CENTER_LONGITUDE) * KM_PER_LONGITUDE,
            (np.asarray(latitude) - CENTER_LATITUDE) * KM_PER_LATITUDE,
            np.log1p(np.clip(minimum_nights, 1, None)) * STAY_KM,
        ]
    )


class Comparables:
    """The reference listings (one week's, with their prices) and a search for the k most like a listing."""

    def __init__(self, reference: pd.DataFrame):
        reference = reference.reindex(columns=list(REFERENCE_COLUMNS))
        latitude, longitude = _numbers(reference, "latitude"), _numbers(reference, "longitude")
        usable = np.isfinite(latitude) & np.isfinite(longitude) & reference.room_type.notna().to_numpy()
        self.reference = reference[usable].reset_index(drop=True)
        nights = _numbers(self.reference, "minimum_nights")
        self.median_nights = float(np.nanmedian(nights)) if np.isfinite(nights).any() else 1.0
        nights = np.where(np.isfinite(nights), nights, self.median_nights)
        self.points = _points(latitude[usable], longitude[usable], nights)
        self._trees = {}
        shown = [name for name in COMPARABLE_FIELDS if name != "distance_km"]  # each listing's, as plain values
        self._shown = [
            dict(zip(shown, map(_plain, values))) for values in self.reference[shown].itertuples(index=False)
        ]

    def _tree(self, room_type: str):
        from scipy.spatial import cKDTree

        if room_type not in self._trees:
            rows = np.flatnonzero(self.reference.room_type.to_numpy() == room_type)
            self._trees[room_type] = (rows, cKDTree(self.points[rows]) if len(rows) else None)
        return self._trees[room_type]

    def find(self, listings: pd.DataFrame, k: int) -> list[list[dict]]:
        """For each listing, its k comparables, most alike first: a listing of the same id is never its own
        comparable; a listing without a location or room type has none."""
        if k < 1:
            raise ValueError(f"comparables must be a positive count, got {k!r}")
        latitude, longitude = _numbers(listings, "latitude"), _numbers(listings, "longitude")
        nights = _numbers(listings, "minimum_nights")
        points = _points(latitude, longitude, np.where(np.isfinite(nights), nights, self.median_nights))
        room_types = listings["room_type"] if "room_type" in listings else pd.Series([None] * len(listings))
        ids = _id_keys(listings["id"]) if "id" in listings else np.full(len(listings), None)
        found: list[list[dict]] = [[] for _ in range(len(listings))]
        reference_ids = _id_keys(self.reference.id)
        for room_type in pd.unique(room_types.dropna().astype(str)):
            rows, tree = self._tree(room_type)
            asked = np.flatnonzero((room_types.astype(str) == room_type).to_numpy() & np.isfinite(points).all(axis=1))
            if tree is None or not len(asked):
                continue
            count = min(k + 1, len(rows))  # one more, in case the listing itself is a reference row
            _, nearest = tree.query(points[asked], k=count)
            for position, neighbours in zip(asked, nearest.reshape(len(asked), count)):
                own = ids[position]  # a listing without an id excludes nothing
                chosen = [rows[n] for n in neighbours if own is None or reference_ids[rows[n]] != own][:k]
                found[position] = [self._described(row, points[position]) for row in chosen]
        return found

    def _described(self, row: int, point: np.ndarray) -> dict:
        east, north = self.points[row, :2] - point[:2]
        distance = round(float(math.hypot(east, north)), 2)
        return {name: distance if name == "distance_km" else self._shown[row][name] for name in COMPARABLE_FIELDS}


def _id_key(value) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    whole, dot, zeros = text.partition(".")
    return whole if dot and whole.isdigit() and zeros.strip("0") == "" else text


def _id_keys(ids: pd.Series) -> np.ndarray:
    """Ids as comparable text whatever their reader typed them as: 2539, 2539.0, "2539" and "2539.0" are all
    "2539"; an integer id keeps all its digits (Inside Airbnb's newer ids are above 2**53)."""
    return np.array([_id_key(value) for value in ids], dtype=object)


def _plain(value):
    """A JSON-ready value: numpy scalars as Python's, missing as None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if isinstance(value, np.generic) else value


def reference_rows(listings: pd.DataFrame) -> pd.DataFrame:
    """A week's validated listings as the comparables' reference: the columns a comparable shows and is found by."""
    frame = listings.reindex(columns=list(REFERENCE_COLUMNS)).copy()
    for name in ("id", "name", "neighbourhood_group", "neighbourhood", "room_type"):
        frame[name] = frame[name].astype("string")
    for name in ("latitude", "longitude", "minimum_nights", "price"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce")
    return frame.reset_index(drop=True)
