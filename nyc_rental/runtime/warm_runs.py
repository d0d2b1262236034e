"""Run processes forked from a warm one: the libraries a week needs are imported once, not once per run.

A run started by Dagster's default launcher is a fresh Python process (`dagster api execute_run`'s work, spawned by
the code server): before its first step it imports Dagster and the code location, and its model step imports
scikit-learn, SciPy, MLflow, skops and matplotlib, about 4.5 s of a core per run. With `warm_processes: true`
(`run_launcher` in `.dagster/dagster.yaml`), the launcher keeps one process per Python executable that has imported
those libraries and nothing of this project, and forks each run from it: the child imports `nyc_rental` itself
(so a change of the project's code is in the next run, as with the default launcher) and executes the run as
`dagster api execute_run` does.

The warm process is the launcher's child (in `dagster dev`, the daemon's): it reads one run per line on its
stdin and answers the run's process id; it exits when its stdin closes (the daemon stopped), leaving runs in
progress to finish. A run's process belongs to the same session as the daemon, so stopping or killing
`dagster dev` reaches it as it reaches the code server's runs. Libraries upgraded in the environment are
picked up by restarting `dagster dev`.
"""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

# Imported by the warm process, before any run: everything a weekly run imports but this project's own modules.
PRELOAD = (
    "dagster",
    "dagster._cli.api",
    "dagster_mlflow",
    "dagster_pandera",
    "duckdb",
    "numpy",
    "pandas",
    "pandera.pandas",
    "pyarrow.parquet",
    "scipy.sparse",
    "sklearn.compose",
    "sklearn.ensemble",
    "sklearn.feature_extraction.text",
    "sklearn.inspection",
    "sklearn.linear_model",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "sqlalchemy",
    "mlflow",
    "mlflow.pyfunc",
    "mlflow.store.tracking.sqlalchemy_store",  # the SQLite stores a run opens, and their SQLAlchemy models
    "mlflow.store.model_registry.sqlalchemy_store",
    "mlflow.tracing.processor.base_mlflow",
    "dagster._core.storage.runs.sqlite.sqlite_run_storage",  # the instance's own SQLite storage
    "dagster._core.storage.event_log.sqlite.sqlite_event_log",
    "dagster._core.storage.schedules.sqlite.sqlite_schedule_storage",
    "pandera.backends.pandas.register",
    "git",  # GitPython: the run's source commit, for its MLflow tags
    "skops.io",
    "matplotlib.pyplot",
)

# skops.io's fast import (the file is run, not imported: the warm process imports nothing of this project).
SKOPS_IO = Path(__file__).resolve().parents[1] / "ml" / "skops_io.py"

# The warm process's program (run with `python -c`, so that it imports nothing of this project).
WARM_PROCESS = r"""
import gc, importlib, json, os, runpy, signal, sys, warnings

os.environ.setdefault("MPLBACKEND", "Agg")
gc.disable()  # the imports below only add objects that live as long as the process
with warnings.catch_warnings():
    from dagster import BetaWarning

    warnings.simplefilter("ignore", BetaWarning)  # dagster-mlflow is marked beta, as the runs know (ml/tracking.py)
    for name in json.loads(sys.argv[1]):
        try:
            if name == "skops.io":  # as the runs import it (nyc_rental/ml/skops_io.py), run from its file
                try:
                    runpy.run_path(sys.argv[2], run_name="warm_skops_io")["skops_io"]()
                except Exception:
                    pass  # skops' own import, below
            importlib.import_module(name)
        except ImportError:
            pass  # a library the environment lacks: the run imports what it needs itself
try:  # MLflow maps modules to packages on every model it logs, once per process (0.6 s): here, once for all runs
    from mlflow.utils.requirements_utils import _init_packages_to_modules_map

    _init_packages_to_modules_map()
except Exception:
    pass
try:  # SQLAlchemy maps MLflow's tables to classes when a store is first queried (0.25 s): here, once for all runs
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
except Exception:
    pass
# No collection first (the collector has been off since the start): as Python's documentation of gc.freeze advises,
# it would free holes in pages the runs share, and take 0.4 s before the first run can start.
gc.freeze()  # no run's collection walks what is alive now, and the pages a run shares with this process stay shared
gc.enable()
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the runs' processes are reaped as they end
answers = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # what anything prints goes where the daemon's output goes, not into the answers

for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid:
        answers.write(f"{pid}\n")
        answers.flush()
        continue
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        answers.close()
        from dagster._cli.api import _execute_run_command_body
        from dagster._cli.utils import get_instance_for_cli
        from dagster._core.instance import InstanceRef
        from dagster._serdes import deserialize_value
        from dagster._utils.interrupts import capture_interrupts

        with capture_interrupts():
            ref = deserialize_value(request["instance_ref"], InstanceRef)
            with get_instance_for_cli(instance_ref=ref) as instance:
                code = _execute_run_command_body(request["run_id"], instance, lambda event: None, False)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
"""


class WarmProcesses:
    """The warm processes of one launcher, one per Python executable, started when first needed."""

    def __init__(self) -> None:
        self._processes: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()

    def start_run(self, executable: str, run_id: str, instance_ref: str) -> int:
        """Fork the run's process from the warm process of `executable`; its process id."""
        request = json.dumps({"run_id": run_id, "instance_ref": instance_ref}) + "\n"
        with self._lock:
            for _attempt in (1, 2):  # a warm process that died (killed, out of memory) is replaced once
                process = self._warm(executable)
                try:
                    process.stdin.write(request)
                    process.stdin.flush()
                    answer = process.stdout.readline()
                except (BrokenPipeError, OSError):
                    answer = ""
                if answer.strip().isdigit():
                    return int(answer)
                process.kill()
                process.wait()
                del self._processes[executable]
            raise RuntimeError(f"the warm process of {executable} did not start run {run_id}")

    def start(self, executable: str) -> None:
        """Start the warm process of `executable` now (it imports the libraries while the caller goes on)."""
        with self._lock:
            self._warm(executable)

    def _warm(self, executable: str) -> subprocess.Popen:
        process = self._processes.get(executable)
        if process is None or process.poll() is not None:
            process = subprocess.Popen(
                [executable, "-c", WARM_PROCESS, json.dumps(PRELOAD), str(SKOPS_IO)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            self._processes[executable] = process
        return process

    def close(self) -> None:
        """Close the warm processes' stdin: each exits; runs in progress go on."""
        with self._lock:
            for process in self._processes.values():
                if process.stdin:
                    process.stdin.close()
            self._processes.clear()
