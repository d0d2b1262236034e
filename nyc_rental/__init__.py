"""nyc-rental: a weekly, partitioned Dagster pipeline that retrains a nightly-price model on each delivery.

Importing the package, or any module of it, does not build the definitions: `nyc_rental.definitions` is the
code location (`dg`, `dagster dev -w workspace.yaml`, `-m nyc_rental.definitions`). Each folder is one kind of
module: core/ (the platform's rules), defs/ (Dagster definitions), storage/ (the warehouse), ml/ (MLflow),
runtime/ (instance plugins on Dagster's private API), cli/ (the `nyc-rental` programs), synthetic/ (the demo's
deliveries).
"""

from nyc_rental.runtime import heap

heap.tune()  # the collector's settings for processes that import a week's libraries (runtime/heap.py)
