"""The warehouse on both backends: a real DuckDB file (including one held by another process) and a real
Postgres database of its own per test."""

import datetime as dt
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nyc_rental.storage.warehouse import Warehouse, WarehouseError
from nyc_rental_tests.helpers import warehouse_held_open
from nyc_rental_tests.services import postgres_database

WEEK = dt.date(2019, 7, 8)
NEXT = WEEK + dt.timedelta(days=7)


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, home):
    if request.param == "duckdb":
        yield Warehouse(path=str(home / "warehouse.duckdb"))
    else:
        with postgres_database() as url:
            yield Warehouse(url=url)


def test_replacing_a_week_keeps_the_others_and_refuses_an_empty_frame(warehouse):
    warehouse.replace_week("t", WEEK, pd.DataFrame({"a": [1, 2], "b": ["x", None]}))
    warehouse.replace_week("t", NEXT, pd.DataFrame({"a": [3], "b": ["y"]}))
    warehouse.replace_week("t", WEEK, pd.DataFrame({"b": ["z", "w"], "a": [9, 8]}))  # columns matched by name
    assert warehouse.read_week("t", WEEK).to_dict("records") == [{"a": 9, "b": "z"}, {"a": 8, "b": "w"}]
    assert warehouse.weeks("t") == [WEEK, NEXT]
    assert warehouse.rows_per_week("t").tolist() == [2, 1]
    with pytest.raises(WarehouseError, match="refusing to store an empty week 2019-07-08"):
        warehouse.replace_week("t", WEEK, pd.DataFrame({"a": [], "b": []}))
    assert len(warehouse.read_week("t", WEEK)) == 2
    with pytest.raises(WarehouseError, match="has no rows for week 2019-07-22"):
        warehouse.read_week("t", NEXT + dt.timedelta(days=7))
    with pytest.raises(WarehouseError, match="nyc_rental.missing does not exist"):
        warehouse.read_week("missing", WEEK)
    assert warehouse.read_all("missing").empty and warehouse.weeks("missing") == []


def test_an_upgrade_that_adds_drops_or_widens_columns_keeps_every_stored_week(warehouse):
    """Weeks that cannot be recomputed as they were (model versions, champion decisions) survive an upgrade."""
    warehouse.replace_week("m", WEEK, pd.DataFrame({"version": [1], "mae": [30], "note": ["first"]}))
    # The new code adds a column, stops writing another, and its MAE is no longer a whole number.
    warehouse.replace_week("m", NEXT, pd.DataFrame({"version": [2], "mae": [29.5], "r2": [0.61]}))
    history = warehouse.read_all("m").sort_values("week")
    assert history["version"].tolist() == [1, 2]
    assert history["mae"].tolist() == [30.0, 29.5]
    assert history["note"].tolist()[0] == "first" and pd.isna(history["note"].tolist()[1])
    assert pd.isna(history["r2"].tolist()[0]) and history["r2"].tolist()[1] == 0.61
    # Whole numbers into the widened column are cast, not refused.
    warehouse.replace_week("m", NEXT, pd.DataFrame({"version": [3], "mae": [29], "r2": [0.6]}))
    assert warehouse.read_week("m", NEXT)["mae"].tolist() == [29.0]
    # Text where numbers are stored cannot be cast: refused, naming the column, and nothing changes.
    with pytest.raises(WarehouseError, match=r"nyc_rental\.m\.mae holds floating values, the new rows hold text"):
        warehouse.replace_week("m", NEXT, pd.DataFrame({"version": [4], "mae": ["n/a"]}))
    assert warehouse.read_week("m", NEXT)["version"].tolist() == [3]
    assert warehouse.weeks("m") == [WEEK, NEXT]


def test_both_backends_read_back_the_frame_that_was_written(home):
    """Assets read the same frame from either backend: types, nulls, empty strings and row order."""
    frame = pd.DataFrame(
        {
            "id": [3, 1, 2],
            "count": pd.array([1, None, 3], dtype="Int64"),
            "price": [1 / 3, np.nan, 1e-300],
            "name": ['b, "quoted"\nline', None, ""],
            "flag": [True, False, True],
            "day": [dt.date(2019, 1, 1), None, dt.date(2019, 7, 8)],
            "at": pd.to_datetime(["2026-11-26 21:55:52.477559", None, "2019-07-08 00:00:00.000001"]).tz_localize("UTC"),
        }
    )
    duck = Warehouse(path=str(home / "warehouse.duckdb"))
    duck.replace_week("t", WEEK, frame)
    with postgres_database() as url:
        postgres = Warehouse(url=url)
        postgres.replace_week("t", WEEK, frame)
        from_postgres = postgres.read_week("t", WEEK)
        all_postgres = postgres.read_all("t")
    from_duckdb = duck.read_week("t", WEEK)
    assert from_postgres["name"].tolist() == ['b, "quoted"\nline', None, ""]
    assert from_postgres["price"].tolist()[0] == 1 / 3 and from_postgres["price"].tolist()[2] == 1e-300
    pd.testing.assert_frame_equal(from_postgres, from_duckdb, check_dtype=False)
    assert dict(from_postgres.dtypes.astype(str)) == {
        name: str(dtype).replace("Etc/UTC", "UTC") for name, dtype in from_duckdb.dtypes.items()
    }
    pd.testing.assert_frame_equal(all_postgres.drop(columns="week"), from_duckdb, check_dtype=False)
    assert all_postgres["week"].dt.date.tolist() == [WEEK] * 3


