"""Awkward but usable deliveries, as suppliers and spreadsheets write them, and what each must not lose.

Used in-process (`test_awkward_deliveries.py`, every case on small weeks) and through the real sensor of a
running `dagster dev` (`integration/test_bad_deliveries.py`, a few of them on full weeks).
"""

import csv
import datetime as dt
import gzip
import io

from nyc_rental.synthetic import generate_listings


def csv_text(day: str, seed: int, rows: int, edit=None) -> str:
    frame = generate_listings(rows, seed=seed, snapshot=dt.date.fromisoformat(day))
    if edit is not None:
        frame = edit(frame)
    return frame.to_csv(index=False, lineterminator="\n")


def with_accents(frame):
    frame = frame.copy()
    frame.loc[:99, "name"] = "Café près du parc"
    frame.loc[:99, "host_name"] = "José"
    return frame


def dollar_prices(text: str) -> str:
    """Every price written as `$1,200.00`, quoted as a spreadsheet exports it."""
    lines = text.splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    column = header.index("price")
    rows = list(csv.reader(io.StringIO("".join(lines[1:]))))
    for row in rows:
        row[column] = f"${float(row[column]):,.2f}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def header_repeated_in_the_middle(text: str) -> str:
    lines = text.splitlines(keepends=True)
    middle = len(lines) // 2
    return "".join(lines[:middle] + [lines[0]] + lines[middle:])


def last_line_cut(text: str) -> str:
    body = text.rstrip("\n")
    last = body.rsplit("\n", 1)[1]
    return body[: len(body) - len(last) // 2]  # no final newline, half a row


def spreadsheet_unicode(text: str) -> bytes:
    """As a spreadsheet's "Unicode" CSV export writes it: a UTF-16 LE byte-order mark, CRLF line ends."""
    return b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")


# name: (file name, week, the file's bytes for a delivery of `rows` listings)
AWKWARD = {
    "bom": (
        "listings_2019-09-03.csv",
        "2019-09-02",
        lambda rows: "\ufeff".encode() + csv_text("2019-09-03", 1, rows).encode(),
    ),
    "latin1": (
        "listings_2019-09-10.csv",
        "2019-09-09",
        lambda rows: csv_text("2019-09-10", 2, rows, with_accents).encode("latin-1", errors="replace"),
    ),
    "gzip": (
        "listings_2019-09-17.csv",
        "2019-09-16",
        lambda rows: gzip.compress(csv_text("2019-09-17", 3, rows).encode()),
    ),
    "dollars": (
        "listings_2019-09-24.csv",
        "2019-09-23",
        lambda rows: dollar_prices(csv_text("2019-09-24", 4, rows)).encode(),
    ),
    "header_twice": (
        "listings_2019-10-01.csv",
        "2019-09-30",
        lambda rows: header_repeated_in_the_middle(csv_text("2019-10-01", 5, rows)).encode(),
    ),
    "cut_last_line": (
        "listings_2019-10-08.csv",
        "2019-10-07",
        lambda rows: last_line_cut(csv_text("2019-10-08", 6, rows)).encode(),
    ),
    "utf16": (
        "listings_2019-10-29.csv",
        "2019-10-28",
        lambda rows: spreadsheet_unicode(csv_text("2019-10-29", 8, rows, with_accents)),
    ),
}


def assert_what_was_dropped(case: str, file_name: str, raw: dict, dropped: dict) -> None:
    """What each awkward case must report: `raw` is raw_listings' metadata, `dropped` clean_listings'
    `dropped_by_rule`."""
    if case == "latin1":
        assert raw["files"][file_name]["latin1_lines"] >= 100
    if case == "utf16":
        assert raw["files"][file_name]["latin1_lines"] == 0  # decoded as UTF-16, not line by line
    if case == "dollars":
        assert not any(rule.startswith("unparseable") for rule in dropped)
        assert dropped["price_out_of_range"] > 0  # parsed, then the 10..350 rule applied
    if case == "header_twice":
        assert dropped["repeated_header"] == 1
    if case == "cut_last_line":
        assert dropped["malformed_row"] == 1 and raw["malformed_rows"] == 1
