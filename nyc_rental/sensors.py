"""The landing-folder sensor: a delivery that lands runs its week."""

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SensorResult, sensor

from nyc_rental.core.landing import LandingState, scan_landing
from nyc_rental.jobs import weekly_pipeline
from nyc_rental.partitions import is_known_week
from nyc_rental.resources import LandingFolder
from nyc_rental.settings import sensor_interval_seconds


@sensor(
    job=weekly_pipeline,
    minimum_interval_seconds=sensor_interval_seconds(),
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Requests one weekly_pipeline run for the week of each delivery that lands (or changes) in the landing "
        "folder, once it has stopped growing. The run key holds the content hash: the same bytes never run "
        "twice, a corrected file always runs. Files it cannot use are reported in its log; deliveries are "
        "never moved or changed."
    ),
)
def incoming_listings_sensor(context: SensorEvaluationContext, landing: LandingFolder) -> SensorResult:
    scan = scan_landing(landing.folder, LandingState.from_json(context.cursor), is_known_week)
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
