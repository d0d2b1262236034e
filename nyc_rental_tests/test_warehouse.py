"""The warehouse against a real DuckDB file, including one held by another process."""

import datetime as dt
import time

import pandas as pd
import pytest

from nyc_rental.resources import Warehouse, WarehouseError
from nyc_rental_tests.helpers import warehouse_held_open

WEEK = dt.date(2019, 7, 8)


def test_replacing_a_week_keeps_the_others_and_refuses_an_empty_frame(home):
    warehouse = Warehouse(path=str(home / "warehouse.duckdb"))
    warehouse.replace_week("t", WEEK, pd.DataFrame({"a": [1, 2], "b": ["x", None]}))
    warehouse.replace_week("t", WEEK + dt.timedelta(days=7), pd.DataFrame({"a": [3], "b": ["y"]}))
    warehouse.replace_week("t", WEEK, pd.DataFrame({"b": ["z"], "a": [9]}))  # columns matched by name
    assert warehouse.read_week("t", WEEK).to_dict("records") == [{"a": 9, "b": "z"}]
    assert warehouse.weeks("t") == [WEEK, WEEK + dt.timedelta(days=7)]
    with pytest.raises(WarehouseError, match="refusing to store an empty week 2019-07-08"):
        warehouse.replace_week("t", WEEK, pd.DataFrame({"a": [], "b": []}))
    assert warehouse.read_week("t", WEEK).to_dict("records") == [{"a": 9, "b": "z"}]
    with pytest.raises(WarehouseError, match="has columns .* the new rows have"):
        warehouse.replace_week("t", WEEK, pd.DataFrame({"a": [1], "c": [2]}))
    with pytest.raises(WarehouseError, match="has no rows for week 2019-07-22"):
        warehouse.read_week("t", WEEK + dt.timedelta(days=14))


def test_a_warehouse_held_by_another_process_fails_naming_the_file_and_the_holder(home):
    path = home / "warehouse.duckdb"
    Warehouse(path=str(path)).replace_week("t", WEEK, pd.DataFrame({"a": [1]}))
    with warehouse_held_open(path) as holder:
        started = time.monotonic()
        with pytest.raises(WarehouseError) as error:
            Warehouse(path=str(path), lock_timeout_seconds=1).replace_week("t", WEEK, pd.DataFrame({"a": [2]}))
        assert time.monotonic() - started < 30
        message = str(error.value)
        assert str(path) in message and f"PID {holder}" in message and "close that DuckDB session" in message
    assert Warehouse(path=str(path)).read_week("t", WEEK).a.tolist() == [1]
