"""Reading weekly deliveries: Inside Airbnb summary CSVs, exactly as delivered.

A delivery is read into text columns so that nothing is lost before parsing: cleaning decides what a
value means, and the raw table keeps what the file said. Every error names the file and, where there is
one, the line.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

REQUIRED_COLUMNS = (
    "id",
    "name",
    "host_id",
    "host_name",
    "neighbourhood_group",
    "neighbourhood",
    "latitude",
    "longitude",
    "room_type",
    "price",
    "minimum_nights",
    "number_of_reviews",
    "last_review",
    "reviews_per_month",
    "calculated_host_listings_count",
    "availability_365",
)
PROVENANCE_COLUMNS = ("source_file", "source_sha256", "source_line", "parse_error")
RAW_COLUMNS = REQUIRED_COLUMNS + PROVENANCE_COLUMNS

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_IGNORED_SUFFIXES = (".tmp", ".part", "~")
_GZIP_MAGIC = b"\x1f\x8b"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # little-, big-endian
_UTF32_LE_BOM = b"\xff\xfe\x00\x00"  # begins like UTF-16 LE's; left refused as binary
_OTHER_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


class DeliveryError(ValueError):
    """A delivery that cannot be used as it is; the message names the file and what to do."""


@dataclass(frozen=True)
class Delivery:
    """One file in the landing folder, with the week it belongs to and its content hash."""

    path: Path
    delivered_on: dt.date
    sha256: str

    @property
    def week(self) -> dt.date:
        return week_start(self.delivered_on)


@dataclass
class DeliveryRead:
    """A delivery's rows as text, with what was noticed while reading it."""

    frame: pd.DataFrame
    extra_columns: list[str] = field(default_factory=list)
    latin1_lines: int = 0
    malformed_rows: int = 0


def week_start(day: dt.date) -> dt.date:
    """The Monday of the week that contains `day`."""
    return day - dt.timedelta(days=day.weekday())


def is_candidate_name(name: str) -> bool:
    """Hidden and temporary files are never deliveries (a copy in progress is one of them)."""
    return not name.startswith(".") and not name.endswith(_IGNORED_SUFFIXES)


def delivery_date(path: Path) -> dt.date:
    """The first ISO date in the file name, else the day (UTC) the file was last modified."""
    match = _ISO_DATE.search(path.name)
    if match is None:
        mtime = path.stat().st_mtime
        return dt.datetime.fromtimestamp(mtime, tz=dt.UTC).date()
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise DeliveryError(
            f"{path.name}: '{match.group(0)}' in the file name is not a real date; "
            "rename the file with the delivery's date (YYYY-MM-DD) or without a date"
        ) from None


def refuse_outside_link(path: Path, folder: Path) -> None:
    """A symlink may point anywhere; only files inside the landing folder are read."""
    target = path.resolve()
    if path.is_symlink() and not target.is_relative_to(folder.resolve()):
        raise DeliveryError(f"{path.name}: refused, it is a symlink to {target}, outside {folder}")
    if not target.is_file():
        raise DeliveryError(f"{path.name}: not a regular file")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inspect_delivery(path: Path, folder: Path) -> Delivery:
    """Identify a file of the landing folder: its week and its content hash."""
    refuse_outside_link(path, folder)
    return Delivery(path=path, delivered_on=delivery_date(path), sha256=sha256_of(path))


def candidate_files(folder: Path) -> list[Path]:
    """Files of the landing folder that may be deliveries, in name order."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if is_candidate_name(p.name) and not p.is_dir())


def deliveries_of_week(folder: Path, week: dt.date) -> tuple[list[Delivery], list[str]]:
    """The week's deliveries, oldest first, and a line for every file that could not be identified."""
    found, problems = [], []
    for path in candidate_files(folder):
        try:
            delivery = inspect_delivery(path, folder)
        except (DeliveryError, OSError) as error:
            problems.append(str(error))
            continue
        if delivery.week == week:
            found.append(delivery)
    found.sort(key=lambda d: (d.delivered_on, d.path.stat().st_mtime_ns, d.path.name))
    return found, problems


def _decompressed(path: Path, data: bytes) -> bytes:
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise DeliveryError(f"{path.name}: gzip content that cannot be decompressed ({error})") from None


