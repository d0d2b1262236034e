"""Every awkward but usable delivery, in-process on small weeks: it succeeds, says what it dropped, decodes
what it can, and the file is never changed. `integration/test_bad_deliveries.py` drops some of them into a
running `dagster dev` too."""

import hashlib

import pytest

from nyc_rental_tests.deliveries import AWKWARD, assert_what_was_dropped
from nyc_rental_tests.helpers import (
    LISTING_ASSETS,
    failure_messages,
    materialization_metadata,
    read_table,
    run_week,
    week_counts,
)

ROWS = 2_000
SMALL_WEEKS = {"resources": {"data_tests": {"config": {"min_rows": 1_000}}}}


@pytest.mark.parametrize("case", list(AWKWARD))
def test_an_awkward_delivery_succeeds_and_says_what_it_dropped(case, incoming, home, defs, instance):
    file_name, week, content = AWKWARD[case]
    path = incoming / file_name
    path.write_bytes(content(ROWS))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()

    result = run_week(defs, instance, week, SMALL_WEEKS)
    assert result.success, failure_messages(result)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest  # never modified
    assert all(week_counts(home, table).get(week) for table in LISTING_ASSETS)
    raw = materialization_metadata(result, "raw_listings")
    assert_what_was_dropped(case, file_name, raw, materialization_metadata(result, "clean_listings")["dropped_by_rule"])
    if case == "latin1":  # decoded, not mangled
        names = read_table(home, "clean_listings", week).query("host_name == 'José'")[["name", "host_name"]]
        assert names.drop_duplicates().values.tolist() == [["Café près du parc", "José"]]
