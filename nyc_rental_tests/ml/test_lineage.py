"""The rows a week logs to MLflow as datasets (nyc_rental/ml/lineage.py)."""

import mlflow
import numpy as np
import pandas as pd
import pytest

from nyc_rental.core.features import model_input
from nyc_rental.ml.lineage import DeliverySource, TypedRows
from nyc_rental.synthetic import generate_listings

SOURCE = DeliverySource({"listings_2019-07-10.csv": "0" * 64}, "2019-07-08")


@pytest.fixture(scope="module")
def rows():
    listings = generate_listings(300, seed=3)
    listings.loc[listings.index[:40], ["reviews_per_month", "last_review", "name"]] = None  # gaps, as delivered
    return model_input(listings).assign(price=listings.price.to_numpy())


def test_the_schema_read_from_the_columns_types_is_the_one_mlflow_infers_value_by_value(rows):
    inferred = mlflow.data.from_pandas(rows, source=SOURCE, targets="price").schema
    typed = TypedRows(rows, source=SOURCE, targets="price").schema
    assert typed == inferred
    assert {spec.name: (spec.type.name, spec.required) for spec in typed.inputs}["name"] == ("string", False)


def test_a_column_of_other_objects_is_left_to_mlflows_inference(rows):
    odd = rows.assign(extra=[np.int64(1)] * len(rows), empty=pd.Series([None] * len(rows), dtype=object))
    inferred = mlflow.data.from_pandas(odd, source=SOURCE, targets="price").schema
    assert TypedRows(odd, source=SOURCE, targets="price").schema == inferred
