"""MLflow for the platform: one MLflow run per Dagster run (through dagster-mlflow) and the model registry.

dagster-mlflow's `mlflow_tracking` starts (or resumes) the MLflow run tagged with the Dagster run id. Its
`end_mlflow_on_run_finished` hook ends that run after the last node in topological order, which may be a
check rather than the last step to finish, and under MLflow 3 every step process ends the run when it exits
(its atexit hack unregisters a function MLflow 3 no longer registers). So the platform decides the lifecycle:
- every step that logs attaches to the MLflow run tagged with its Dagster run id (the first one starts it);
- in-process (one process runs every step), the run ends when the resource is torn down after the last step:
  FINISHED if every step succeeded, FAILED otherwise;
- under the multiprocess and Celery executors, a step leaves the run RUNNING when it is done, and the run-status
  sensors (sensors.py) end it FINISHED or FAILED with the Dagster run.

Beside the runs of Dagster runs, the experiment holds one long-lived run, "test MAE by week", to which every
week's test_metrics step logs its scores at the week's step: MLflow draws a metric's history within a run, not
across runs, so that run is where the weeks read as one series.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import math
import os
import subprocess
import warnings
from contextlib import suppress
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import (
    BetaWarning,
    ConfigurableResource,
    DagsterEventType,
    Field,
    StringSource,
    resource,
)

if TYPE_CHECKING:  # MLflow is imported where it is used: loading the code location must not pay for it
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.pyfunc import PyFuncModel
    from mlflow.tracking import MlflowClient

EXPERIMENT = "nyc_rental"
MODEL_NAME = "nyc_rental_price"
CHAMPION = "champion"

# MLflow 3 tells a GenAI experiment (overview, traces) from a machine-learning one (its runs) by this tag; the value
# is its "Machine learning". MLflow 3.17's own UI ignores it and follows its sidebar switch "GenAI / Model
# training" instead (see runs_page); the tag still says what the experiment is to whatever reads it.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
MACHINE_LEARNING = "custom_model_development"
DESCRIPTION_TAG = "mlflow.note.content"
EXPERIMENT_DESCRIPTION = (
    "Weekly nightly-price models of nyc_rental's weekly_pipeline: one run per Dagster run, named after its week and "
    "run id, and the run 'test MAE by week', which holds every week's test and validation MAE as one series."
)

TREND_TAG = "nyc_rental.trend"
TREND_RUN_NAME = "test MAE by week"
FIRST_MONDAY = dt.date(1970, 1, 5)  # step 0 of the trend: a week's step is the number of weeks since
TREND_DESCRIPTION = (
    "Every week's scores as one series: test_mae, test_r2, champion_test_mae (the champion on the same test rows) "
    "and val_mae, each logged by the week's test_metrics step at step = weeks since Monday 1970-01-05 with the "
    "week's Monday as timestamp. Chart them over 'Time (wall)' to read the weeks' dates. A week run again adds a "
    "point at the same step."
)

# What the platform configures of dagster-mlflow's MlFlow (it reads every other key of its CONFIG_SCHEMA with a
# default), declared here because importing dagster_mlflow imports MLflow; plus where artifacts go.
MLFLOW_RUN_CONFIG = {
    "experiment_name": Field(StringSource, description="MLflow experiment name."),
    "mlflow_tracking_uri": Field(StringSource, description="MLflow tracking (and registry) URI."),
    "artifact_root": Field(str, description="Where a new experiment keeps its artifacts (a local store only)."),
    "end_with_last_step": Field(
        bool,
        default_value=True,
        description="End the MLflow run when the resource is torn down (in-process: after the run's last step); "
        "otherwise leave it to the run-status sensors.",
    ),
}


# What a saved model needs to load. Pinned from this environment, as MLflow's inference would, without the
# subprocess that inference starts to load the model (about 15 s of every weekly run).
MODEL_PACKAGES = ("mlflow", "nyc-rental", "numpy", "pandas", "pyarrow", "scikit-learn", "scipy", "skops")


def model_requirements() -> list[str]:
    """The pip requirements logged with every model: the packages above, at their installed versions."""
    pinned = []
    for name in MODEL_PACKAGES:
        with suppress(PackageNotFoundError):
            pinned.append(f"{name}=={package_version(name)}")
    return pinned


def use_store(tracking_uri: str) -> None:
    """Point MLflow's process-wide tracking and registry at one store (the registry URI is cached apart)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)


