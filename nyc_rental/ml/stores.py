"""MLflow's database store for a `postgres://` URL (MLflow plugins, registered in pyproject.toml).

MLflow picks a store by the URI's scheme and knows `postgresql` (with or without a driver), not `postgres`, the
form Heroku and many tools print. These builders give such a URI to MLflow's own SQLAlchemy stores as
`postgresql+psycopg2://`, so `mlflow server --backend-store-uri postgres://…` and an MLflow client pointed at one
work as with `postgresql://`.
"""

from nyc_rental.storage.urls import with_driver

DEFAULT_ARTIFACT_ROOT = "./mlruns"  # MLflow's own default, when the caller names none


def tracking_store(store_uri: str, artifact_uri: str | None = None):
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    return SqlAlchemyStore(with_driver(store_uri, "psycopg2"), artifact_uri or DEFAULT_ARTIFACT_ROOT)


def registry_store(store_uri: str):
    from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore

    return SqlAlchemyStore(with_driver(store_uri, "psycopg2"))
