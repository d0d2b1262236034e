"""The code location stays light: what importing it loads, and config that follows the core's dataclasses."""

import dataclasses
import json
import pkgutil
import subprocess
import sys

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
NOT_IN_CORE = ("dagster", "mlflow", "dagster_mlflow", "dagster_pandera")
# The probe's interpreter imports these before it forks: nearly every probed module imports them, and none of
# them loads a library these tests look for (the probe checks that, so no verdict depends on it).
PRELOADED = ("numpy", "pandas")
WATCHED = {*HEAVY, *NOT_IN_CORE, "nyc_rental"}

PROBE = """
import json, os, shutil, sys, tempfile, traceback
codes = json.loads(sys.argv[1])
for name in sys.argv[2].split(","):
    __import__(name)
preloaded = sorted(sys.modules)
folder = tempfile.mkdtemp()
children = {}
for number, code in enumerate(codes):
    if len(children) >= 4:  # a few at a time: each child may import dagster or scikit-learn
        children.pop(os.wait()[0])
    pid = os.fork()
    if pid == 0:
        try:
            exec(compile(code, "<probe>", "exec"), {"__name__": "__main__"})
            answer = {"modules": sorted(sys.modules)}
        except BaseException:
            answer = {"error": traceback.format_exc()}
        with open(os.path.join(folder, str(number)), "w") as out:
            json.dump(answer, out)
        os._exit(0)
    children[pid] = number
while children:
    children.pop(os.wait()[0])
answers = []
for number in range(len(codes)):
    with open(os.path.join(folder, str(number))) as answer:
        answers.append(json.load(answer))
shutil.rmtree(folder)
print(json.dumps({"preloaded": preloaded, "answers": answers}))
"""


def modules_loaded_by(*codes: str, full: bool = False) -> set[str] | list[set[str]]:
    """Top-level packages (with `full`, every module) loaded after running each of `codes` in a fresh
    interpreter state, and a set for each (one set for one code). One interpreter starts, imports only
    PRELOADED, and forks a child for each code (a few at a time): each child starts from that state, as a
    fresh interpreter would after `import pandas`, without paying for the start and for pandas again."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(codes), ",".join(PRELOADED)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    preloaded = {name.split(".")[0] for name in report["preloaded"]}
    assert not preloaded & WATCHED, f"importing {PRELOADED} loads {sorted(preloaded & WATCHED)}: probe without them"
    loaded = []
    for code, answer in zip(codes, report["answers"]):
        assert "error" not in answer, f"{code}\n{answer.get('error')}"
        names = answer["modules"]
        loaded.append(set(names) if full else {name.split(".")[0] for name in names})
    return loaded[0] if len(codes) == 1 else loaded


CORE_MODULES = sorted(f"nyc_rental.core.{m.name}" for m in pkgutil.iter_modules(nyc_rental.core.__path__))
SYNTHETIC = "import nyc_rental.synthetic"
CODE_LOCATION = "from nyc_rental.definitions import build_defs; build_defs().get_repository_def().get_all_jobs()"
PACKAGE = "import nyc_rental, nyc_rental.core.cleaning, nyc_rental.defs, nyc_rental.cli"


@pytest.fixture(scope="module")
def fresh_imports() -> dict[str, set[str]]:
    """Every module (`sys.modules`) that each probed code loads, all probed by one `modules_loaded_by`."""
    codes = [f"import {module}" for module in CORE_MODULES] + [SYNTHETIC, CODE_LOCATION, PACKAGE]
    return dict(zip(codes, modules_loaded_by(*codes, full=True)))


def top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


@pytest.mark.parametrize("module", CORE_MODULES)
def test_the_core_imports_neither_dagster_nor_mlflow(module, fresh_imports):
    loaded = top_level(fresh_imports[f"import {module}"])
    assert not loaded & set(NOT_IN_CORE), module


def test_the_synthetic_generator_imports_neither_dagster_nor_mlflow(fresh_imports):
    assert not top_level(fresh_imports[SYNTHETIC]) & {"dagster", "mlflow"}


def test_loading_the_code_location_leaves_the_heavy_libraries_to_the_steps(fresh_imports):
    loaded = top_level(fresh_imports[CODE_LOCATION])
    assert "dagster" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_importing_the_package_does_not_build_the_definitions(fresh_imports):
    package = fresh_imports[PACKAGE]
    assert "nyc_rental.definitions" not in package and "dagster" not in top_level(package)


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

    from nyc_rental.ml.tracking import MLFLOW_RUN_CONFIG

    assert set(MLFLOW_RUN_CONFIG) - {"artifact_root", "end_with_last_step"} <= set(CONFIG_SCHEMA)  # ours alone
    assert {name for name, field in CONFIG_SCHEMA.items() if field.is_required} <= set(MLFLOW_RUN_CONFIG)


def test_every_asset_is_weekly(home):
    graph = build_defs(home).resolve_asset_graph()
    partitions = {graph.get(key).partitions_def for key in graph.get_all_asset_keys()}
    assert len(partitions) == 1 and graph.get(AssetKey("raw_listings")).partitions_def in partitions