def log_figure(figure, artifact_file: str) -> None:
    """Log a matplotlib figure to the active MLflow run, then close it (pyplot keeps every open figure)."""
    import matplotlib.pyplot as plt
    import mlflow

    try:
        mlflow.log_figure(figure, artifact_file)
    finally:
        plt.close(figure)


def is_server(tracking_uri: str) -> bool:
    """A tracking server (`mlflow server`), which keeps the artifacts itself, rather than a local store."""
    return tracking_uri.startswith(("http://", "https://"))


_OPENED: set[str] = set()  # local stores this process has opened (and so created) already


def open_store(tracking_uri: str) -> MlflowClient:
    """A client of the store (tracking and registry). The first opening of a SQLite store in a process holds a
    file lock beside the database: opening a store that does not exist yet creates its tables, and processes that
    open a fresh one at the same moment (the first weeks of a backfill, the sensors of a just-started `dagster
    dev`) would create them together and fail ("table ... already exists")."""
    from mlflow.tracking import MlflowClient

    database = sqlite_database(tracking_uri)
    if database is None or tracking_uri in _OPENED:
        return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(database.with_name(database.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)  # creates the tracking tables
        client.search_registered_models(max_results=1)  # and opens the registry's
    _OPENED.add(tracking_uri)
    return client


def sqlite_database(tracking_uri: str) -> Path | None:
    """The database file of a `sqlite:///` store URI; None for any other store."""
    prefix = "sqlite:///"
    return Path(tracking_uri.removeprefix(prefix)) if tracking_uri.startswith(prefix) else None


def ensure_experiment(tracking_uri: str, name: str, artifact_root: str) -> str:
    """Create the store (see open_store) and the experiment once; with a local store, artifacts go under
    `artifact_root`. A tracking server keeps its own artifact store (proxied artifacts)."""
    client = open_store(tracking_uri)
    if is_server(tracking_uri):
        return _experiment_id(client, name, artifact_location=None)
    root = Path(artifact_root)
    root.mkdir(parents=True, exist_ok=True)
    return _experiment_id(client, name, artifact_location=root.resolve().as_uri())


def _experiment_id(client: MlflowClient, name: str, artifact_location: str | None) -> str:
    """The experiment's id, creating it as a machine-learning experiment with its description; an existing one
    that lacks either tag gets it (one that says otherwise keeps what it says)."""
    from mlflow.exceptions import MlflowException

    tags = {EXPERIMENT_KIND_TAG: MACHINE_LEARNING, DESCRIPTION_TAG: EXPERIMENT_DESCRIPTION}
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        try:
            return client.create_experiment(name, artifact_location=artifact_location, tags=tags)
        except MlflowException as error:  # another process created it first
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            experiment = client.get_experiment_by_name(name)
    for key, value in tags.items():
        if key not in experiment.tags:
            client.set_experiment_tag(experiment.experiment_id, key, value)
    return experiment.experiment_id


def runs_page(tracking_uri: str, ui_url: str, name: str = EXPERIMENT) -> str:
    """The MLflow UI's page of the experiment's runs. MLflow 3.17's UI opens an experiment on the view its sidebar
    switch "GenAI / Model training" holds in the browser (GenAI at first: the overview, traces), whatever the
    experiment's kind tag says; `workflowType=machine_learning` in the address opens the runs."""
    experiment = open_store(tracking_uri).get_experiment_by_name(name)
    page = "experiments" if experiment is None else f"experiments/{experiment.experiment_id}/runs"
    return f"{ui_url.rstrip('/')}/#/{page}?workflowType=machine_learning"


def run_name(week: str | None, dagster_run_id: str, job_name: str) -> str:
    """A run's name in MLflow: its week (or job) and the start of its Dagster run id, unique and readable."""
    return f"{f'week {week}' if week else job_name} · run {dagster_run_id[:8]}"


def candidate_run_name(week: str | None, dagster_run_id: str, job_name: str, number: int) -> str:
    """A sweep candidate's nested run: its parent's name and its number."""
    return f"{run_name(week, dagster_run_id, job_name)} · candidate {number}"


def source_tags(job_name: str) -> dict[str, str]:
    """What MLflow shows as a run's source: the pipeline (not the process's `__main__`) and its commit."""
    tags = {"mlflow.source.name": f"nyc_rental {job_name}", "mlflow.source.type": "JOB"}
    commit = git_commit()
    if commit:
        tags["mlflow.source.git.commit"] = commit
    return tags


def detach_run() -> None:
    """Leave this process's active MLflow run RUNNING but no longer active here, so that neither the next task
    of a long-lived worker nor MLflow's exit hook (which ends an active run FINISHED) touches it. MLflow has no
    public call for this: it is `mlflow.end_run` without the status change (checked against MLflow 3.17)."""
    from mlflow.tracking import fluent

    stack = fluent._active_run_stack.get()
    if stack:
        fluent._last_active_run_id.set(stack.pop().info.run_id)
        fluent.MLFLOW_RUN_ID.unset()


def _failed_steps(instance, run_id: str) -> list[str]:
    records = instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)
    return sorted({record.step_key or "?" for record in records})


