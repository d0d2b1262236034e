"""What MLflow runs to load a registered nyc_rental_price version (models from code): the PriceModel of
nyc_rental.ml.serving, which loads the version's fitted pipeline from its `pipeline` artifact. Not imported by the
package."""

from mlflow.models import set_model

from nyc_rental.ml.serving import PriceModel

set_model(PriceModel())
