"""Sensors: a delivery that lands runs its week; a Dagster run's end ends its MLflow run; a champion changed by
hand re-prices the latest week's portfolio."""

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from nyc_rental.core.landing import LandingState, scan_landing, wait_for_settling
from nyc_rental.defs.jobs import reprice_portfolio, weekly_pipeline
from nyc_rental.defs.partitions import is_known_week
from nyc_rental.defs.resources import LandingFolder
from nyc_rental.ml.tracking import ModelRegistry
from nyc_rental.settings import DEFAULT_SETTLE_SECONDS, sensor_interval_seconds, settle_seconds


@sensor(
    job=weekly_pipeline,
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Requests one weekly_pipeline run for the week of each delivery that lands (or changes) in the landing "
        f"folder, once nothing has written to it for NYC_RENTAL_SETTLE_SECONDS (default {DEFAULT_SETTLE_SECONDS}; "
        "a look waits that long for a file written moments before) or it is unchanged between two looks. The run "
        "key holds the content hash: the same bytes never run twice, a corrected file always runs. Files it cannot "
        "use are reported in its log; deliveries are never moved or changed."
    ),
)
def incoming_listings_sensor(context: SensorEvaluationContext, landing: LandingFolder) -> SensorResult:
    state, settle = LandingState.from_json(context.cursor), settle_seconds()
    wait_for_settling(landing.folder, state, settle)
    scan = scan_landing(landing.folder, state, is_known_week, settle)
    for problem in scan.problems:
        context.log.warning(f"cannot use a file in {landing.folder}: {problem}")
    requests = [
        RunRequest(
            run_key=new.run_key,
            partition_key=new.week_key,
            tags={"nyc_rental/delivery": new.delivery.path.name, "nyc_rental/sha256": new.delivery.sha256},
        )
        for new in scan.deliveries
    ]
    for new in scan.deliveries:
        context.log.info(f"{new.delivery.path.name}: requesting week {new.week_key}")
    return SensorResult(run_requests=requests, cursor=scan.state.to_json())


@run_failure_sensor(
    name="close_mlflow_runs_of_failed_runs",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=sensor_interval_seconds(),
    description=(
        "A run whose process died (killed, out of memory), or whose steps ran in processes of their own, "
        "leaves its MLflow run open: this marks the MLflow runs of every failed Dagster run of this code "
        "location FAILED when they are still RUNNING, with a `dagster_failure` tag saying why."
    ),
)
def close_mlflow_runs_of_failed_runs(context: RunFailureSensorContext, registry: ModelRegistry) -> None:
    _end_mlflow_runs(context, registry, "FAILED", context.failure_event.message or "the Dagster run failed")


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    name="finish_mlflow_runs_of_successful_runs",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=sensor_interval_seconds(),
    description=(
        "Under the multiprocess and Celery executors no step knows it is the run's last: each leaves the MLflow "
        "run RUNNING, and this ends the MLflow runs of every successful Dagster run of this code location "
        "FINISHED (in-process runs end theirs after the last step; this finds nothing open)."
    ),
)
def finish_mlflow_runs_of_successful_runs(context: RunStatusSensorContext, registry: ModelRegistry) -> None:
    _end_mlflow_runs(context, registry, "FINISHED")


def _end_mlflow_runs(context, registry: ModelRegistry, status: str, reason: str | None = None) -> None:
    run_id = context.dagster_run.run_id
    for ended in registry.end_open_runs(run_id, status, reason):
        context.log.info(
            f"MLflow run {ended} of Dagster run {run_id} marked {status}" + (f": {reason}" if reason else "")
        )


UNFINISHED = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
]


def _latest_week(instance, asset: str) -> str | None:
    weeks = instance.get_materialized_partitions(AssetKey(asset))
    return max(weeks) if weeks else None


def _priced_by(instance, week: str) -> str | None:
    """The champion version of the latest materialization of the week's portfolio_prices."""
    records = instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey("portfolio_prices"), asset_partitions=[week]), limit=1
    ).records
    if not records:
        return None
    entry = records[0].asset_materialization.metadata.get("champion_version")
    return None if entry is None else str(entry.value)


@sensor(
    job=reprice_portfolio,
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "When the champion changes other than by a weekly run (make promote, the promote_model job, the MLflow UI), "
        "prices the latest week's portfolio again with it. It waits while any run is unfinished (a weekly run "
        "prices its own portfolio with the champion it decides), and asks once per change of champion."
    ),
)
def reprice_portfolio_on_new_champion(context: SensorEvaluationContext, registry: ModelRegistry):
    # Before any week has decided a champion the MLflow store may not exist yet: the sensor leaves it to the
    # first run to create (a store created by two processes at once can fail, see ml/tracking.py).
    week = _latest_week(context.instance, "test_metrics")
    if week is None:
        return SkipReason("no week has decided a champion yet")
    unfinished = context.instance.get_runs_count(RunsFilter(statuses=UNFINISHED))
    if unfinished:
        return SkipReason(f"waiting for {unfinished} unfinished run(s) to end")
    champion = registry.champion()
    if champion is None:
        return SkipReason(f"{registry.model_name} has no champion")
    version = str(champion.version)
    if version == context.cursor:
        return SkipReason(f"the champion is still v{version}")
    priced_by = _priced_by(context.instance, week)
    if priced_by == version:
        return SensorResult(skip_reason=f"week {week}'s portfolio is priced by champion v{version}", cursor=version)
    context.log.info(f"champion v{version} (portfolio of week {week} priced by v{priced_by}): pricing it again")
    return SensorResult(
        run_requests=[RunRequest(partition_key=week, tags={"nyc_rental/champion_version": version})], cursor=version
    )