@resource(
    config_schema=MLFLOW_RUN_CONFIG,
    description="The MLflow run of this Dagster run, named after its week; ends with the run's outcome.",
)
def mlflow_run(context):
    import mlflow

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BetaWarning)  # dagster-mlflow is marked beta; we rely on it knowingly
        from dagster_mlflow.resources import MlFlow

    config = context.resource_config
    use_store(config["mlflow_tracking_uri"])
    ensure_experiment(config["mlflow_tracking_uri"], config["experiment_name"], config["artifact_root"])
    tracker = MlFlow(context)
    week = context.dagster_run.tags.get("dagster/partition")
    job_name = context.dagster_run.job_name
    mlflow.set_tags(
        {
            "mlflow.runName": run_name(week, context.dagster_run.run_id, job_name),
            "dagster_job": job_name,
            **source_tags(job_name),
            **({"week": week} if week else {}),
        }
    )
    try:
        yield tracker
    finally:
        if config["end_with_last_step"]:
            failed = _failed_steps(context.instance, context.run.run_id)
            if failed:
                mlflow.set_tag("failed_steps", ", ".join(failed))
            mlflow.end_run(status="FAILED" if failed else "FINISHED")
        else:
            detach_run()


@dataclass(frozen=True)
class Promotion:
    """A week's model taking the champion alias: over which version (None: there was none), that champion's
    test MAE on the week's rows, why, and when."""

    over: str | None
    champion_mae: float | None
    decision: str
    decided_at: dt.datetime

    _TAGS = ("promoted_over", "promoted_over_test_mae", "promotion_decision", "promoted_at")

    def tags(self) -> dict[str, str]:
        values = (self.over or "none", "" if self.champion_mae is None else repr(self.champion_mae), self.decision)
        return dict(zip(self._TAGS, (*values, self.decided_at.isoformat()), strict=True))

    @classmethod
    def from_tags(cls, tags: dict[str, str]) -> Promotion | None:
        if not all(key in tags for key in cls._TAGS):
            return None
        over, mae, decision, at = (tags[key] for key in cls._TAGS)
        at = dt.datetime.fromisoformat(at)
        return cls(None if over == "none" else over, float(mae) if mae else None, decision, at)


