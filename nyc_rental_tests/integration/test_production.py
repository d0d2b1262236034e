"""The production profile for real: `make prod` (supervisord) with Postgres behind Dagster's instance, the
warehouse and MLflow's server, and steps on two Celery workers over RabbitMQ. One stack for the module; the
last test kills it outright and starts it again."""

import datetime as dt
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterEventType, RunsFilter
from mlflow.tracking import MlflowClient

from nyc_rental.ml.tracking import CHAMPION, EXPERIMENT, MODEL_NAME
from nyc_rental.storage.warehouse import Warehouse
from nyc_rental_tests.helpers import serving_champion, synthetic_delivery
from nyc_rental_tests.integration.dagster_dev import FINISHED, REPO, max_in_flight, start_in_session, wait_for
from nyc_rental_tests.integration.production import ProductionStack
from nyc_rental_tests.integration.readme import PRODUCTION, bash_commands, section

pytestmark = pytest.mark.integration

ROWS = 16_000  # above the row_count check's floor: a backfill runs with the default config
WEEKS = ["2019-07-01", "2019-07-08", "2019-07-15", "2019-07-22"]
ALL_ASSETS = [
    "raw_listings",
    "clean_listings",
    "validated_listings",
    "splits",
    "model",
    "test_metrics",
    "portfolio_prices",
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    production = ProductionStack(tmp_path_factory.mktemp("production"), workers=2)
    try:
        production.start()
        yield production
    except BaseException:
        print(production.log_tail())
        raise
    finally:
        production.stop()


def run_tags(run: dict) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in run["tags"]}


def test_a_backfill_runs_its_steps_on_two_celery_workers_over_postgres_and_the_mlflow_server(stack):
    stack.stop_sensor()  # the weeks come from the backfill, as a user launches it from the UI
    deliveries = []
    for number, week in enumerate(WEEKS):
        day = (dt.date.fromisoformat(week) + dt.timedelta(days=2)).isoformat()
        deliveries.append(synthetic_delivery(stack.home / "incoming", day, rows=ROWS, seed=20 + number))
    backfill = stack.wait_for_backfill(stack.launch_backfill(WEEKS, ALL_ASSETS), timeout=900)
    runs = backfill["runs"]
    assert sorted(run["status"] for run in runs) == ["SUCCESS"] * 4, stack.log_tail()
    instance = stack.instance()
    by_sensor = instance.get_runs(RunsFilter(tags={"dagster/sensor_name": "incoming_listings_sensor"}))
    assert not by_sensor, [run.tags for run in by_sensor]  # the stopped sensor launched nothing
    assert max_in_flight([(run["startTime"], run["endTime"]) for run in runs]) >= 2  # runs overlapped

    # Every step ran in a Celery worker's process, never in the run's own process; both workers took steps.
    workers = stack.worker_processes()
    used = set()
    for run in runs:
        run_pid = stack.run_pid(run["runId"])
        starts = instance.all_logs(run["runId"], of_type=DagsterEventType.STEP_START)
        assert {record.step_key for record in starts} >= {"raw_listings", "model", "test_metrics"}
        for record in starts:
            pid = record.dagster_event.pid
            assert pid != run_pid and pid in workers, (record.step_key, pid, workers)
            used.add(workers[pid])
        # the week's six data checks, and raw_listings' freshness check, which an asset backfill's runs include
        checks = instance.all_logs(run["runId"], of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
        names = sorted(c.dagster_event.event_specific_data.check_name for c in checks)
        assert len(names) == 7 and "freshness_check" in names, names
        assert all(c.dagster_event.event_specific_data.passed for c in checks)
    assert len(used) == 2, used

    # Each week's rows, model version and champion decision are in the Postgres warehouse, and no DuckDB file.
    warehouse = Warehouse(url=stack.warehouse_url)
    assert [str(week.date()) for week in warehouse.rows_per_week("raw_listings").index] == WEEKS
    assert set(warehouse.rows_per_week("raw_listings")) == {ROWS}
    assert warehouse.rows_per_week("validated_listings").equals(warehouse.rows_per_week("clean_listings"))
    metrics = warehouse.read_all("test_metrics")
    assert sorted(metrics["model_version"].astype(int)) == [1, 2, 3, 4]
    decisions = {
        str(row.week.date()): (row.model_version, row.champion_version, row.promoted, row.decided_at)
        for row in metrics.itertuples()
    }
    assert not (stack.home / "warehouse.duckdb").exists()

    # MLflow's server holds one run per Dagster run, ended FINISHED by the sensor, and the champion alias.
    client = MlflowClient(tracking_uri=stack.mlflow_uri, registry_uri=stack.mlflow_uri)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment.artifact_location.startswith("mlflow-artifacts:")  # proxied by the server

    def mlflow_runs_finished():
        found = client.search_runs([experiment.experiment_id], "attributes.status = 'FINISHED'")
        found = [run for run in found if "dagster_run_id" in run.data.tags]  # not the trend run
        return len(found) == 4 and found

    finished = wait_for("the MLflow runs to be FINISHED", mlflow_runs_finished, 60)
    assert sorted(run.data.tags["dagster_run_id"] for run in finished) == sorted(run["runId"] for run in runs)
    # The four weeks, scored on two workers at once, logged their test MAE into one trend run.
    (trend,) = client.search_runs([experiment.experiment_id], "tags.`nyc_rental.trend` = 'true'")
    assert len({point.step for point in client.get_metric_history(trend.info.run_id, "test_mae")}) == 4
    champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION).version
    assert str(champion) == stack.champion_by_decisions(decisions)
    artifacts = {artifact.path for artifact in client.list_artifacts(finished[0].info.run_id)}
    assert "feature_importance.png" in artifacts

    # The production page's commands against the production stores: the report, predict, serve.
    commands = bash_commands(section(PRODUCTION))
    export = next(command for command in commands if command.startswith("export "))
    predict = next(command for command in commands if "nyc-rental predict" in command)
    assert set(commands) == {"make prod", export, "make report", predict, "make serve"}, commands
    priced = stack.root / "priced.csv"
    script = "\n".join([export, "make report", predict])
    for readme_value, ours in [
        ("http://127.0.0.1:5000", stack.mlflow_uri),
        ("postgresql://postgres@127.0.0.1:5432/nyc_rental_warehouse", stack.warehouse_url),
        ("data/incoming/listings_2019-07-10.csv", str(deliveries[1])),
        ("--output priced.csv", f"--output {priced}"),
    ]:
        assert readme_value in script
        script = script.replace(readme_value, ours)
    env = {k: v for k, v in stack.env.items() if k not in ("MLFLOW_TRACKING_URI", "NYC_RENTAL_WAREHOUSE_URL")}
    done = subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "weeks in postgresql://postgres@127.0.0.1:5432/nyc_rental_test_warehouse_" in done.stdout
    assert all(week in done.stdout for week in WEEKS)
    frame = pd.read_csv(priced)
    assert len(frame) == ROWS and (frame["predicted_price"] > 0).all()
    with serving_champion(stack.mlflow_uri) as invocations:  # what `make serve` runs, on a free port
        records = frame.drop(columns=["predicted_price", "price"]).head(3)
        records = records.astype({c: float for c in records if records[c].dtype.kind in "iu"}).astype(
            object
        )  # issue 13
        predictions = invocations(records.where(records.notna(), None).to_dict(orient="records"))
    assert len(predictions) == 3 and all(p > 0 for p in predictions)


