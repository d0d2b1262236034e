"""Each table's columns as Dagster's `dagster/column_schema` (the asset page's "Columns"), declared on the asset
so the UI shows them before any week is materialized. The delivery's columns are described once, in
core.schema; validated_listings' types and constraints are its pandera model's."""

from dagster import MetadataValue, TableColumn, TableColumnConstraints, TableSchema

from nyc_rental.core.cleaning import CLEAN_COLUMNS
from nyc_rental.core.delivery import PROVENANCE_COLUMNS, REQUIRED_COLUMNS
from nyc_rental.core.schema import COLUMN_DESCRIPTIONS

COLUMN_SCHEMA = "dagster/column_schema"

WEEK = TableColumn(
    name="week",
    type="date",
    description="the week's Monday: the partition (the warehouse adds it; every table has it)",
    constraints=TableColumnConstraints(nullable=False),
)


def _schema(columns: list[TableColumn]) -> dict:
    """Definition metadata declaring a table's columns, `week` first as the warehouse stores it."""
    return {COLUMN_SCHEMA: MetadataValue.table_schema(TableSchema(columns=[WEEK, *columns]))}


def _described(name: str, type_: str, description: str | None = None, **constraints) -> TableColumn:
    return TableColumn(
        name=name,
        type=type_,
        description=description or COLUMN_DESCRIPTIONS[name],
        constraints=TableColumnConstraints(**constraints) if constraints else None,
    )


def raw_listings_schema() -> dict:
    return _schema(
        [_described(name, "text", f"as delivered: {COLUMN_DESCRIPTIONS[name]}") for name in REQUIRED_COLUMNS]
        + [_described(name, "bigint" if name == "source_line" else "text") for name in PROVENANCE_COLUMNS]
        + [_described("ingested_at", "timestamptz", "when the week was read from the landing folder (UTC)")]
    )


def validated_listings_schema(pandera_schema: TableSchema) -> dict:
    """The pandera model's columns (types, nullability, checks), as dagster-pandera reads them."""
    return _schema(list(pandera_schema.columns))


def clean_listings_schema(pandera_schema: TableSchema) -> dict:
    """Typed as validated_listings, which only coerces them, without its constraints: the checks decide."""
    by_name = {column.name: column for column in pandera_schema.columns}
    return _schema([TableColumn(name, by_name[name].type, by_name[name].description) for name in CLEAN_COLUMNS])


def splits_schema(pandera_schema: TableSchema) -> dict:
    split = _described("split", "str", "train, val or test", nullable=False)
    return _schema([*pandera_schema.columns, split])


MODEL_COLUMNS = [
    _described("model_name", "str", "the registered model in MLflow (nyc_rental_price)"),
    _described("model_version", "str", "the week's registered version"),
    _described("model_uri", "str", "models:/<name>/<version>, as mlflow.pyfunc.load_model takes it"),
    _described("mlflow_run_id", "str", "the MLflow run that logged the model"),
    _described("estimator", "str", "gradient_boosting or random_forest"),
    _described("params", "str", "the estimator's parameters (JSON)"),
    _described("val_mae", "float", "mean absolute error on the week's val rows ($)"),
    _described("val_r2", "float", "R² on the week's val rows"),
    _described("train_rows", "int", "rows the model was fitted on"),
    _described("val_rows", "int", "rows it was scored on"),
    _described("candidates", "int", "models fitted (a sweep's grid, else 1)"),
    _described("fit_seconds", "float", "the kept candidate's fit time"),
]

TEST_METRICS_COLUMNS = [
    _described("model_version", "str", "the week's registered version"),
    _described("test_rows", "int", "the week's test rows scored"),
    _described("test_mae", "float", "mean absolute error on them ($)"),
    _described("test_r2", "float", "R² on them"),
    _described("mae_by_borough", "str", "test MAE per borough (JSON)"),
    _described("mae_by_room_type", "str", "test MAE per room type (JSON)"),
    _described("range80_coverage", "float", "the share of test prices within the model's calibrated 80% range"),
    _described("range80_mean_width", "float", "that range's mean width ($)"),
    _described("champion_version", "str", "the champion before the decision (empty when there was none)"),
    _described("champion_test_mae", "float", "the champion's MAE on the same rows (empty when none or itself)"),
    _described("promoted", "bool", "whether the week's model became champion"),
    _described("decision", "str", "why"),
    _described("decided_at", "timestamptz", "when (UTC)"),
]


def model_schema() -> dict:
    return _schema(MODEL_COLUMNS)


def test_metrics_schema() -> dict:
    return _schema(TEST_METRICS_COLUMNS)


PORTFOLIO_PRICES_COLUMNS = [
    _described("id", "str", "the property's id in the portfolio file"),
    _described("name", "str", "its title"),
    _described("neighbourhood_group", "str", "its borough"),
    _described("neighbourhood", "str", "its neighbourhood"),
    _described("room_type", "str", "its room type"),
    _described("asking_price", "float", "the nightly price the company asks (the file's `price`, $)"),
    _described("price", "float", "the champion's nightly price for it ($)"),
    _described("price_low", "float", "the low end of the champion's calibrated range ($)"),
    _described("price_high", "float", "the high end of that range ($)"),
    _described("flag", "str", "under, within or over: where the asking price falls against the range"),
    _described("gap_percent", "float", "(asking − price) / price, in percent"),
    _described("champion_version", "str", "the nyc_rental_price version that priced it"),
    _described("interval", "float", "the range's share (0.8: an 80% range)"),
]


def portfolio_prices_schema() -> dict:
    return _schema(PORTFOLIO_PRICES_COLUMNS)