class ModelRegistry(ConfigurableResource):
    """The registered model `nyc_rental_price` and its `champion` alias."""

    tracking_uri: str
    model_name: str = MODEL_NAME

    def client(self) -> MlflowClient:
        return open_store(self.tracking_uri)

    def champion(self) -> ModelVersion | None:
        from mlflow.exceptions import MlflowException

        with suppress(MlflowException):
            return self.client().get_model_version_by_alias(self.model_name, CHAMPION)
        return None

    def version(self, version: str) -> ModelVersion:
        from mlflow.exceptions import MlflowException

        try:
            return self.client().get_model_version(self.model_name, str(version))
        except MlflowException as error:
            raise ValueError(f"{self.model_name} has no version {version}: {error.message}") from None

    def load(self, version: str) -> PyFuncModel:
        """A registered version as MLflow users load it (nyc_rental.ml.serving's contract): `.predict(rows)` gives
        prices for rows of the delivery's columns typed any way."""
        import mlflow

        use_store(self.tracking_uri)
        return mlflow.pyfunc.load_model(f"models:/{self.model_name}/{version}")

    def set_champion(self, version: str) -> None:
        self.client().set_registered_model_alias(self.model_name, CHAMPION, str(version))

    def promote(self, version: str, promotion: Promotion) -> None:
        """Move the alias to `version`, its promotion recorded on it first (as the version's tags the registry
        shows): a week whose process dies between the move and storing its decision finds it again."""
        client = self.client()
        for key, value in promotion.tags().items():
            client.set_model_version_tag(self.model_name, str(version), key, value)
        client.set_registered_model_alias(self.model_name, CHAMPION, str(version))

    def recorded_promotion(self, version: ModelVersion) -> Promotion | None:
        """The promotion that gave `version` the alias, as `promote` recorded it (None for a version that was
        promoted another way: make promote, the MLflow UI)."""
        return Promotion.from_tags(version.tags)

    def end_open_runs(self, dagster_run_id: str, status: str, reason: str | None = None) -> list[str]:
        """End the MLflow runs of a Dagster run (and their nested runs) that are still RUNNING with `status`
        (FINISHED or FAILED); a failure's reason goes into a `dagster_failure` tag."""
        client = self.client()
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is None:
            return []
        ids = [experiment.experiment_id]
        parents = client.search_runs(ids, f"tags.dagster_run_id = '{dagster_run_id}'")
        runs = list(parents)
        for parent in parents:
            runs += client.search_runs(ids, f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
        ended = []
        for run in runs:
            if run.info.status == "RUNNING":
                if reason:
                    client.set_tag(run.info.run_id, "dagster_failure", reason[:5000])
                client.set_terminated(run.info.run_id, status=status)
                ended.append(run.info.run_id)
        return ended


def trained_description(week: str, estimator: str, val_mae: float, val_rows: int) -> str:
    """A new version's description until the week's test_metrics replaces it."""
    return f"Week {week} · {estimator} · val MAE {val_mae:.2f} on {val_rows:,} rows · not scored on test yet"


def scored_description(
    week: str, estimator: str, test_mae: float, test_rows: int, promoted: bool, decision: str
) -> str:
    """A version's description once scored: its week, test MAE and the champion decision."""
    verdict = "promoted to champion" if promoted else "not promoted"
    return f"Week {week} · {estimator} · test MAE {test_mae:.2f} on {test_rows:,} rows · {verdict}: {decision}"


def describe_version(client: MlflowClient, version: str, description: str, model_name: str = MODEL_NAME) -> None:
    """The text the registry shows beside a version (its model page's Description column and version page)."""
    client.update_model_version(model_name, str(version), description=description)


def week_step(week: dt.date) -> int:
    """A week's step in the trend run: weeks since Monday 1970-01-05, the same whatever the partitions' start."""
    return (week - FIRST_MONDAY).days // 7


def _monday_ms(week: dt.date) -> int:
    return int(dt.datetime.combine(week, dt.time(), tzinfo=dt.UTC).timestamp() * 1000)


def _trend_runs(client: MlflowClient, experiment_id: str) -> list:
    """The experiment's live trend runs, oldest first (start time, then run id: every process sorts alike)."""
    runs = client.search_runs([experiment_id], f"tags.`{TREND_TAG}` = 'true'", max_results=1000)
    return sorted(runs, key=lambda run: (run.info.start_time, run.info.run_id))


def _create_trend_run(client: MlflowClient, experiment_id: str) -> str:
    tags = {TREND_TAG: "true", DESCRIPTION_TAG: TREND_DESCRIPTION}
    return client.create_run(experiment_id, run_name=TREND_RUN_NAME, tags=tags).info.run_id


def _retire(client: MlflowClient, run, into: str) -> None:
    """Copy a younger trend run's points into the oldest (MLflow keeps one copy of a point logged twice), then
    delete it."""
    from mlflow.entities import Metric

    points = [
        Metric(key, point.value, point.timestamp, point.step)
        for key in run.data.metrics
        for point in client.get_metric_history(run.info.run_id, key)
    ]
    for start in range(0, len(points), 1000):  # log_batch takes at most 1,000 metrics
        client.log_batch(into, metrics=points[start : start + 1000])
    client.delete_run(run.info.run_id)


def log_week_trend(client: MlflowClient, experiment_id: str, week: dt.date, metrics: dict[str, float | None]) -> str:
    """Log a week's scores to the experiment's trend run at the week's step, timestamped with its Monday (missing
    or non-finite values left out), creating the run when there is none; returns the run's id.

    Weeks reach here concurrently (a backfill, Celery workers on other machines) and no lock spans them, so the
    oldest trend run wins, with no coordination: a process that finds none creates one; one that finds several
    logs to the oldest and retires the younger ones (copies their points into the oldest, deletes them); and
    after logging, it looks again and logs once more if an older run has appeared meanwhile (two processes that
    each found none and created one). So whatever the timing, every week's points end in the one run left, even
    if the processes' clocks (MLflow's start times) disagree.

    The run is marked FINISHED after each week (its end time: the last week logged), so the UI does not show it
    running forever; nothing the platform does to a Dagster run's MLflow runs touches it (it has no
    `dagster_run_id` tag and no parent).
    """
    from mlflow.entities import Metric
    from mlflow.exceptions import MlflowException

    points = [
        Metric(key, float(value), _monday_ms(week), week_step(week))
        for key, value in metrics.items()
        if value is not None and math.isfinite(value)
    ]
    logged_to, last_error = None, None
    for _ in range(20):
        runs = _trend_runs(client, experiment_id)
        if not runs:
            _create_trend_run(client, experiment_id)
            continue
        oldest = runs[0].info.run_id
        try:
            for younger in runs[1:]:
                _retire(client, younger, into=oldest)
            if oldest == logged_to:
                return oldest
            client.log_batch(oldest, metrics=points)
            client.set_terminated(oldest, status="FINISHED")
        except MlflowException as error:
            # A run retired under us (INVALID_PARAMETER_VALUE: not active), or the same points copied by two
            # processes at once (BAD_REQUEST: MLflow's recovery from a duplicate point is not safe against a
            # concurrent writer): look again. Anything else is raised.
            if error.error_code not in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"):
                raise
            last_error = error
            continue
        logged_to = oldest
    raise RuntimeError(
        f"the trend run of experiment {experiment_id} kept changing: week {week} was not logged"
    ) from last_error


def git_commit() -> str | None:
    """The commit the package runs from, when it runs from a git checkout."""
    with suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        if done.returncode == 0:
            return done.stdout.strip()
    return None