def celery_attempts(instance, run_id: str, step_key: str) -> list[str]:
    """The Celery workers (name@host) that took `step_key` of the run, in order: one per delivery of its task."""
    events = instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT)
    return [
        str(record.dagster_event.engine_event_data.metadata["Celery worker"].value)
        for record in events
        if record.step_key == step_key and "Celery worker" in record.dagster_event.engine_event_data.metadata
    ]


def model_step_taken(stack, instance, week: str):
    """The week's run and the worker executing its model step, once that step has started."""
    for run in stack.week_runs(week):
        starts = instance.all_logs(run["runId"], of_type=DagsterEventType.STEP_START)
        workers = celery_attempts(instance, run["runId"], "model")
        if workers and any(record.step_key == "model" for record in starts):
            return run["runId"], workers[-1]
    return None


def run_status(instance, run_id: str) -> str:
    return instance.get_run_by_id(run_id).status.value


def finished_once_by_its_run(stack, instance, week: str, run_id: str, within: float) -> None:
    """The week's one run succeeded (no retry run was needed) within `within` seconds, and its rows are in."""
    wait_for("the week's run to finish", lambda: run_status(instance, run_id) in FINISHED, within, every=1)
    assert run_status(instance, run_id) == "SUCCESS", stack.failure_text(run_id)
    assert [run["runId"] for run in stack.week_runs(week)] == [run_id]
    weeks = Warehouse(url=stack.warehouse_url).rows_per_week("test_metrics").index
    assert dt.date.fromisoformat(week) in [day.date() for day in weeks]


def test_a_celery_worker_killed_mid_step_costs_the_step_not_the_run(stack):
    """SIGKILL of the worker running `model` (its whole process group, pool included): the broker hands the
    step to the other worker, the same run finishes the week, and supervisord starts the worker again."""
    week = "2019-07-29"
    synthetic_delivery(stack.home / "incoming", "2019-07-31", rows=ROWS, seed=40)
    stack.launch_backfill([week], ALL_ASSETS)
    instance = stack.instance()
    run_id, worker = wait_for("the model step to start", lambda: model_step_taken(stack, instance, week), 300, 0.5)
    name = worker.split("@")[0]
    (main,) = [
        pid for pid, of in stack.worker_processes().items() if of.startswith(f"{name}@") and pid == os.getpgid(pid)
    ]
    before = stack.supervisorctl("status", f"worker:{name}").stdout
    os.killpg(main, signal.SIGKILL)
    killed = time.monotonic()

    finished_once_by_its_run(stack, instance, week, run_id, 180)
    print(f"week finished {time.monotonic() - killed:.0f} s after the worker was killed")
    attempts = celery_attempts(instance, run_id, "model")
    assert len(attempts) == 2 and attempts[0] == worker, attempts

    def started_again():
        status = stack.supervisorctl("status", f"worker:{name}").stdout
        return " RUNNING " in status and status != before and status

    wait_for("supervisord to start the killed worker again", started_again, 60)


