"""The weekly partitions every asset shares."""

import datetime as dt

from dagster import WeeklyPartitionsDefinition

from nyc_rental.settings import first_week

FIRST_WEEK = first_week().isoformat()

# Weeks start on Monday (day_offset=1); end_offset=1 makes the current, unfinished week a valid
# partition, because deliveries arrive mid-week.
weekly_partitions = WeeklyPartitionsDefinition(start_date=FIRST_WEEK, day_offset=1, end_offset=1)


def week_of_partition(partition_key: str) -> dt.date:
    """The Monday a partition key names."""
    return dt.date.fromisoformat(partition_key)


def is_known_week(partition_key: str) -> bool:
    """Whether a week is a partition today (a sensor requesting an unknown key fails its whole tick)."""
    return weekly_partitions.has_partition_key(partition_key)
