"""A late delivery is noticed: Dagster's freshness check on `raw_listings`, run by a sensor that is on by default.

The check passes while some week of raw_listings was materialized within `settings.DELIVERY_OVERDUE_AFTER`
(8 days) of the check's evaluation, and fails once none was (severity ERROR: the UI shows it "Failed" with a red
icon; WARN would show a yellow warning); it passes again when a week lands.

Lateness is measured by time of landing, not by the partition calendar: `build_last_update_freshness_checks`
reads the latest materialization of the asset, whatever its week. `build_time_partition_freshness_checks`
would instead expect the latest calendar week's partition by a cron deadline, but a delivery's week is the date
in its file name, which need not be this week (the demo's weeks are in 2019). So any materialization of any
week counts, a backfill or a rerun of an old week from its file too: the check says "raw_listings was refreshed
from the landing folder within 8 days", and a backfill does that. Its cost: a backfill can hide a late delivery
for up to 8 days after it ran.

The check is unpartitioned (it is about the asset, not a week), so `weekly_pipeline` leaves it out (jobs.py):
the delivery sensor's runs of the whole job carry only the week's assets and data checks. A run that selects
raw_listings among some assets (a backfill of the asset graph, Materialize in the UI) may include it; it runs
there too, unpartitioned, and passes, since the week was just materialized.

The sensor's runs have a lower priority than any other (tag `dagster/priority`), so when weeks queue up (a
backlog dropped at once, `dagster dev` started on a full landing folder) the check waits for them: it runs only
when it does not keep a week out of the run queue's places.
"""

import warnings

from dagster import (
    AssetCheckSeverity,
    DefaultSensorStatus,
    SupersessionWarning,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

from nyc_rental.defs.assets.listings import raw_listings
from nyc_rental.settings import DELIVERY_OVERDUE_AFTER, FRESHNESS_SENSOR_INTERVAL_SECONDS

FRESHNESS_RUN_PRIORITY = -1

# dagster 1.13 marks both factories superseded by FreshnessPolicy, which reports a freshness state rather than
# a check that fails, and is evaluated by the daemon rather than a sensor we can see and test; keep these.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", SupersessionWarning)
    raw_listings_freshness_checks = build_last_update_freshness_checks(
        assets=[raw_listings], lower_bound_delta=DELIVERY_OVERDUE_AFTER, severity=AssetCheckSeverity.ERROR
    )
    raw_listings_freshness_sensor = build_sensor_for_freshness_checks(
        freshness_checks=raw_listings_freshness_checks,
        name="raw_listings_freshness_sensor",
        minimum_interval_seconds=FRESHNESS_SENSOR_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.RUNNING,
        # Behind any queued week (the run queue launches higher priorities first; Dagster's default is 0): the
        # check takes a place among max_concurrent_runs only when no week waits for one.
        tags={"dagster/priority": str(FRESHNESS_RUN_PRIORITY)},
    )