def start_worker_on_another_host(stack, host: str) -> subprocess.Popen:
    """A Celery worker in namespaces of its own (host name, process ids, /proc): as seen from this machine's
    processes and from the worker itself, another host. It reaches the broker and Postgres as a remote one would."""
    env = {**stack.env, "DAGSTER_HOME": str(stack.state / "dagster")}
    worker = f"{REPO / '.venv/bin/celery'} -A nyc_rental.runtime.celery_worker worker -Q dagster --concurrency 1"
    namespaces = ["unshare", "--uts", "--pid", "--fork", "--mount-proc", "--kill-child"]
    script = f"hostname {host} && exec {worker} -n worker@{host}"
    return start_in_session([*namespaces, "sh", "-c", script], REPO, env, stack.root / f"{host}.log")


def namespace_init(unshare: subprocess.Popen) -> int:
    """The host pid of the process that is pid 1 in unshare's namespace: killing it kills the whole 'host'."""
    children = Path(f"/proc/{unshare.pid}/task/{unshare.pid}/children").read_text().split()
    return int(children[0])


def test_a_worker_on_another_host_killed_mid_step_costs_one_retry_of_the_step(stack):
    """Steps on two workers of other hosts (the local workers stopped). The one running `model` is switched off
    (every process of its namespace killed at once): its step is run again on the other host and the week's run
    finishes within three minutes, with nobody's hand and no process of the dead host inspected."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "--uts", "--pid", "--fork", "true"]).returncode:
        reason = "unshare cannot make namespaces here (it needs root or user namespaces)"
        pytest.fail(reason) if os.environ.get("CI") == "true" else pytest.skip(reason)
    stack.supervisorctl("stop", "worker:*")
    hosts = {host: start_worker_on_another_host(stack, host) for host in ("worker-host-b", "worker-host-c")}
    try:
        week = "2019-08-05"
        synthetic_delivery(stack.home / "incoming", "2019-08-07", rows=ROWS, seed=41)
        stack.launch_backfill([week], ALL_ASSETS)
        instance = stack.instance()
        taken = wait_for("the model step to start", lambda: model_step_taken(stack, instance, week), 300, 0.5)
        run_id, worker = taken
        host = worker.split("@")[1]
        assert host in hosts, worker
        os.kill(namespace_init(hosts[host]), signal.SIGKILL)
        killed = time.monotonic()

        finished_once_by_its_run(stack, instance, week, run_id, 180)
        print(f"week finished {time.monotonic() - killed:.0f} s after host {host} went down")
        (other,) = set(hosts) - {host}
        assert celery_attempts(instance, run_id, "model") == [worker, f"worker@{other}"]
    finally:
        for unshare in hosts.values():
            unshare.kill()  # --kill-child: its namespace goes with it
            unshare.wait()
        stack.supervisorctl("start", "worker:*")


def test_a_second_make_prod_refuses_and_one_after_kill_9_of_the_first_takes_over_its_weeks(stack):
    """`make prod` beside a running one refuses, naming why. `kill -9` of the first one's whole process group
    (make and supervisord: the services live on, unsupervised) then `make prod` again: the new supervisord stops
    what the old one left, runs exactly one daemon, and every week of the backfill in flight finishes."""
    second = subprocess.run(["make", "prod"], cwd=REPO, env=stack.env, capture_output=True, text=True, timeout=120)
    assert second.returncode != 0 and "make prod already runs for" in second.stdout + second.stderr, second.stdout
    assert len(stack.daemons()) == 1

    weeks = ["2019-08-12", "2019-08-19"]
    for number, week in enumerate(weeks):
        day = (dt.date.fromisoformat(week) + dt.timedelta(days=2)).isoformat()
        synthetic_delivery(stack.home / "incoming", day, rows=ROWS, seed=50 + number)
    stack.launch_backfill(weeks, ALL_ASSETS)
    instance = stack.instance()
    wait_for("a model step to start", lambda: any(model_step_taken(stack, instance, w) for w in weeks), 300, 0.5)
    os.killpg(stack.process.pid, signal.SIGKILL)
    stack.process.wait()
    assert len(stack.daemons()) == 1  # the old one, no longer supervised

    stack.launch()
    wait_for("make prod to start again", stack._up, 240)
    assert len(stack.daemons()) == 1

    def weeks_finished():
        runs = [run for week in weeks for run in stack.week_runs(week)]
        done = all(run["status"] in FINISHED for run in runs)
        succeeded = {week for week in weeks for run in stack.week_runs(week) if run["status"] == "SUCCESS"}
        return done and succeeded == set(weeks)

    wait_for("every week of the backfill to finish", weeks_finished, 600, every=2)
    metrics = Warehouse(url=stack.warehouse_url).read_all("test_metrics")
    assert sorted(str(week.date()) for week in metrics["week"] if str(week.date()) in weeks) == weeks  # once each
    assert len(stack.daemons()) == 1
