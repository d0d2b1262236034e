"""The registered model as every MLflow user loads it: a pyfunc over the week's scikit-learn pipeline.

`mlflow.pyfunc.load_model("models:/nyc_rental_price@champion").predict(frame)`, `mlflow models predict`, `mlflow
models serve` and batch scoring all hand the model a frame typed by whoever read it: `pd.read_csv` gives int64
ids and counts, float64 where a number is missing, a float64 column of NaN where a text column is empty in
every row, JSON gives None, strings or numbers. The signature therefore names the delivery's columns (each
optional, any type) and the model types them itself (`core.features.model_input`), so none of these readers
meets a schema error and every one gets the prices `nyc_rental.cli.predict` gives. MLflow drops columns the
signature does not name (with a warning), so `price` and anything extra may stay in the frame.

Without params (and through `mlflow models serve` without them) the model returns one price per row, as an
array. Its params (MLflow's `params=`, or `"params"` beside the rows in a request to the scoring server) ask for
more, and the output becomes a DataFrame with column `price`:
- `interval` (a share in (0, 1), e.g. 0.8): columns `price_low` and `price_high`, the calibrated range
  (core.pricing.PriceRange) that holds the true price of that share of listings;
- `comparables` (a count, e.g. 5): column `comparables`, for each row a JSON array of the most alike listings of
  the model's week (core.pricing.Comparables), each with its id, name, neighbourhood, room type, minimum nights,
  distance in km and nightly price.

The model is logged as code (`nyc_rental/ml/pyfunc_model.py`, MLflow's "models from code"); beside it, the fitted
pipeline as a skops file (nothing in a registered model is unpickled), the range's calibration as JSON and the
week's listings for the comparables as Parquet: a version loaded on another machine needs nothing else.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from mlflow.pyfunc import PythonModel  # imported by the steps that log or load a model, never by the code location

if TYPE_CHECKING:
    from mlflow.models import ModelSignature

    from nyc_rental.core.pricing import PriceRange

PIPELINE_ARTIFACT = "pipeline"
PIPELINE_FILE = "pipeline.skops"
RANGE_ARTIFACT, RANGE_FILE = "price_range", "price_range.json"
REFERENCE_ARTIFACT, REFERENCE_FILE = "reference", "reference_listings.parquet"
MODEL_CODE = Path(__file__).with_name("pyfunc_model.py")


class PriceModel(PythonModel):
    """Listing rows in the delivery's columns, any of them missing or typed as any reader types them, to
    nightly prices (dollars, never negative)."""

    def load_context(self, context) -> None:
        from nyc_rental.core.pricing import PriceRange

        artifacts = context.artifacts
        self.pipeline = load_pipeline(artifacts[PIPELINE_ARTIFACT])
        # versions registered before ranges and comparables existed have neither artifact
        self.price_range = (
            PriceRange.from_json(Path(artifacts[RANGE_ARTIFACT]).read_text()) if RANGE_ARTIFACT in artifacts else None
        )
        self.reference_path = artifacts.get(REFERENCE_ARTIFACT)
        self._comparables = None

    def comparables(self):
        """The reference listings' search, built when first asked for (scoring without comparables never pays)."""
        from nyc_rental.core.pricing import Comparables

        if self.reference_path is None:
            raise ValueError("this model version was registered without reference listings: it has no comparables")
        if self._comparables is None:
            self._comparables = Comparables(pd.read_parquet(self.reference_path))
        return self._comparables

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray | pd.DataFrame:
        from nyc_rental.core.features import model_input as typed
        from nyc_rental.core.pricing import check_interval
        from nyc_rental.core.training import predict_prices

        frame = typed(model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input))
        prices = predict_prices(self.pipeline, frame)
        interval, count = (params or {}).get("interval"), (params or {}).get("comparables") or 0
        if not interval and not count:
            return prices
        output = pd.DataFrame({"price": prices}, index=frame.index)
        if interval:
            if self.price_range is None:
                raise ValueError("this model version was registered without a calibrated price range")
            output["price_low"], output["price_high"] = self.price_range.bounds(prices, check_interval(interval))
        if count:
            found = self.comparables().find(frame, int(count))
            output["comparables"] = [json.dumps(listings) for listings in found]
        return output