def _decoded(path: Path, data: bytes) -> tuple[str, int]:
    """UTF-8 (a BOM is dropped); lines that are not UTF-8 are read as Latin-1, and counted.

    A file that starts with a UTF-16 byte-order mark is UTF-16, as spreadsheets' "Unicode" CSV exports write.
    """
    if data.startswith(_UTF16_BOMS) and not data.startswith(_UTF32_LE_BOM):
        return _decoded_utf16(path, data), 0
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DeliveryError(
            f"{path.name}: binary content (a NUL byte at offset {nul}); a delivery is a UTF-8 CSV text file"
        )
    try:
        return data.decode("utf-8-sig"), 0
    except UnicodeDecodeError:
        pass
    lines, latin1 = [], 0
    for line in data.removeprefix(b"\xef\xbb\xbf").split(b"\n"):
        try:
            lines.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            lines.append(line.decode("latin-1"))
            latin1 += 1
    return "\n".join(lines), latin1


def _decoded_utf16(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-16")  # the BOM says which byte order, and is dropped
    except UnicodeDecodeError as error:
        raise DeliveryError(
            f"{path.name}: starts with a UTF-16 byte-order mark but is not valid UTF-16 "
            f"({error.reason} at byte offset {error.start})"
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        offset = len(data) - len(text[nul:].encode("utf-16-le"))
        raise DeliveryError(
            f"{path.name}: binary content (a NUL character at byte offset {offset} of UTF-16 text); "
            "a delivery is a CSV text file"
        )
    return text


def _checked_header(path: Path, header: list[str] | None) -> list[str]:
    if not header or not any(name.strip() for name in header):
        raise DeliveryError(f"{path.name}: the file is empty; expected a header and listings")
    names = [name.strip() for name in header]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        if len(names) == 1:
            for delimiter, word in _OTHER_DELIMITERS.items():
                if delimiter in names[0]:
                    raise DeliveryError(
                        f"{path.name}: the header is one {word}-delimited column; "
                        "deliveries must be comma-delimited CSV"
                    )
        raise DeliveryError(
            f"{path.name}: required column(s) {', '.join(missing)} missing from the header "
            f"(found: {', '.join(names) or 'nothing'})"
        )
    duplicated = sorted({name for name in names if names.count(name) > 1 and name in REQUIRED_COLUMNS})
    if duplicated:
        raise DeliveryError(f"{path.name}: column(s) {', '.join(duplicated)} appear more than once in the header")
    return names


def read_header(path: Path) -> list[str]:
    """The delivery's column names, checked: the sensor calls this before it asks for a run."""
    data = _decompressed(path, path.read_bytes())
    text, _ = _decoded(path, data)
    return _checked_header(path, next(csv.reader(io.StringIO(text)), None))


def read_delivery(path: Path, sha256: str | None = None) -> DeliveryRead:
    """Every row of a delivery as text, with provenance columns.

    Values stay as written ('' for an empty field); a row with the wrong number of fields is kept, its
    missing fields None and its `parse_error` saying what was wrong, so cleaning can drop and count it.
    """
    data = path.read_bytes()
    sha256 = sha256 or hashlib.sha256(data).hexdigest()
    text, latin1_lines = _decoded(path, _decompressed(path, data))
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = _checked_header(path, next(reader, None))
        positions = [header.index(name) for name in REQUIRED_COLUMNS]
        width = len(header)
        columns: list[list[str | None]] = [[] for _ in REQUIRED_COLUMNS]
        lines, errors = [], []
        line_before = reader.line_num
        for row in reader:
            start_line, line_before = line_before + 1, reader.line_num
            if not row:
                continue
            lines.append(start_line)
            if len(row) == width:
                errors.append(None)
            else:
                errors.append(f"{len(row)} fields where the header has {width}")
            for values, position in zip(columns, positions):
                values.append(row[position] if position < len(row) else None)
    except csv.Error as error:
        raise DeliveryError(f"{path.name}: line {reader.line_num} is not valid CSV ({error})") from None
    if not lines:
        raise DeliveryError(f"{path.name}: the file has a header but no listings")
    frame = pd.DataFrame(dict(zip(REQUIRED_COLUMNS, columns)), dtype=object)
    frame["source_file"] = path.name
    frame["source_sha256"] = sha256
    frame["source_line"] = pd.array(lines, dtype="int64")
    frame["parse_error"] = pd.Series(errors, dtype=object)
    extra = [name for name in header if name not in REQUIRED_COLUMNS]
    return DeliveryRead(
        frame=frame,
        extra_columns=extra,
        latin1_lines=latin1_lines,
        malformed_rows=sum(error is not None for error in errors),
    )
