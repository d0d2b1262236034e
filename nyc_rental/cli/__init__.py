"""The programs a user runs, as the console script `nyc-rental COMMAND` (or `python -m nyc_rental.cli.COMMAND`):

    nyc-rental demo      synthetic deliveries into the landing folder, their weeks run headless
    nyc-rental report    every week in the warehouse, side by side
    nyc-rental predict   price a CSV of listings with the champion model
    nyc-rental promote   make a registered model version the champion, by hand
    nyc-rental migrate   create the production stores' databases, bring their schemas up to date

Each command's module is imported when it runs, so `nyc-rental --help` loads none of them.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "demo": "synthetic deliveries into the landing folder, their weeks run headless",
    "report": "every week in the warehouse, side by side",
    "predict": "price a CSV of listings with the champion model",
    "promote": "make a registered model version the champion, by hand",
    "migrate": "create the production stores' databases, bring their schemas up to date",
}


def usage() -> str:
    lines = ["usage: nyc-rental COMMAND [ARGS]  (nyc-rental COMMAND --help for its options)", "", "commands:"]
    return "\n".join(lines + [f"  {name:<8} {what}" for name, what in COMMANDS.items()])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"nyc-rental: unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    return importlib.import_module(f"nyc_rental.cli.{command}").main(rest, prog=f"nyc-rental {command}")
