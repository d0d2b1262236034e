"""Jobs: the weekly pipeline the sensor and backfills run."""

from dagster import AssetSelection, define_asset_job, in_process_executor

# In-process: one process per run holds the DuckDB file for the whole run, so steps never race each other
# for its single-writer lock, and a run does not pay for a Python start-up per step.
weekly_pipeline = define_asset_job(
    name="weekly_pipeline",
    selection=AssetSelection.groups("listings"),
    executor_def=in_process_executor,
    description="One week through raw → clean → (checks) → validated listings.",
)
