"""`nyc-rental demo`: synthetic deliveries into the landing folder, their weeks run headless.

The weeks run as a delivery's do: the demo asks the delivery sensor (`incoming_listings_sensor`) what to run,
then runs its requests in this process, with the tags the sensor's daemon gives its runs (the file, its
SHA-256, the run key and the sensor's name) plus `nyc_rental/launched_by=demo`. The daemon of `make dev`
then knows these deliveries as run: its sensor does not run them again.

The demo also writes a synthetic portfolio of the company's own properties ($NYC_RENTAL_HOME/portfolio.csv, about
200 of them, a fifth priced well off the market) when there is none, so each week's portfolio_prices has
properties to flag.

The runs go to the Dagster instance of DAGSTER_HOME when it is set (`make demo` uses `.dagster/`, the
same instance `make dev` shows), else to a throwaway one.
"""

import argparse
import datetime as dt
import os
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance, Definitions, RunRequest, build_sensor_context

from nyc_rental import settings
from nyc_rental.core.delivery import week_start
from nyc_rental.core.portfolio import FLAGS
from nyc_rental.core.quality import QualityThresholds
from nyc_rental.definitions import QUIET, build_defs
from nyc_rental.defs.sensors import incoming_listings_sensor
from nyc_rental.synthetic import (
    delivery_file_name,
    generate_portfolio,
    generate_weeks,
    rows_before_partial_export,
    without_most_of_manhattan,
    write_delivery,
)


@dataclass
class WeekSummary:
    week: str
    success: bool
    delivered: int | None
    cleaned: int | None
    validated: int | None
    checks_passed: int
    checks: int
    failed_checks: list[str]
    model_version: str | None
    test_mae: float | None
    promoted: bool | None
    flags: dict[str, int] | None = None

    def line(self) -> str:
        def count(n):
            return "-" if n is None else f"{n:,}"

        failed = f"  failed: {', '.join(self.failed_checks)}" if self.failed_checks else ""
        model = "  no model"
        if self.test_mae is not None:
            verdict = "became champion" if self.promoted else "not promoted"
            model = f"  model v{self.model_version}: test MAE {self.test_mae:.2f}, {verdict}"
        if self.flags:
            model += "  portfolio: " + ", ".join(f"{count} {name}" for name, count in self.flags.items())
        return (
            f"{self.week}  {'ok    ' if self.success else 'FAILED'}  delivered {count(self.delivered):>7}  "
            f"cleaned {count(self.cleaned):>7}  validated {count(self.validated):>7}  "
            f"checks passed {self.checks_passed}/{self.checks}{failed}{model}"
        )


def summarize(week: str, result) -> WeekSummary:
    """What a user wants to see of a week's run."""
    metadata = {
        event.asset_key.to_user_string(): event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }

    def rows(asset: str, key: str):
        value = metadata.get(asset, {}).get(key)
        return None if value is None else value.value

    evaluations = result.get_asset_check_evaluations()
    return WeekSummary(
        week=week,
        success=result.success,
        delivered=rows("raw_listings", "rows"),
        cleaned=rows("clean_listings", "rows_out"),
        validated=rows("validated_listings", "rows"),
        checks_passed=sum(e.passed for e in evaluations),
        checks=len(evaluations),
        failed_checks=sorted(e.check_name for e in evaluations if not e.passed),
        model_version=rows("test_metrics", "model_version"),
        test_mae=rows("test_metrics", "test_mae"),
        promoted=rows("test_metrics", "promoted"),
        flags=None
        if rows("portfolio_prices", "properties") is None
        else {name: rows("portfolio_prices", name) for name in FLAGS},
    )


DEMO_START = dt.date(2019, 7, 1)
# The tags Dagster's sensor daemon adds to a run it launches (dagster._core.storage.tags): a run carrying the
# sensor's name and a run key is one the daemon will not launch again for that key.
SENSOR_NAME_TAG = "dagster/sensor_name"
RUN_KEY_TAG = "dagster/run_key"


def sensor_requests(defs: Definitions, instance: DagsterInstance, paths: list[Path]) -> list[RunRequest]:
    """The delivery sensor's run requests for `paths`, as its daemon would get them from a fresh cursor: its
    first look waits a few seconds for the files the demo has just written to settle and takes them; a second
    look takes any that only settle by two looks (a clock that dates them in the future)."""
    sensor = incoming_listings_sensor
    cursor, requests = None, []
    for _ in range(2):
        context = build_sensor_context(
            instance=instance, cursor=cursor, resources={"landing": defs.resources["landing"]}
        )
        result = sensor(context)
        cursor = result.cursor
        requests += result.run_requests
    names = {path.name for path in paths}
    return [request for request in requests if request.tags["nyc_rental/delivery"] in names]


