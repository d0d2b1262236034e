"""The contract of `validated_listings`: what the model may rely on, as a pandera model."""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from nyc_rental.core.rules import BOROUGHS


class ValidatedListings(pa.DataFrameModel):
    """A week of listings that passed cleaning and every data test."""

    id: Series[int] = pa.Field(unique=True, gt=0)
    name: Series[str] = pa.Field(nullable=True)
    host_id: Series[pd.Int64Dtype] = pa.Field(nullable=True)
    host_name: Series[str] = pa.Field(nullable=True)
    neighbourhood_group: Series[str] = pa.Field(isin=BOROUGHS)
    neighbourhood: Series[str] = pa.Field(nullable=True)
    latitude: Series[float] = pa.Field(ge=-90, le=90)
    longitude: Series[float] = pa.Field(ge=-180, le=180)
    room_type: Series[str]
    price: Series[float] = pa.Field(gt=0)
    minimum_nights: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    number_of_reviews: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    last_review: Series[pa.Date] = pa.Field(nullable=True)
    reviews_per_month: Series[float] = pa.Field(nullable=True, ge=0)
    calculated_host_listings_count: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    availability_365: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0)
    source_file: Series[str]

    class Config:
        strict = True
        ordered = True
        coerce = True


def coerce_validated(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame coerced to the contract's types; dagster-pandera validates the result but does not coerce."""
    return ValidatedListings.to_schema().coerce_dtype(frame)
