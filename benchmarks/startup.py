"""What a fresh process pays before it does any work: loading the code location, and importing the core.

Every run process, every `dagster asset materialize`, the code server, the daemon and `dagster dev`'s
reloads load the code location. Each figure is the median (and min / max) over fresh interpreters of:
- `floor`: `import dagster, pandas, duckdb`, what any Dagster location over DuckDB and pandas pays;
- `code_location`: importing `nyc_rental.definitions` and building its definitions (the repository, every
  job), as `dagster` does when it loads the location;
- `core`: importing every module of `nyc_rental.core` (the platform's rules, no Dagster);
- `interpreter`: `python -c pass`.
Seconds are wall time of the whole process, as a user waits for it. Also lists which heavy libraries loading
the code location imported (none is the goal: the steps import them). Prints JSON.

    .venv/bin/python benchmarks/startup.py [--repeat 9]
"""

import argparse
import json
import os
import pkgutil
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("sklearn", "scipy", "mlflow", "matplotlib", "skops", "dagster_mlflow")
CORE = sorted(module.name for module in pkgutil.iter_modules([str(REPO / "nyc_rental" / "core")]))
PROGRAMS = {
    "interpreter": "pass",
    "floor": "import dagster, pandas, duckdb",
    "code_location": "from nyc_rental.definitions import build_defs; build_defs().get_repository_def().get_all_jobs()",
    "core": "; ".join(f"import nyc_rental.core.{name}" for name in CORE),
}


def seconds_of(program: str, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", program], cwd=REPO, env=env, check=True)
    return time.perf_counter() - started


def heavy_imports(env: dict) -> list[str]:
    probe = PROGRAMS["code_location"] + "; import sys; print(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    loaded = {name.split(".")[0] for name in done.stdout.split()}
    return sorted(loaded & set(HEAVY))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    env = {**os.environ, "NYC_RENTAL_HOME": str(REPO / "data")}
    seconds_of(PROGRAMS["code_location"], env)  # warm the file cache and the bytecode once
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "repeat": args.repeat}
    for name, program in PROGRAMS.items():
        times = [seconds_of(program, env) for _ in range(args.repeat)]
        report[name] = {
            "median_seconds": round(statistics.median(times), 3),
            "min_seconds": round(min(times), 3),
            "max_seconds": round(max(times), 3),
        }
    report["heavy_libraries_imported_by_the_code_location"] = heavy_imports(env)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
