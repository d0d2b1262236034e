"""deploy/helm/values.yaml, the values for Dagster's Helm chart, as far as CI can check them without the chart.

CI cannot render the chart: it reaches PyPI and Debian's archive only, and neither ships Dagster's chart (a helm
binary is to be had from PyPI, a chart to give it is not). The chart's own JSON schema would not do either: it
lets unknown keys through at the top level, in a code location's entry and in `dagsterDaemon.runMonitoring` /
`runRetries` (a free-form map and a model that allows extra keys), and it `$ref`s Kubernetes' definitions on
raw.githubusercontent.com.

What is checked here, exactly for the installed versions: the file names the installed Dagster's version as the
chart's; the dagster.yaml settings the chart writes from these values (run_coordinator, run_monitoring,
run_retries, telemetry, the Postgres storage) are settings Dagster and dagster-postgres accept, with no unknown
key and no wrongly typed value; and the objects the values point at (ConfigMap, volume claim, MLflow Service)
are the ones deploy/helm/nyc-rental.yaml and mlflow.yaml create. Which value the chart writes where is read from
its templates (configmap-instance.yaml, helpers/instance/_postgresql.tpl), not run: the keys of runMonitoring,
runRetries and queuedRunCoordinator become dagster.yaml's in snake_case. The chart-only keys (global,
generatePostgresqlPasswordSecret, the code location's entry, runLauncher) are not checked by a machine."""

import copy
import re
from importlib.metadata import version

import pytest
import yaml
from dagster import DagsterInvalidConfigError, OpExecutionContext, instance_for_test, job, op, validate_run_config
from dagster_postgres import PostgresRunStorage

from nyc_rental_tests.conftest import REPO

HELM = REPO / "deploy" / "helm"
VALUES = HELM / "values.yaml"


def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def manifests(name: str) -> dict:
    """`deploy/helm/<name>`'s objects by (kind, name)."""
    objects = [o for o in yaml.safe_load_all((HELM / name).read_text()) if o]
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def snake_keys(settings: dict) -> dict:
    return {snake(key): value for key, value in settings.items()}


def instance_settings(helm_values: dict) -> dict:
    """The sections of dagster.yaml that the chart writes from `helm_values`, as its configmap-instance.yaml does."""
    daemon = helm_values["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]
    assert coordinator["enabled"] and coordinator["type"] == "QueuedRunCoordinator"
    return {
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": snake_keys(coordinator["config"]["queuedRunCoordinator"]),
        },
        "run_monitoring": snake_keys(daemon["runMonitoring"]),
        "run_retries": snake_keys(daemon["runRetries"]),
        "telemetry": snake_keys(helm_values["telemetry"]),
    }


def postgres_db(helm_values: dict) -> dict:
    """The `postgres_db` of the instance's three storages, as the chart's helpers/instance/_postgresql.tpl writes it."""
    postgresql = helm_values["postgresql"]
    assert postgresql["enabled"] is False, "the chart's own PostgreSQL would be deployed and used instead"
    return {
        "username": postgresql["postgresqlUsername"],
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": postgresql["postgresqlHost"],
        "db_name": postgresql["postgresqlDatabase"],
        "port": postgresql["service"]["port"],
        "params": postgresql["postgresqlParams"],
        "scheme": postgresql["postgresqlScheme"],
    }


@op(config_schema=PostgresRunStorage.config_type())
def postgres_storage(context: OpExecutionContext) -> None:
    """Never run: its config schema is dagster-postgres' for a storage, and a job's run config is how Dagster's
    public API validates a value against a config schema."""


@job
def postgres_storage_settings():
    postgres_storage()


def check_instance_settings(helm_values: dict) -> dict:
    """Load the settings into a real instance of the installed Dagster; DagsterInvalidConfigError names an unknown
    key or a wrongly typed value. Returns what the instance read."""
    with instance_for_test(overrides=instance_settings(helm_values)) as instance:
        coordinator = instance.run_coordinator  # its config is validated when it is built
        return {
            "run_coordinator": (type(coordinator).__name__, coordinator.inst_data.config_dict),
            "run_monitoring": instance.run_monitoring_settings,
            "run_retries": (instance.run_retries_max_retries, instance.run_retries_retry_on_asset_or_op_failure),
        }


