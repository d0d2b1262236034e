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
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import warnings
from contextlib import suppress
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
MODEL_PACKAGES = ("mlflow", "nyc-rental", "numpy", "pandas", "scikit-learn", "scipy", "skops")


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


def ensure_experiment(tracking_uri: str, name: str, artifact_root: str) -> str:
    """Create the store and the experiment once; with a local store, artifacts go under `artifact_root`.

    Runs that start together (a backfill) would otherwise migrate a fresh SQLite store at the same time,
    which can fail: a file lock beside the artifacts lets one process create it while the others wait. A
    tracking server keeps its own artifact store (proxied artifacts) and serializes creation itself.
    """
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    if is_server(tracking_uri):
        return _experiment_id(client, name, artifact_location=None)
    root = Path(artifact_root)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".store.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _experiment_id(client, name, artifact_location=root.resolve().as_uri())


def _experiment_id(client: MlflowClient, name: str, artifact_location: str | None) -> str:
    from mlflow.exceptions import MlflowException

    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location)
    except MlflowException as error:  # another process created it first
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return client.get_experiment_by_name(name).experiment_id


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
    mlflow.set_tags(
        {
            "mlflow.runName": f"week {week}" if week else context.dagster_run.job_name,
            "dagster_job": context.dagster_run.job_name,
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


class ModelRegistry(ConfigurableResource):
    """The registered model `nyc_rental_price` and its `champion` alias."""

    tracking_uri: str
    model_name: str = MODEL_NAME

    def client(self) -> MlflowClient:
        from mlflow.tracking import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

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
        """A registered version as MLflow users load it (nyc_rental.serving's contract): `.predict(rows)` gives
        prices for rows of the delivery's columns typed any way."""
        import mlflow

        use_store(self.tracking_uri)
        return mlflow.pyfunc.load_model(f"models:/{self.model_name}/{version}")

    def set_champion(self, version: str) -> None:
        self.client().set_registered_model_alias(self.model_name, CHAMPION, str(version))

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
