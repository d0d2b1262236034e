import os
import threading
import time

import pytest

from nyc_rental.core.delivery import REQUIRED_COLUMNS
from nyc_rental.core.landing import MAX_SETTLE_WAIT_SECONDS, LandingState, scan_landing, wait_for_settling

CONTENT = ",".join(REQUIRED_COLUMNS) + "\n1,Room,1,Ann,Queens,Astoria,40.7,-73.9,Private room,50,1,0,,,1,0\n"


@pytest.fixture
def folder(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    return landing


def known(week_key: str) -> bool:
    return "2019-01-07" <= week_key <= "2026-12-31"


def look(folder, state: LandingState):
    """One look at the folder, through a JSON round trip as the sensor's cursor does."""
    scan = scan_landing(folder, LandingState.from_json(state.to_json()), known)
    return scan, scan.state


def settle(folder, state: LandingState | None = None):
    """Two looks: the first sees files, the second finds them stable."""
    _, state = look(folder, state or LandingState())
    return look(folder, state)


def test_a_new_file_is_requested_once_it_is_stable(folder):
    (folder / "listings_2019-07-10.csv").write_text(CONTENT)
    first, state = look(folder, LandingState())
    assert first.deliveries == []
    second, state = look(folder, state)
    assert [d.week_key for d in second.deliveries] == ["2019-07-08"]
    assert second.deliveries[0].run_key.startswith("2019-07-08:")
    third, _ = look(folder, state)
    assert third.deliveries == []


def test_a_growing_file_waits_until_it_stops_growing(folder):
    path = folder / "listings_2019-07-10.csv"
    path.write_text(CONTENT[:50])
    _, state = look(folder, LandingState())
    with path.open("a") as handle:
        handle.write(CONTENT[50:])
    scan, state = look(folder, state)
    assert scan.deliveries == []
    scan, _ = look(folder, state)
    assert len(scan.deliveries) == 1


def test_a_file_nothing_wrote_to_for_the_settle_time_is_requested_at_the_first_look(folder):
    old = folder / "listings_2019-07-10.csv"
    old.write_text(CONTENT)
    os.utime(old, (old.stat().st_mtime - 6,) * 2)  # last written 6 s ago: a backlog found at start-up
    (folder / "listings_2019-07-17.csv").write_text(CONTENT)  # written just now: maybe still being copied
    first = scan_landing(folder, LandingState(), known, settle_seconds=5)
    assert [d.week_key for d in first.deliveries] == ["2019-07-08"]
    second = scan_landing(folder, first.state, known, settle_seconds=5)
    assert [d.week_key for d in second.deliveries] == ["2019-07-15"]  # unchanged since the first look


def test_the_same_bytes_again_are_not_requested_changed_bytes_are(folder):
    path = folder / "listings_2019-07-10.csv"
    path.write_text(CONTENT)
    scan, state = settle(folder)
    first_key = scan.deliveries[0].run_key
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)  # touched, same bytes
    scan, state = settle(folder, state)
    assert scan.deliveries == []
    path.write_text(CONTENT.replace(",50,", ",55,"))
    scan, _ = settle(folder, state)
    assert len(scan.deliveries) == 1 and scan.deliveries[0].run_key != first_key


def test_unusable_files_are_reported_once_and_do_not_hide_the_others(folder):
    (folder / "listings_2019-02-30.csv").write_text(CONTENT)
    (folder / "listings_2019-07-03.csv").write_text("id;name\n1;x\n")
    (folder / "listings_2018-07-03.csv").write_text(CONTENT)
    (folder / "listings_2019-07-10.csv").write_text(CONTENT)
    (folder / "listings_2019-07-17.csv.part").write_text(CONTENT)
    (folder / ".listings_2019-07-24.csv").write_text(CONTENT)
    scan, state = settle(folder)
    assert [d.delivery.path.name for d in scan.deliveries] == ["listings_2019-07-10.csv"]
    assert len(scan.problems) == 3
    assert any("2019-02-30" in p and "not a real date" in p for p in scan.problems)
    assert any("listings_2019-07-03.csv" in p and "semicolon-delimited" in p for p in scan.problems)
    assert any("2018-07-02 is outside the partitions" in p for p in scan.problems)
    again, _ = look(folder, state)
    assert again.problems == [] and again.deliveries == []


def test_an_empty_file_waits_for_content_then_runs_once(folder):
    path = folder / "listings_2019-07-10.csv"
    path.write_bytes(b"")
    scan, state = settle(folder)
    assert scan.deliveries == [] and "empty so far" in scan.problems[0]
    path.write_text(CONTENT)
    scan, state = settle(folder, state)
    assert len(scan.deliveries) == 1
    scan, _ = settle(folder, state)
    assert scan.deliveries == []


def test_a_file_without_a_date_runs_in_the_week_of_its_modification_time(folder):
    path = folder / "listings.csv"
    path.write_text(CONTENT)
    os.utime(path, (1_563_192_000, 1_563_192_000))  # 2019-07-15 12:00 UTC
    scan, _ = settle(folder)
    assert [d.week_key for d in scan.deliveries] == ["2019-07-15"]


def test_scanning_never_changes_the_folder(folder):
    (folder / "listings_2019-07-10.csv").write_text(CONTENT)
    (folder / "bad_2019-02-30.csv").write_text("junk")
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    settle(folder)
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()} == before


def test_a_look_waits_for_a_file_written_moments_before_and_then_takes_it(folder):
    """Deliveries copied in as `dagster dev` starts run at the sensor's first look, not one interval later."""
    (folder / "listings_2019-07-10.csv").write_text(CONTENT)
    waited = wait_for_settling(folder, LandingState(), settle_seconds=1)
    assert 0.5 < waited <= 1.1
    scan = scan_landing(folder, LandingState(), known, settle_seconds=1)
    assert [d.week_key for d in scan.deliveries] == ["2019-07-08"]
    assert wait_for_settling(folder, scan.state, settle_seconds=1) == 0  # decided: nothing to wait for


def test_a_look_does_not_wait_for_old_files_or_longer_than_its_bound(folder):
    old = folder / "listings_2019-07-10.csv"
    old.write_text(CONTENT)
    os.utime(old, (old.stat().st_mtime - 6,) * 2)
    assert wait_for_settling(folder, LandingState(), settle_seconds=5) == 0
    (folder / "listings_2019-07-17.csv").write_text(CONTENT)
    assert wait_for_settling(folder, LandingState(), settle_seconds=MAX_SETTLE_WAIT_SECONDS + 5) == 0


def test_a_file_written_to_while_the_look_waits_is_not_taken(folder):
    path = folder / "listings_2019-07-10.csv"
    path.write_text(CONTENT[:50])

    def copy_the_rest():
        time.sleep(0.5)
        with path.open("a") as handle:
            handle.write(CONTENT[50:])

    writer = threading.Thread(target=copy_the_rest)
    writer.start()
    wait_for_settling(folder, LandingState(), settle_seconds=1)
    writer.join()
    assert scan_landing(folder, LandingState(), known, settle_seconds=1).deliveries == []
