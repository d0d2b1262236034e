"""The registered model as every MLflow user loads it: a pyfunc over the week's scikit-learn pipeline.

`mlflow.pyfunc.load_model("models:/nyc_rental_price@champion").predict(frame)`, `mlflow models predict`, `mlflow
models serve` and batch scoring all hand the model a frame typed by whoever read it: `pd.read_csv` gives int64
ids and counts, float64 where a number is missing, a float64 column of NaN where a text column is empty in
every row, JSON gives None, strings or numbers. The signature therefore names the delivery's columns (each
optional, any type) and the model types them itself (`core.features.model_input`), so none of these readers
meets a schema error and every one gets the prices `nyc_rental.cli.predict` gives. MLflow drops columns the
signature does not name (with a warning), so `price` and anything extra may stay in the frame.

The model is logged as code (`nyc_rental/ml/pyfunc_model.py`, MLflow's "models from code"), and the fitted pipeline
as a skops file beside it: nothing in a registered model is unpickled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel  # imported by the steps that log or load a model, never by the code location

if TYPE_CHECKING:
    from mlflow.models import ModelSignature

PIPELINE_ARTIFACT = "pipeline"
PIPELINE_FILE = "pipeline.skops"
MODEL_CODE = Path(__file__).with_name("pyfunc_model.py")


class PriceModel(PythonModel):
    """Listing rows in the delivery's columns, any of them missing or typed as any reader types them, to
    nightly prices (dollars, never negative)."""

    def load_context(self, context) -> None:
        self.pipeline = load_pipeline(context.artifacts[PIPELINE_ARTIFACT])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        from nyc_rental.core.features import model_input as typed
        from nyc_rental.core.training import predict_prices

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        return predict_prices(self.pipeline, typed(frame))


def save_pipeline(pipeline, folder: Path) -> Path:
    """The fitted pipeline as a skops file in `folder` (skops stores scikit-learn objects without pickle),
    deflated at the fastest level: skops writes the title model's vocabularies as JSON, 48 MB for a sample2
    week, 3.4 MB deflated (3.1 MB at level 6, which takes the forest's trees 0.7 s instead of 0.3 s)."""
    import zipfile

    import skops.io

    path = Path(folder) / PIPELINE_FILE
    skops.io.dump(pipeline, path, compression=zipfile.ZIP_DEFLATED, compresslevel=1)
    return path


def load_pipeline(path: str | Path):
    import skops.io

    from nyc_rental.core.training import TRUSTED_TYPES

    return skops.io.load(path, trusted=TRUSTED_TYPES)


def model_signature() -> ModelSignature:
    """The delivery's columns but price, each optional and of any type (see the module's docstring); one price
    out. MLflow's `double` refuses int64 columns and `long` refuses float64 ones (a column with a gap), and
    `string` refuses an all-empty column that pandas reads as float64."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema
    from mlflow.types.schema import AnyType

    from nyc_rental.core.features import INPUT_COLUMNS

    return ModelSignature(
        inputs=Schema([ColSpec(AnyType(), name, required=False) for name in INPUT_COLUMNS]),
        outputs=Schema([ColSpec("double")]),
    )


def log_price_model(pipeline, input_example: pd.DataFrame, registered_model_name: str, pip_requirements: list[str]):
    """Log the pipeline as the pyfunc PriceModel to the active MLflow run and register it; returns MLflow's
    ModelInfo. MLflow checks the model by predicting `input_example` before it registers it."""
    import tempfile

    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(MODEL_CODE),
            artifacts={PIPELINE_ARTIFACT: str(save_pipeline(pipeline, Path(folder)))},
            signature=model_signature(),
            input_example=input_example,
            registered_model_name=registered_model_name,
            pip_requirements=pip_requirements,
        )
