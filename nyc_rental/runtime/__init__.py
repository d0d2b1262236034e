"""Instance plugins: the executor (executor.py), the run launcher (launcher.py) and the cores a step may use
(capacity.py); the garbage collector's settings of every process that imports the project (heap.py).

This folder is the only place that imports Dagster's private API (`dagster._…`): every such name is imported
here, bounded by the Dagster version pin in pyproject.toml (`<1.14`), and covered by a test
(nyc_rental_tests/runtime/). The rest of the package imports what is public from `dagster` itself.
"""