def run_tags(request: RunRequest) -> dict[str, str]:
    return {
        **request.tags,
        RUN_KEY_TAG: request.run_key,
        SENSOR_NAME_TAG: incoming_listings_sensor.name,
        "nyc_rental/launched_by": "demo",
    }


def write_demo_deliveries(
    incoming: Path, weeks: int, rows: int, first_week: dt.date, seed: int, drift: bool = False
) -> list[Path]:
    """Deliveries for the demo weeks; an existing file is never overwritten (deliveries are never modified)."""
    paths = []
    drawn = rows_before_partial_export(rows) if drift else rows
    # The demo's weeks are one market evolving from DEMO_START: a later week continues it, not restarts it.
    start = min(first_week, DEMO_START)
    skipped = (first_week - start).days // 7
    for delivered_on, frame in generate_weeks(skipped + weeks, drawn, first_week=start, seed=seed)[skipped:]:
        if drift:
            frame = without_most_of_manhattan(frame, seed)
        path = incoming / delivery_file_name(delivered_on)
        if path.exists():
            print(f"{path} exists: left as it is")
        else:
            write_delivery(frame, path)
            print(f"wrote {path} ({len(frame):,} listings{', most of Manhattan missing' if drift else ''})")
        paths.append(path)
    return paths


PORTFOLIO_ROWS = 200


def write_demo_portfolio(path: Path, seed: int) -> None:
    """The synthetic portfolio, unless the company's own is there (it is never overwritten)."""
    if path.exists():
        print(f"{path} exists: left as it is")
        return
    write_delivery(generate_portfolio(PORTFOLIO_ROWS, seed=seed), path)
    print(f"wrote {path} ({PORTFOLIO_ROWS} properties of the company, some priced well off the market)")


def main(argv: list[str] | None = None, prog: str = "nyc-rental demo") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=2, help="how many consecutive weeks (default 2)")
    parser.add_argument("--rows", type=int, default=20_000, help="listings per delivery (default 20000)")
    parser.add_argument("--first-week", type=dt.date.fromisoformat, default=DEMO_START, help="Monday of the first week")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--min-rows",
        type=int,
        help=f"the row_count data test's floor for these runs (default {QualityThresholds.min_rows}): smaller weeks",
    )
    parser.add_argument(
        "--deliver-only", action="store_true", help="only write the deliveries (for `make dev`'s sensor to run)"
    )
    parser.add_argument(
        "--drift", action="store_true", help="deliveries missing 90%% of Manhattan: the drift check stops them"
    )
    args = parser.parse_args(argv)
    if args.first_week != week_start(args.first_week):
        parser.error(f"--first-week {args.first_week} is not a Monday")
    if args.first_week < settings.first_week():
        parser.error(
            f"--first-week {args.first_week} is before the first partition, {settings.first_week()} "
            "(NYC_RENTAL_FIRST_WEEK sets it)"
        )

    home = settings.nyc_rental_home()
    incoming = settings.incoming_dir(home)
    paths = write_demo_deliveries(incoming, args.weeks, args.rows, args.first_week, args.seed, args.drift)
    write_demo_portfolio(settings.portfolio_file(home), args.seed)
    if args.deliver_only:
        return 0
    defs = build_defs(home)
    job = defs.resolve_job_def("weekly_pipeline")
    run_config = QUIET
    if args.min_rows is not None:
        run_config = {**QUIET, "resources": {"data_tests": {"config": {"min_rows": args.min_rows}}}}
    summaries = []
    with ExitStack() as stack:
        if os.environ.get("DAGSTER_HOME"):
            instance = stack.enter_context(DagsterInstance.get())
        else:
            instance = stack.enter_context(
                DagsterInstance.ephemeral(tempdir=stack.enter_context(tempfile.TemporaryDirectory()))
            )
        requests = sensor_requests(defs, instance, paths)
        unused = sorted({path.name for path in paths} - {request.tags["nyc_rental/delivery"] for request in requests})
        if unused:  # the sensor logged why (a file it cannot use)
            print(f"the delivery sensor requested no run for {', '.join(unused)}", file=sys.stderr)
        for request in requests:
            week = request.partition_key
            print(f"running week {week} ({request.tags['nyc_rental/delivery']}) ...", flush=True)
            result = job.execute_in_process(
                partition_key=week,
                instance=instance,
                run_config=run_config,
                tags=run_tags(request),
                raise_on_error=False,
            )
            summaries.append(summarize(week, result))
    print(f"\nweeks in {home}:")
    for summary in summaries:
        print("  " + summary.line())
    return 0 if all(s.success for s in summaries) else 1


if __name__ == "__main__":
    sys.exit(main())
