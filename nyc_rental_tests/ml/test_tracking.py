"""The experiment and its trend run against a real MLflow store (SQLite in a temporary folder), without Dagster:
the experiment's kind, the week's step, and the trend run that weeks logging at once must share."""

import datetime as dt
import multiprocessing
import threading

import pytest
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient

from nyc_rental.ml.tracking import (
    EXPERIMENT_KIND_TAG,
    MACHINE_LEARNING,
    TREND_RUN_NAME,
    TREND_TAG,
    ModelRegistry,
    ensure_experiment,
    log_week_trend,
    runs_page,
    week_step,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module (creating one costs seconds); each test uses experiments of its own."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.search_experiments()  # creates and migrates the store
    return uri, str(folder / "mlartifacts")


def trend_runs(client: MlflowClient, experiment_id: str, view=ViewType.ACTIVE_ONLY):
    return client.search_runs([experiment_id], f"tags.`{TREND_TAG}` = 'true'", run_view_type=view)


def _open_at_once(start, uri: str, artifacts: str, runs: bool, answers) -> None:
    start.wait()
    try:  # a run opens the store through its experiment; a sensor through the registry
        answers.put(
            ensure_experiment(uri, "at_once", artifacts) if runs else str(ModelRegistry(tracking_uri=uri).champion())
        )
    except Exception as error:
        answers.put(repr(error))


def test_runs_and_sensors_that_start_together_on_a_fresh_store_all_open_it(tmp_path):
    """The first weeks of a backfill and the sensors of a just-started `dagster dev` open a home's fresh store at
    the same moment: one process creates (migrates) the SQLite store while the others wait, and every run gets
    the same experiment."""
    forked = multiprocessing.get_context("fork")
    roles = [True, True, False]  # two runs, a sensor
    start, answers = forked.Barrier(len(roles)), forked.Queue()
    uri, artifacts = f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "mlartifacts")
    workers = [forked.Process(target=_open_at_once, args=(start, uri, artifacts, run, answers)) for run in roles]
    for worker in workers:
        worker.start()
    found = sorted(answers.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(30)
    assert found[-1] == "None" and found[0] == found[1] and found[0].isdigit(), found  # no champion yet


def test_the_experiment_is_a_machine_learning_one_when_created_and_when_it_already_existed(store):
    """MLflow 3's UI opens a machine-learning experiment on its runs rather than the GenAI overview."""
    uri, artifacts = store
    client = MlflowClient(tracking_uri=uri)
    created = client.get_experiment(ensure_experiment(uri, "created_here", artifacts))
    assert created.tags[EXPERIMENT_KIND_TAG] == MACHINE_LEARNING == "custom_model_development"
    assert "test MAE by week" in created.tags["mlflow.note.content"]

    older = client.create_experiment("created_before_the_tag")  # as stores made before this change hold it
    assert ensure_experiment(uri, "created_before_the_tag", artifacts) == older
    assert client.get_experiment(older).tags[EXPERIMENT_KIND_TAG] == MACHINE_LEARNING

    chosen = client.create_experiment("set_by_hand", tags={EXPERIMENT_KIND_TAG: "genai_development"})
    assert ensure_experiment(uri, "set_by_hand", artifacts) == chosen
    assert client.get_experiment(chosen).tags[EXPERIMENT_KIND_TAG] == "genai_development"  # someone's choice stays


def test_make_mlflow_ui_links_the_experiments_runs_in_the_machine_learning_view(store):
    """MLflow 3.17's UI opens an experiment on the GenAI overview unless the address says machine_learning (checked
    by hand in Chromium: /#/experiments/1 lands on overview/usage, with ?workflowType=machine_learning on runs)."""
    uri, artifacts = store
    experiment = ensure_experiment(uri, "linked", artifacts)
    assert runs_page(uri, "http://127.0.0.1:5000/", "linked") == (
        f"http://127.0.0.1:5000/#/experiments/{experiment}/runs?workflowType=machine_learning"
    )
    assert runs_page(uri, "http://127.0.0.1:5000", "not_yet") == (
        "http://127.0.0.1:5000/#/experiments?workflowType=machine_learning"
    )


def test_a_weeks_step_counts_weeks_from_a_fixed_monday():
    assert week_step(dt.date(1970, 1, 5)) == 0
    assert week_step(dt.date(2019, 7, 8)) - week_step(dt.date(2019, 7, 1)) == 1
    assert week_step(dt.date(2019, 1, 7)) == 2557  # the partitions' first week: the same step whatever they start


def test_two_weeks_are_two_points_at_distinct_steps_of_one_finished_trend_run(store):
    uri, artifacts = store
    client = MlflowClient(tracking_uri=uri)
    experiment = ensure_experiment(uri, "two_weeks", artifacts)
    first, second = dt.date(2019, 7, 1), dt.date(2019, 7, 8)
    # the first week has no champion to compare with; then a week whose champion scored on its rows
    run_id = log_week_trend(client, experiment, first, {"test_mae": 32.5, "champion_test_mae": None, "val_mae": 31.0})
    again = log_week_trend(client, experiment, second, {"test_mae": 31.25, "champion_test_mae": 33.0, "val_mae": 30.5})
    assert again == run_id and [run.info.run_id for run in trend_runs(client, experiment)] == [run_id]

    run = client.get_run(run_id)
    assert run.info.run_name == TREND_RUN_NAME and run.info.status == "FINISHED"
    assert "dagster_run_id" not in run.data.tags  # the run-status sensors and end_open_runs never touch it
    mondays = {week: int(dt.datetime(week.year, week.month, week.day, tzinfo=dt.UTC).timestamp() * 1000)
               for week in (first, second)}  # fmt: skip
    history = {(point.step, point.timestamp, point.value) for point in client.get_metric_history(run_id, "test_mae")}
    assert history == {(week_step(first), mondays[first], 32.5), (week_step(second), mondays[second], 31.25)}
    champion = client.get_metric_history(run_id, "champion_test_mae")
    assert [(point.step, point.value) for point in champion] == [(week_step(second), 33.0)]
    assert run.data.metrics["test_mae"] == 31.25  # MLflow's latest value: the latest week


def test_weeks_logging_at_once_end_with_one_live_trend_run_holding_every_week(store):
    """Eight weeks finish together on a store without a trend run (a backfill's first weeks): each finds none and
    may create one; exactly one stays, with every week's point (a call may have logged to a run retired since:
    its points were moved into the one that stays)."""
    uri, artifacts = store
    experiment = ensure_experiment(uri, "at_once", artifacts)
    weeks = [dt.date(2019, 7, 1) + dt.timedelta(weeks=n) for n in range(8)]
    start = threading.Barrier(len(weeks))
    errors = []

    def log(week):
        client = MlflowClient(tracking_uri=uri)
        start.wait()
        try:
            log_week_trend(client, experiment, week, {"test_mae": 30.0 + week.day / 100})
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(repr(error))

    threads = [threading.Thread(target=log, args=(week,)) for week in weeks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors

    client = MlflowClient(tracking_uri=uri)
    live = trend_runs(client, experiment)
    assert len(live) == 1, [run.info.run_id for run in live]
    steps = sorted(point.step for point in client.get_metric_history(live[0].info.run_id, "test_mae"))
    assert steps == [week_step(week) for week in weeks]
    created = len(trend_runs(client, experiment, ViewType.ALL))
    print(f"{created} trend runs created, {created - 1} retired")