def test_postgres_writers_of_different_weeks_run_at_the_same_time():
    """No pool is needed on Postgres: while one week's transaction is open, another week is written."""
    import psycopg

    with postgres_database() as url:
        warehouse = Warehouse(url=url)
        warehouse.replace_week("t", WEEK, pd.DataFrame({"a": [1]}))
        with psycopg.connect(url) as blocker:  # a writer of WEEK, mid-transaction
            blocker.execute("DELETE FROM nyc_rental.t WHERE week = %s", [WEEK])
            writer = threading.Thread(
                target=warehouse.replace_week, args=("t", NEXT, pd.DataFrame({"a": [2]})), daemon=True
            )
            started = time.monotonic()
            writer.start()
            writer.join(timeout=20)
            assert not writer.is_alive() and time.monotonic() - started < 20
            blocker.rollback()
        assert warehouse.rows_per_week("t").tolist() == [1, 1]


def test_the_champion_lock_lets_one_holder_in_at_a_time(warehouse):
    """Runs of other weeks (other processes or machines) decide the champion one at a time."""
    entered = threading.Event()

    def second_holder():
        with warehouse.exclusively("champion"):
            entered.set()

    with warehouse.exclusively("champion"):
        threading.Thread(target=second_holder, daemon=True).start()
        assert not entered.wait(1.0)  # blocked while the first holds it
    assert entered.wait(20)


def test_an_unreachable_or_refusing_server_is_named_without_its_password():
    with postgres_database() as url:
        not_the_one = "s3cret-Passw0rd"
        wrong_user = url.replace("postgresql://postgres@", f"postgresql://nobody_here:{not_the_one}@")
        with pytest.raises(WarehouseError) as refused:
            Warehouse(url=wrong_user).replace_week("t", WEEK, pd.DataFrame({"a": [1]}))
        message = str(refused.value)
        assert "cannot connect to the warehouse postgresql://nobody_here@127.0.0.1:5432/" in message
        assert "nobody_here" in message and not_the_one not in message and "NYC_RENTAL_WAREHOUSE_URL" in message
        assert not_the_one not in repr(refused.value.__cause__) and refused.value.__suppress_context__

    closed = f"postgresql://postgres:{not_the_one}@127.0.0.1:9/nyc_rental"
    with pytest.raises(WarehouseError, match=r"cannot connect to the warehouse postgresql://postgres@127\.0\.0\.1:9/"):
        Warehouse(url=closed).weeks("t")
    malformed = f"postgresql://postgres:{not_the_one}@127.0.0.1:5432/db?sslmode=nonsense"
    with pytest.raises(WarehouseError) as bad:
        Warehouse(url=malformed).weeks("t")
    assert not_the_one not in str(bad.value)


def test_a_duckdb_file_held_by_another_process_fails_naming_the_file_and_the_holder(home):
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


@contextmanager
def platform_reader(path: Path) -> Iterator[tuple[int, Callable[[], float]]]:
    """Another process of the platform (a run's step) holding a read connection to `path` through the warehouse;
    yields its PID and a function that makes it close the connection and returns the moment it did."""
    code = (
        "import sys, time\n"
        "from nyc_rental.storage.warehouse import Warehouse\n"
        f"with Warehouse(path={str(path)!r}).connect(read_only=True) as con:\n"
        "    con.execute('SELECT count(*) FROM nyc_rental.t').fetchall()\n"
        "    print('open', flush=True)\n"
        "    sys.stdin.readline()\n"
        "print(time.monotonic(), flush=True)\n"
    )
    reader = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def close() -> float:
        reader.stdin.write("close\n")
        reader.stdin.flush()
        return float(reader.stdout.readline())

    try:
        assert reader.stdout.readline().strip() == "open"
        yield reader.pid, close
    finally:
        reader.kill()
        reader.wait()


def test_a_writer_goes_on_as_soon_as_another_process_of_the_platform_stops_reading(home):
    """Steps of runs side by side take turns on the file: a writer waits for a reader of another process (and
    other readers do not), and goes on within moments of its close, not after a retry's backoff."""
    path = home / "warehouse.duckdb"
    Warehouse(path=str(path)).replace_week("t", WEEK, pd.DataFrame({"a": [1]}))
    with platform_reader(path) as (pid, close):
        assert Warehouse(path=str(path)).read_week("t", WEEK).a.tolist() == [1]  # readers share the file
        written = []
        writer = threading.Thread(
            target=lambda: (
                Warehouse(path=str(path)).replace_week("t", NEXT, pd.DataFrame({"a": [2]})),
                written.append(time.monotonic()),
            ),
            daemon=True,
        )
        writer.start()
        time.sleep(3.5)  # long enough for a retry's backoff to grow past a second
        assert not written  # the writer waits for the reader
        closed = close()
        writer.join(timeout=30)
    assert written and written[0] - closed < 1.0, f"the writer went on {written[0] - closed:.2f} s after the close"
    assert Warehouse(path=str(path)).rows_per_week("t").tolist() == [1, 1]


def test_a_turn_that_does_not_come_names_the_process_of_the_platform_holding_the_file(home):
    path = home / "warehouse.duckdb"
    Warehouse(path=str(path)).replace_week("t", WEEK, pd.DataFrame({"a": [1]}))
    with platform_reader(path) as (pid, _):
        with pytest.raises(WarehouseError) as error:
            Warehouse(path=str(path), lock_timeout_seconds=0.5).replace_week("t", NEXT, pd.DataFrame({"a": [2]}))
    message = str(error.value)
    assert str(path) in message and f"PID {pid} (a process of the platform)" in message
    assert "look at that process's run" in message and "DuckDB session" not in message
    assert Warehouse(path=str(path)).weeks("t") == [WEEK]  # nothing written
