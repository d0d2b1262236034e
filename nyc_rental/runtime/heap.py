"""Python's cyclic garbage collector, set for processes that run weeks.

A process that runs a week imports Dagster, pandas, scikit-learn, SciPy, MLflow and skops: about 550,000 objects
that live as long as the process. With CPython's default thresholds (700, 10, 10) the collector walks all of them
again and again while they are being imported (nine full collections, 1.3 s of a core for one week from the
command line), then once more as the interpreter exits (another 1.3 s), although the operating system takes the
memory back whole.

`tune()`, called when `nyc_rental` is imported (so in every process that loads the code location: the command
line, run processes, the code server, the daemon, Celery workers):
- collects the youngest generation every `YOUNG_THRESHOLD` allocations instead of 700, so an import burst or a
  DataFrame's construction is not interrupted by hundreds of collections that each promote survivors towards a
  full one;
- freezes the heap at exit (`gc.freeze` in an `atexit` hook): the interpreter's last collections skip every
  object alive then. Objects are still freed by reference counting as modules are torn down; what a frozen heap
  does not do is run the finalizers of objects in reference cycles, which Python never promises at exit anyway.
  Files and connections the project opens are closed by `with` blocks, not by the collector.

The warm process of `warm_runs.py`, which imports the libraries once and forks the runs, freezes its heap before
the first fork: no run's collection walks those objects, and the pages a run shares with it stay shared.
"""

from __future__ import annotations

import atexit
import gc

YOUNG_THRESHOLD = 10_000


def tune() -> None:
    """Raise the youngest generation's threshold and freeze the heap at exit (nyc_rental's import calls it once)."""
    young, middle, oldest = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, oldest)
    atexit.register(gc.freeze)
