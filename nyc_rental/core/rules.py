"""The course's rules about what a New York listing is, defined once.

Cleaning, the data checks, the pandera contract, the synthetic generator and the bare benchmark script all
read them from here, so a change of the price range or the bounding box is one edit.
"""

from __future__ import annotations

from dataclasses import dataclass

# The course's basic_cleaning and data_check price range, in dollars a night (inclusive).
MIN_PRICE = 10.0
MAX_PRICE = 350.0

# The five boroughs, the only valid values of `neighbourhood_group`.
BOROUGHS = ("Bronx", "Brooklyn", "Manhattan", "Queens", "Staten Island")


@dataclass(frozen=True)
class BoundingBox:
    """A longitude / latitude rectangle, bounds inclusive."""

    min_longitude: float
    max_longitude: float
    min_latitude: float
    max_latitude: float


# Every New York City listing lies in this box (the course's `proper_boundaries`).
NYC_BOUNDING_BOX = BoundingBox(min_longitude=-74.25, max_longitude=-73.50, min_latitude=40.5, max_latitude=41.2)


@dataclass(frozen=True)
class ListingLimits:
    """The price range and the bounding box, as parameters: cleaning's rules and the checks' thresholds each
    start from these defaults and can be set apart (the course's basic_cleaning and data_check had both)."""

    min_price: float = MIN_PRICE
    max_price: float = MAX_PRICE
    min_longitude: float = NYC_BOUNDING_BOX.min_longitude
    max_longitude: float = NYC_BOUNDING_BOX.max_longitude
    min_latitude: float = NYC_BOUNDING_BOX.min_latitude
    max_latitude: float = NYC_BOUNDING_BOX.max_latitude
