"""What `make prod` does before supervisord starts the services (deploy/supervisord.conf):

- refuses when this profile's supervisord already runs (its socket answers): a second one would start a second
  daemon on the same instance;
- stops (SIGKILL) what a supervisord that was killed outright (`kill -9`, its terminal closed) left running: every
  process it started carries NYC_RENTAL_PROD_SERVICE=<this profile's folder> in its environment;
- writes the instance's dagster.yaml into DAGSTER_HOME and the webserver's and daemon's workspace.yaml;
- `nyc-rental migrate`: creates the databases the URLs name when they do not exist, and brings MLflow's and
  Dagster's schemas to the installed versions.

Everything secret comes from the environment (see docs/production.md); nothing is printed with its password.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

from nyc_rental.cli import migrate

DEPLOY = Path(__file__).resolve().parent
REQUIRED = (*migrate.STORES, "NYC_RENTAL_CELERY_BROKER")
MARKER = "NYC_RENTAL_PROD_SERVICE"  # set by deploy/supervisord.conf for every service


def supervisord_answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(sock))
            return True
        except OSError:  # a socket file left by a supervisord that was killed
            return False


def services_left(state: Path) -> list[int]:
    """Processes of this machine started by a supervisord of `state` (they carry its marker), but this one."""
    marker = f"{MARKER}={state}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:  # gone meanwhile, or another user's
            continue
    return found


def stop_services_left(state: Path, timeout: float = 20.0) -> None:
    """SIGKILL what a killed supervisord of `state` left, as a power cut would: a step stopped that way is not
    recorded as failed, so run monitoring fails its run and run retries run the week again from that step
    (a SIGTERM would make the step fail, which is not retried)."""
    left = services_left(state)
    if not left:
        return
    print(f"stopping {len(left)} processes left by a supervisord of {state} that was killed", flush=True)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while (left := services_left(state)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        sys.exit(f"processes {left} of a previous make prod did not stop")


def main() -> int:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        sys.exit(f"set {', '.join(missing)} (docs/production.md)")
    state = Path(os.environ["NYC_RENTAL_PROD_HOME"]).resolve()
    if supervisord_answers(state / "supervisor.sock"):
        sys.exit(
            f"make prod already runs for {state}: `make prod-status` shows its services, `make prod-stop` stops "
            "them. A second one would start a second daemon on the same instance."
        )
    stop_services_left(state)

    dagster_home = Path(os.environ["DAGSTER_HOME"])
    for folder in (dagster_home, state / "logs", Path(os.environ["NYC_RENTAL_HOME"]) / "incoming"):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEPLOY / "dagster.yaml", dagster_home / "dagster.yaml")
    (state / "workspace.yaml").write_text(
        (DEPLOY / "workspace.yaml")
        .read_text()
        .replace("host: 127.0.0.1", f"host: {os.environ['NYC_RENTAL_PROD_HOST']}")
        .replace("port: 4000", f"port: {os.environ['CODE_SERVER_PORT']}")
    )

    return migrate.main([], prog="make prod")


if __name__ == "__main__":
    sys.exit(main())
