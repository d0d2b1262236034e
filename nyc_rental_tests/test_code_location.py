"""The code location stays light: what importing it loads, and config that follows the core's dataclasses."""

import dataclasses
import json
import pkgutil
import subprocess
import sys
from subprocess import PIPE

import pytest
from dagster import AssetKey

import nyc_rental.core
from nyc_rental.core.cleaning import CleaningRules
from nyc_rental.core.quality import QualityThresholds
from nyc_rental.core.splitting import SplitParams
from nyc_rental.core.training import ModelParams
from nyc_rental.definitions import build_defs
from nyc_rental_tests.conftest import REPO

HEAVY = ("sklearn", "scipy", "mlflow", "matplotlib", "skops", "dagster_mlflow")


def modules_loaded_by(*codes: str, full: bool = False) -> set[str] | list[set[str]]:
    """Top-level packages (with `full`, every module) a fresh interpreter has imported after running `code`;
    given several, one fresh interpreter for each, all started at once (they import side by side on every
    core), and a set for each."""
    probe = "{}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    processes = [
        subprocess.Popen([sys.executable, "-c", probe.format(code)], cwd=REPO, stdout=PIPE, stderr=PIPE, text=True)
        for code in codes
    ]
    loaded = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
            names = json.loads(stdout.splitlines()[-1])
            loaded.append(set(names) if full else {name.split(".")[0] for name in names})
    finally:
        for process in processes:
            process.kill()
            process.wait()
    return loaded[0] if len(codes) == 1 else loaded


CORE_MODULES = sorted(f"nyc_rental.core.{m.name}" for m in pkgutil.iter_modules(nyc_rental.core.__path__))


@pytest.fixture(scope="module")
def core_imports() -> dict[str, set[str]]:
    """What importing each core module loads, each in a fresh interpreter of its own."""
    return dict(zip(CORE_MODULES, modules_loaded_by(*(f"import {module}" for module in CORE_MODULES))))


@pytest.mark.parametrize("module", CORE_MODULES)
def test_the_core_imports_neither_dagster_nor_mlflow(module, core_imports):
    loaded = core_imports[module]
    assert not loaded & {"dagster", "mlflow", "dagster_mlflow", "dagster_pandera"}, module


def test_the_synthetic_generator_imports_neither_dagster_nor_mlflow():
    assert not modules_loaded_by("import nyc_rental.synthetic") & {"dagster", "mlflow"}


def test_loading_the_code_location_leaves_the_heavy_libraries_to_the_steps():
    loaded = modules_loaded_by(
        "from nyc_rental.definitions import build_defs; build_defs().get_repository_def().get_all_jobs()"
    )
    assert "dagster" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_importing_the_package_does_not_build_the_definitions():
    package, defs = modules_loaded_by(
        "import nyc_rental, nyc_rental.core.cleaning", "import nyc_rental; nyc_rental.defs", full=True
    )
    assert "nyc_rental.definitions" not in package
    # ... yet `dagster ... -m nyc_rental` finds them
    assert "nyc_rental.definitions" in defs and "dagster" in defs


def op_config_defaults(job, op: str) -> dict:
    fields = job.run_config_schema.config_type.fields["ops"].config_type.fields[op].config_type.fields["config"]
    return {name: field.default_value for name, field in fields.config_type.fields.items() if field.default_provided}


def resource_config_defaults(job, resource: str) -> dict:
    fields = job.run_config_schema.config_type.fields["resources"].config_type.fields[resource].config_type
    config = fields.fields["config"].config_type.fields
    return {name: field.default_value for name, field in config.items() if field.default_provided}


def dataclass_defaults(params) -> dict:
    return {field.name: field.default for field in dataclasses.fields(params)}


def test_the_launchpad_config_is_the_core_dataclasses_with_their_defaults(home):
    job = build_defs(home).resolve_job_def("weekly_pipeline")
    assert op_config_defaults(job, "clean_listings") == dataclass_defaults(CleaningRules)
    assert op_config_defaults(job, "splits") == dataclass_defaults(SplitParams)
    model = op_config_defaults(job, "model")
    assert {name: model[name] for name in dataclass_defaults(ModelParams)} == dataclass_defaults(ModelParams)
    assert set(model) - set(dataclass_defaults(ModelParams)) == {"sweep", "threads"}
    data_tests = resource_config_defaults(job, "data_tests")
    assert {n: data_tests[n] for n in dataclass_defaults(QualityThresholds)} == dataclass_defaults(QualityThresholds)


def test_the_cleaning_rule_and_the_checks_share_one_price_range_and_bounding_box():
    assert dataclass_defaults(CleaningRules).items() <= dataclass_defaults(QualityThresholds).items()


def test_the_mlflow_run_resource_configures_what_dagster_mlflow_reads():
    from dagster_mlflow.resources import CONFIG_SCHEMA

    from nyc_rental.tracking import MLFLOW_RUN_CONFIG

    assert set(MLFLOW_RUN_CONFIG) - {"artifact_root", "end_with_last_step"} <= set(CONFIG_SCHEMA)  # ours alone
    assert {name for name, field in CONFIG_SCHEMA.items() if field.is_required} <= set(MLFLOW_RUN_CONFIG)


def test_every_asset_is_weekly(home):
    graph = build_defs(home).resolve_asset_graph()
    partitions = {graph.get(key).partitions_def for key in graph.get_all_asset_keys()}
    assert len(partitions) == 1 and graph.get(AssetKey("raw_listings")).partitions_def in partitions
