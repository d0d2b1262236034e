"""Dagster definitions, one file per kind: assets/, checks.py (the data checks), freshness.py (the freshness
check and its sensor), sensors.py, jobs.py, partitions.py, resources.py and config.py (run config from the
core's parameters). nyc_rental/definitions.py assembles them with the resources and the executor."""
