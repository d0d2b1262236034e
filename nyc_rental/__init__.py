"""nyc-rental: a weekly, partitioned Dagster pipeline that retrains a nightly-price model on each delivery."""

from nyc_rental.definitions import build_defs

defs = build_defs()
