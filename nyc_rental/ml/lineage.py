"""What every model was trained and scored on, where MLflow users look for it: the run's datasets.

Each week's train and validation rows (logged by the `model` step) and test rows (by `test_metrics`) go to the
MLflow run as datasets (`mlflow.log_input`) whose source is the week's deliveries, named with their SHA-256: the
MLflow UI lists them under the run's "Datasets used", and a model version leads to its run. The rows' own digest
(MLflow's) tells two weeks' rows apart; the deliveries' SHA-256 says which files they came from.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import pandas as pd
from mlflow.data.dataset_source import DatasetSource  # imported by the steps that log, not by the code location
from mlflow.data.pandas_dataset import PandasDataset
from mlflow.types import ColSpec, Schema

CONTEXTS = {"train": "training", "val": "validation", "test": "testing"}


class DeliverySource(DatasetSource):
    """The delivered files a week's rows were read from, each with its SHA-256 (file name -> digest)."""

    def __init__(self, deliveries: dict[str, str], week: str):
        self.deliveries = dict(sorted(deliveries.items()))
        self.week = week

    @staticmethod
    def _get_source_type() -> str:
        return "nyc_rental_delivery"

    def load(self) -> Any:
        raise NotImplementedError(
            "a week's rows are in the nyc_rental warehouse (table splits, this week); the deliveries themselves "
            "are the files named here, identified by their SHA-256"
        )

    @staticmethod
    def _can_resolve(raw_source: Any) -> bool:
        return False  # only built from the warehouse's provenance columns, never guessed from a string

    @classmethod
    def _resolve(cls, raw_source: Any) -> DeliverySource:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"week": self.week, "deliveries": [{"file": f, "sha256": s} for f, s in self.deliveries.items()]}

    @classmethod
    def from_dict(cls, source_dict: dict[Any, Any]) -> DeliverySource:
        deliveries = {entry["file"]: entry["sha256"] for entry in source_dict["deliveries"]}
        return cls(deliveries, source_dict["week"])


class TypedRows(PandasDataset):
    """MLflow's pandas dataset, its schema read from the columns' types: MLflow infers it value by value
    (0.3 s of a week's run for its three splits). Columns of floats, integers or booleans take their dtype's
    type; a column of text only (or missing values) is a string. A column of anything else leaves the schema to
    MLflow's own inference."""

    @cached_property
    def schema(self) -> Schema | None:
        specs = [_column_spec(name, column) for name, column in self._df.items()]
        if any(spec is None for spec in specs):
            return super().schema
        return Schema(specs)


DTYPE_KINDS = {"f": {4: "float", 8: "double"}, "i": {4: "integer", 8: "long"}, "b": {1: "boolean"}}


def _column_spec(name: str, column: pd.Series) -> ColSpec | None:
    required = not column.isna().any()
    kind = column.dtype.kind
    if kind in DTYPE_KINDS:
        type_name = DTYPE_KINDS[kind].get(column.dtype.itemsize)
        return None if type_name is None else ColSpec(type_name, name, required=required)
    if kind == "O" and not required and column.isna().all():
        return None  # no value to tell its type by
    if kind == "O" and pd.api.types.infer_dtype(column, skipna=True) == "string":
        return ColSpec("string", name, required=required)
    return None


def log_rows(rows: pd.DataFrame, split: str, week: str, deliveries: dict[str, str]) -> None:
    """Log one split of a week's rows (model inputs and price) to the active MLflow run."""
    import mlflow

    dataset = TypedRows(
        rows.reset_index(drop=True),
        source=DeliverySource(deliveries, week),
        name=f"week {week} {split}",
        targets="price",
    )
    mlflow.log_input(dataset, context=CONTEXTS[split], tags={"week": week, "split": split})