def check_postgres_storage(helm_values: dict, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "not-a-password")  # the chart's {env: ...}, read when validating
    config = {"postgres_db": postgres_db(helm_values)}
    validate_run_config(postgres_storage_settings, {"ops": {"postgres_storage": {"config": config}}})


def test_the_values_name_the_installed_dagster_version_as_the_charts():
    text = VALUES.read_text()
    installed = version("dagster")
    named = set(re.findall(r"(?:chart version = Dagster version|--version) (\d[\w.]*\w)", text))
    assert named == {installed}, f"values.yaml names chart version(s) {named}, Dagster {installed} is installed"


def test_dagster_accepts_the_instance_settings_the_chart_writes_from_the_values():
    read = check_instance_settings(values())
    assert read["run_coordinator"] == ("QueuedRunCoordinator", {"max_concurrent_runs": 4})
    assert read["run_monitoring"]["enabled"] is True and read["run_monitoring"]["max_resume_run_attempts"] == 0
    assert read["run_retries"] == (2, False)


def test_dagster_postgres_accepts_the_storage_settings_the_chart_writes_from_the_values(monkeypatch):
    check_postgres_storage(values(), monkeypatch)


def planted(path: str, change) -> dict:
    """values.yaml with one mistake: `change(parent, key)` at the dotted `path`."""
    helm_values = copy.deepcopy(values())
    *parents, key = path.split(".")
    parent = helm_values
    for name in parents:
        parent = parent[name]
    change(parent, key)
    return helm_values


def misspell(parent: dict, key: str) -> None:
    parent[key[:-1]] = parent.pop(key)


def as_text(parent: dict, key: str) -> None:
    parent[key] = str(parent[key]).lower()


@pytest.mark.parametrize(
    "path, change",
    [
        ("dagsterDaemon.runMonitoring.freeSlotsAfterRunEndSeconds", misspell),
        ("dagsterDaemon.runRetries.retryOnAssetOrOpFailure", misspell),
        ("dagsterDaemon.runMonitoring.pollIntervalSeconds", as_text),
        ("dagsterDaemon.runRetries.retryOnAssetOrOpFailure", as_text),
        ("telemetry.enabled", as_text),
    ],
)
def test_a_planted_mistake_in_the_instance_settings_fails_the_check(path, change):
    with pytest.raises(DagsterInvalidConfigError):
        check_instance_settings(planted(path, change))


@pytest.mark.parametrize(
    "path, change",
    [("postgresql.service.port", as_text), ("postgresql.postgresqlParams", as_text)],
)
def test_a_planted_mistake_in_the_postgres_settings_fails_the_check(path, change, monkeypatch):
    with pytest.raises(DagsterInvalidConfigError):
        check_postgres_storage(planted(path, change), monkeypatch)


def test_the_objects_the_values_point_at_are_the_ones_the_other_manifests_create():
    (location,) = values()["dagster-user-deployments"]["deployments"]
    platform, mlflow = manifests("nyc-rental.yaml"), manifests("mlflow.yaml")
    for ref in location["envConfigMaps"]:
        assert ("ConfigMap", ref["name"]) in platform
    for volume in location["volumes"]:
        assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in platform
    mounted = {mount["mountPath"] for mount in location["volumeMounts"]}
    (config_map,) = (platform[("ConfigMap", ref["name"])] for ref in location["envConfigMaps"])
    assert config_map["data"]["NYC_RENTAL_HOME"] in mounted
    host, port = re.fullmatch(r"http://([\w-]+):(\d+)", config_map["data"]["MLFLOW_TRACKING_URI"]).groups()
    assert int(port) in {p["port"] for p in mlflow[("Service", host)]["spec"]["ports"]}
    (server,) = mlflow[("Deployment", host)]["spec"]["template"]["spec"]["containers"]
    assert server["image"].split(":")[0] == location["image"]["repository"]
