"""`nyc-rental promote VERSION`: make a registered model version the champion, by hand.

It runs job `promote_model` in this process against the instance of DAGSTER_HOME (`make promote` uses
`.dagster/`), so the promotion is in the UI's run history like one launched from the Launchpad.
"""

import argparse
import sys

from dagster import DagsterInstance

from nyc_rental import settings
from nyc_rental.definitions import QUIET, build_defs


def main(argv: list[str] | None = None, prog: str = "nyc-rental promote") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("version", help="a registered version of nyc_rental_price, e.g. 3")
    args = parser.parse_args(argv)
    job = build_defs(settings.nyc_rental_home()).resolve_job_def("promote_model")
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config={"ops": {"set_champion": {"config": {"version": args.version}}}, **QUIET},
            instance=instance,
            raise_on_error=False,
        )
    if not result.success:
        error = next(event for event in result.all_events if event.is_step_failure).step_failure_data.error
        print(f"promotion failed: {(error.cause or error).message.strip()}", file=sys.stderr)
        return 1
    print(f"nyc_rental_price version {args.version} is the champion (run {result.run_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
