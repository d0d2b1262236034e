"""The tree says where a change belongs: few modules at the package's root, one kind of module per folder, and
Dagster's private API (`dagster._…`) imported from nyc_rental/runtime/ only."""

import ast
import re
import subprocess

from nyc_rental_tests.conftest import REPO

PACKAGE = REPO / "nyc_rental"
RUNTIME = PACKAGE / "runtime"
PRIVATE_MODULE = re.compile(r"dagster\._\w+(\.\w+)*$")
FOLDERS = {"core", "defs", "storage", "ml", "runtime", "cli", "synthetic"}


def python_files() -> list:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [REPO / name for name in listed if (REPO / name).exists()]


def private_dagster_imports(path) -> list[str]:
    """`import dagster._x`, `from dagster._x import y` and `from dagster import _y` in `path`, with their lines; and
    a string naming such a module (an instance's settings name a class by its module)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and PRIVATE_MODULE.match(node.value):
            found.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value}")
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        private = [
            n for n in names if n.split(".")[0] == "dagster" and any(p.startswith("_") for p in n.split(".")[1:])
        ]
        found += [f"{path.relative_to(REPO)}:{node.lineno}: {name}" for name in private[:1]]
    return found


def test_only_the_runtime_folder_imports_dagster_private_api():
    files = python_files()
    assert len(files) > 100 and (RUNTIME / "executor.py") in files  # the scan sees the repository
    outside = [line for path in files if RUNTIME not in path.parents for line in private_dagster_imports(path)]
    assert not outside, (
        "Dagster's private API is imported outside nyc_rental/runtime/: import it from `dagster` where it is "
        "public, or wrap it in a runtime module (named, bounded by the version pin, tested):\n" + "\n".join(outside)
    )
    inside = [line for path in files if RUNTIME in path.parents for line in private_dagster_imports(path)]
    assert inside, "runtime/ imports nothing private any more: the dagster<1.14 bound can go"


def test_the_package_root_holds_the_code_location_and_the_settings_and_each_folder_is_one_kind():
    modules = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert modules == ["__init__.py", "definitions.py", "settings.py"], modules
    folders = {path.name for path in PACKAGE.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    assert folders == FOLDERS, f"a new folder needs its rule in docs/architecture.md: {sorted(folders ^ FOLDERS)}"
