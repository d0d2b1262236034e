"""The contract of `validated_listings`: what the model may rely on, as a pandera model."""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from nyc_rental.core.rules import BOROUGHS

# What each column of a delivery means (Inside Airbnb's summary format), and the columns the platform adds.
# The pandera model below and the tables' column schemas in the UI read them from here.
COLUMN_DESCRIPTIONS = {
    "id": "the listing's Inside Airbnb id",
    "name": "the listing's title",
    "host_id": "the host's Inside Airbnb id",
    "host_name": "the host's first name",
    "neighbourhood_group": "the borough: one of the five",
    "neighbourhood": "the neighbourhood within the borough",
    "latitude": "degrees north",
    "longitude": "degrees east (negative in New York)",
    "room_type": "Entire home/apt, Private room, Shared room or Hotel room",
    "price": "nightly price in dollars",
    "minimum_nights": "the shortest stay the host accepts",
    "number_of_reviews": "reviews since the listing opened",
    "last_review": "date of the latest review (empty when never reviewed)",
    "reviews_per_month": "reviews per month since the first review",
    "calculated_host_listings_count": "listings the host has in New York",
    "availability_365": "nights available in the coming year",
    "source_file": "the delivery file the row came from",
    "source_sha256": "SHA-256 of that file's bytes",
    "source_line": "the row's line in that file",
    "parse_error": "why the line could not be read as a row (empty when it could)",
}


def _field(name: str, **checks):
    return pa.Field(description=COLUMN_DESCRIPTIONS[name], **checks)


class ValidatedListings(pa.DataFrameModel):
    """A week of listings that passed cleaning and every data test."""

    id: Series[int] = _field("id", unique=True, gt=0)
    name: Series[str] = _field("name", nullable=True)
    host_id: Series[pd.Int64Dtype] = _field("host_id", nullable=True)
    host_name: Series[str] = _field("host_name", nullable=True)
    neighbourhood_group: Series[str] = _field("neighbourhood_group", isin=BOROUGHS)
    neighbourhood: Series[str] = _field("neighbourhood", nullable=True)
    latitude: Series[float] = _field("latitude", ge=-90, le=90)
    longitude: Series[float] = _field("longitude", ge=-180, le=180)
    room_type: Series[str] = _field("room_type")
    price: Series[float] = _field("price", gt=0)
    minimum_nights: Series[pd.Int64Dtype] = _field("minimum_nights", nullable=True, ge=0)
    number_of_reviews: Series[pd.Int64Dtype] = _field("number_of_reviews", nullable=True, ge=0)
    last_review: Series[pa.Date] = _field("last_review", nullable=True)
    reviews_per_month: Series[float] = _field("reviews_per_month", nullable=True, ge=0)
    calculated_host_listings_count: Series[pd.Int64Dtype] = _field(
        "calculated_host_listings_count", nullable=True, ge=0
    )
    availability_365: Series[pd.Int64Dtype] = _field("availability_365", nullable=True, ge=0)
    source_file: Series[str] = _field("source_file")

    class Config:
        strict = True
        ordered = True
        coerce = True


def coerce_validated(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame coerced to the contract's types; dagster-pandera validates the result but does not coerce."""
    return ValidatedListings.to_schema().coerce_dtype(frame)
