"""Environment read in one place: where the platform keeps its files and how often it looks for deliveries."""

import datetime as dt
import os
from pathlib import Path

from nyc_rental.storage.urls import is_postgres_url

DEFAULT_HOME = "data"
DEFAULT_SENSOR_INTERVAL_SECONDS = 30
# A delivery is taken once nothing has written to it for this long (or once it is unchanged between two of the
# sensor's looks): a copy in progress writes far more often, and a backlog found at start-up runs at once.
DEFAULT_SETTLE_SECONDS = 5
DEFAULT_LOCK_TIMEOUT_SECONDS = 60.0
# The first weekly partition: the week of the July 2019 New York snapshot that the real deliveries and the
# synthetic generator come from (the demo's first week). A company sets it to the week of its first delivery.
DEFAULT_FIRST_WEEK = "2019-07-01"

# The supplier delivers one week a week. A delivery is late when no week of raw_listings has been materialized
# for longer than this: a week and a day of slack, so a delivery a few hours later than the last one is not
# flagged, and a whole missed week is flagged the day after it was due.
DELIVERY_OVERDUE_AFTER = dt.timedelta(days=8)
# How often the freshness sensor looks (no env variable: lateness is counted in days, and a tick that finds
# nothing to do only reads the instance; the sensor launches a run only when the check's verdict can change).
FRESHNESS_SENSOR_INTERVAL_SECONDS = 600


def first_week() -> dt.date:
    """`NYC_RENTAL_FIRST_WEEK`: the Monday of the first weekly partition (default 2019-07-01). Every week from it
    to the current one is a partition; a delivery of an earlier week is reported by the sensor and not run."""
    raw = os.environ.get("NYC_RENTAL_FIRST_WEEK") or DEFAULT_FIRST_WEEK
    try:
        monday = dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"NYC_RENTAL_FIRST_WEEK must be a date (YYYY-MM-DD), got {raw!r}") from None
    if monday.weekday() != 0:
        raise ValueError(
            f"NYC_RENTAL_FIRST_WEEK must be a Monday (weeks run Monday to Sunday), got {raw} ({monday:%A})"
        )
    return monday


def nyc_rental_home() -> Path:
    """Root of everything the platform writes (`NYC_RENTAL_HOME`, default `./data`)."""
    return Path(os.environ.get("NYC_RENTAL_HOME") or DEFAULT_HOME).resolve()


def portfolio_file(home: Path | None = None) -> Path:
    """The company's own properties, priced every week by `portfolio_prices`."""
    return (home or nyc_rental_home()) / "portfolio.csv"


def incoming_dir(home: Path | None = None) -> Path:
    """The landing folder where weekly deliveries are dropped."""
    return (home or nyc_rental_home()) / "incoming"


def predictions_dir(home: Path | None = None) -> Path:
    """Where `nyc-rental predict` writes priced files unless told otherwise."""
    return (home or nyc_rental_home()) / "predictions"


def warehouse_path(home: Path | None = None) -> Path:
    """The DuckDB file holding every table."""
    return (home or nyc_rental_home()) / "warehouse.duckdb"


def warehouse_url() -> str | None:
    """`NYC_RENTAL_WAREHOUSE_URL`: a PostgreSQL URL (postgresql://, postgres:// or postgresql+psycopg2://) puts the
    warehouse on Postgres; unset, the DuckDB file."""
    url = os.environ.get("NYC_RENTAL_WAREHOUSE_URL") or None
    if url is not None and not is_postgres_url(url):
        # The value may hold a password: the message names the variable only.
        raise ValueError(
            "NYC_RENTAL_WAREHOUSE_URL must be a PostgreSQL URL: postgresql://user:password@host:port/database "
            "(postgres:// and postgresql+psycopg2:// work too)"
        )
    return url


EXECUTORS = ("in_process", "multiprocess", "celery")


def executor_name() -> str:
    """`NYC_RENTAL_EXECUTOR`: where a run's steps execute. `in_process` (the default: one process per run),
    `multiprocess` (a process per step) or `celery` (steps on Celery workers; production profile)."""
    name = os.environ.get("NYC_RENTAL_EXECUTOR") or "in_process"
    if name not in EXECUTORS:
        raise ValueError(f"NYC_RENTAL_EXECUTOR must be one of {', '.join(EXECUTORS)}, got {name!r}")
    return name


# Under the `celery` executor: the broker (pyamqp://… for RabbitMQ, redis://…) and the result backend, read from
# the environment by each run and by every worker (nyc_rental/runtime/celery_worker.py).
CELERY_BROKER_ENV, CELERY_BACKEND_ENV = "NYC_RENTAL_CELERY_BROKER", "NYC_RENTAL_CELERY_BACKEND"

# Celery's own settings (its lowercase names), the same for the runs' executor and the workers: a task is
# acknowledged once its step has ended, so a step whose worker died is handed to another worker (see
# nyc_rental/runtime/celery_worker.py).
CELERY_SETTINGS = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "worker_cancel_long_running_tasks_on_connection_loss": True,
    "worker_prefetch_multiplier": 1,
}


def celery_backend() -> str:
    """NYC_RENTAL_CELERY_BACKEND, else rpc:// (results sent back over RabbitMQ; with Redis as the broker, set it
    to a redis:// URL)."""
    return os.environ.get(CELERY_BACKEND_ENV) or "rpc://"


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name) or str(default)
    try:
        seconds = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, got {raw!r}") from None
    if seconds < 1:
        raise ValueError(f"{name} must be at least 1 second, got {raw}")
    return seconds


def sensor_interval_seconds() -> int:
    """How often the landing-folder sensor looks (`NYC_RENTAL_SENSOR_INTERVAL_SECONDS`)."""
    return int(_seconds("NYC_RENTAL_SENSOR_INTERVAL_SECONDS", DEFAULT_SENSOR_INTERVAL_SECONDS))


def settle_seconds() -> float:
    """How long nothing must have written to a delivery before the sensor takes it (`NYC_RENTAL_SETTLE_SECONDS`)."""
    return _seconds("NYC_RENTAL_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS)


def lock_timeout_seconds() -> float:
    """How long a step waits for a warehouse another process holds (`NYC_RENTAL_LOCK_TIMEOUT_SECONDS`)."""
    return _seconds("NYC_RENTAL_LOCK_TIMEOUT_SECONDS", DEFAULT_LOCK_TIMEOUT_SECONDS)


def mlflow_tracking_uri(home: Path | None = None) -> str:
    """`MLFLOW_TRACKING_URI` when set, else the SQLite store in NYC_RENTAL_HOME (never MLflow's cwd default)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(home or nyc_rental_home()) / 'mlflow.db'}"


def mlflow_artifact_root(home: Path | None = None) -> Path:
    """Where runs' artifacts and models are stored."""
    return (home or nyc_rental_home()) / "mlartifacts"
