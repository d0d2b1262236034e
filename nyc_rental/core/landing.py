"""Watching the landing folder: which deliveries are new, stable and usable.

The state is plain JSON (the sensor's cursor), so it survives restarts. A file is considered once nothing has
written to it for a while: its last write is `settle_seconds` old, or its size and modification time did not
change between two looks (a clock that puts a network share's files in the future still settles this way). Its
content hash decides whether it is new, so the same bytes never run twice and a corrected file always runs again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nyc_rental.core.delivery import Delivery, DeliveryError, candidate_files, inspect_delivery, read_header

MAX_REMEMBERED_RUN_KEYS = 10_000
# The longest a look waits for files written moments ago to settle (a sensor's evaluation must end well within
# Dagster's 60 s); a file that needs longer is taken at a later look.
MAX_SETTLE_WAIT_SECONDS = 10.0


@dataclass
class LandingState:
    """What the watcher knows between two looks at the folder."""

    seen: dict[str, list[int]] = field(default_factory=dict)  # name -> [size, mtime_ns] at the last look
    handled: dict[str, list[int]] = field(default_factory=dict)  # name -> [size, mtime_ns] already decided
    reported: dict[str, str] = field(default_factory=dict)  # name -> last problem reported
    run_keys: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, text: str | None) -> LandingState:
        return cls(**json.loads(text)) if text else cls()

    def to_json(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)


@dataclass(frozen=True)
class NewDelivery:
    delivery: Delivery
    run_key: str

    @property
    def week_key(self) -> str:
        return self.delivery.week.isoformat()


@dataclass
class LandingScan:
    deliveries: list[NewDelivery] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # reported once per file state
    state: LandingState = field(default_factory=LandingState)


def run_key(delivery: Delivery) -> str:
    """Content, not name, identifies a delivery for its week."""
    return f"{delivery.week.isoformat()}:{delivery.sha256}"


def wait_for_settling(folder: Path, state: LandingState, settle_seconds: float | None) -> float:
    """Sleep until the files written less than `settle_seconds` ago (and not decided yet) are that old; the
    seconds slept. A look that follows takes each of them that nothing wrote to meanwhile, instead of one
    interval later: deliveries copied in as `dagster dev` starts run at its first look. Waits at most
    MAX_SETTLE_WAIT_SECONDS; nothing when no file is that young."""
    if not settle_seconds:
        return 0.0
    now = time.time()
    remaining = 0.0
    for path in candidate_files(folder):
        try:
            stat = path.stat()
        except OSError:
            continue
        signature = [stat.st_size, stat.st_mtime_ns]
        if stat.st_size == 0 or signature in (state.handled.get(path.name), state.seen.get(path.name)):
            continue  # empty, decided already, or unchanged since the last look (stable as it is)
        age = now - stat.st_mtime
        if age >= 0:  # a file dated in the future (another clock) settles by the two looks
            remaining = max(remaining, settle_seconds - age)
    if remaining <= 0 or remaining > MAX_SETTLE_WAIT_SECONDS:
        return 0.0
    remaining += 0.05  # past the settle time, not at it
    time.sleep(remaining)
    return remaining


def scan_landing(
    folder: Path, state: LandingState, is_known_week: Callable[[str], bool], settle_seconds: float | None = None
) -> LandingScan:
    """Deliveries that became stable since the last look and were never requested, and files unusable.

    Stable: unchanged since the last look or, with `settle_seconds`, last written at least that long ago (a
    backlog found at start-up runs at the first look, not one interval later)."""
    scan = LandingScan(state=LandingState(run_keys=list(state.run_keys)))
    new = scan.state
    now = time.time()
    for path in candidate_files(folder):
        name = path.name
        try:
            stat = path.stat()
        except OSError as error:
            _report(scan, state, name, f"{name}: cannot be read ({error.strerror})")
            continue
        signature = [stat.st_size, stat.st_mtime_ns]
        new.seen[name] = signature
        if state.handled.get(name) == signature:
            new.handled[name] = signature
            continue
        settled = settle_seconds is not None and now - stat.st_mtime >= settle_seconds
        if state.seen.get(name) != signature and not settled:
            continue  # new or still changing: look again next time
        if stat.st_size == 0:
            _report(scan, state, name, f"{name}: empty so far, waiting for content")
            continue
        new.handled[name] = signature
        try:
            delivery = inspect_delivery(path, folder)
            read_header(delivery.path)
        except (DeliveryError, OSError) as error:
            _report(scan, state, name, str(error))
            continue
        week_key = delivery.week.isoformat()
        if not is_known_week(week_key):
            _report(
                scan,
                state,
                name,
                f"{name}: week {week_key} is outside the partitions (the first week to the current one)",
            )
            continue
        key = run_key(delivery)
        if key in new.run_keys:
            continue
        new.run_keys.append(key)
        scan.deliveries.append(NewDelivery(delivery, key))
    del new.run_keys[:-MAX_REMEMBERED_RUN_KEYS]
    return scan


def _report(scan: LandingScan, previous: LandingState, name: str, problem: str) -> None:
    scan.state.reported[name] = problem
    if previous.reported.get(name) != problem:
        scan.problems.append(problem)