class PricesOnly(ValueError):
    """A version registered before its params existed: MLflow drops params its signature does not name (with a
    warning), so it answers prices only, without a range or comparables."""


def predict_with(model, rows: pd.DataFrame, **params) -> pd.DataFrame:
    """`model.predict(rows, params=params)` of a loaded version, as the DataFrame the params ask for, or
    PricesOnly for a version registered before ranges and comparables existed."""
    answer = model.predict(rows, params=params)
    if not isinstance(answer, pd.DataFrame):
        raise PricesOnly("it was registered before price ranges and comparables existed: it gives prices only")
    return answer


def save_pipeline(pipeline, folder: Path) -> Path:
    """The fitted pipeline as a skops file in `folder` (skops stores scikit-learn objects without pickle),
    deflated at the fastest level: skops writes the title model's vocabularies as JSON, 48 MB for a sample2
    week, 3.4 MB deflated (3.1 MB at level 6, which takes the forest's trees 0.7 s instead of 0.3 s)."""
    import zipfile

    from nyc_rental.ml.skops_io import skops_io

    path = Path(folder) / PIPELINE_FILE
    skops_io().dump(pipeline, path, compression=zipfile.ZIP_DEFLATED, compresslevel=1)
    return path


# Pipelines this process loaded, by the SHA-256 of their skops file, the latest last. A week's run loads its version
# twice: MLflow loads the logged model to check its input example (in the model step), then test_metrics loads
# the registered version to score it: the same bytes, deserialized once.
_LOADED: OrderedDict[str, object] = OrderedDict()
_LOADED_KEPT = 2  # the week's version and the champion it is compared with


def load_pipeline(path: str | Path):
    """The fitted pipeline of a skops file. A file whose bytes this process has loaded already gives the pipeline
    loaded then (scikit-learn's predict does not change a fitted pipeline)."""
    from nyc_rental.core.training import TRUSTED_TYPES
    from nyc_rental.ml.skops_io import skops_io

    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest in _LOADED:
        _LOADED.move_to_end(digest)
        return _LOADED[digest]
    _LOADED[digest] = pipeline = skops_io().loads(data, trusted=TRUSTED_TYPES)
    while len(_LOADED) > _LOADED_KEPT:
        _LOADED.popitem(last=False)
    return pipeline


def model_signature() -> ModelSignature:
    """The delivery's columns but price, each optional and of any type (see the module's docstring); one price
    out, unless the params `interval` and `comparables` ask for more. MLflow's `double` refuses int64 columns
    and `long` refuses float64 ones (a column with a gap), and `string` refuses an all-empty column that pandas
    reads as float64."""
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema
    from mlflow.types.schema import AnyType

    from nyc_rental.core.features import INPUT_COLUMNS

    return ModelSignature(
        inputs=Schema([ColSpec(AnyType(), name, required=False) for name in INPUT_COLUMNS]),
        outputs=Schema([ColSpec("double")]),
        params=ParamSchema([ParamSpec("interval", "double", None), ParamSpec("comparables", "long", 0)]),
    )


def log_price_model(
    pipeline,
    input_example: pd.DataFrame,
    registered_model_name: str,
    pip_requirements: list[str],
    price_range: PriceRange,
    reference: pd.DataFrame,
):
    """Log the pipeline as the pyfunc PriceModel, with its price range and reference listings, to the active MLflow
    run and register it; returns MLflow's ModelInfo. MLflow checks the model by predicting `input_example` before
    it registers it."""
    import tempfile

    import mlflow

    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        (folder / RANGE_FILE).write_text(price_range.to_json())
        reference.to_parquet(folder / REFERENCE_FILE, index=False)
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(MODEL_CODE),
            artifacts={
                PIPELINE_ARTIFACT: str(save_pipeline(pipeline, folder)),
                RANGE_ARTIFACT: str(folder / RANGE_FILE),
                REFERENCE_ARTIFACT: str(folder / REFERENCE_FILE),
            },
            signature=model_signature(),
            input_example=input_example,
            registered_model_name=registered_model_name,
            pip_requirements=pip_requirements,
        )
