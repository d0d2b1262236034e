import datetime as dt
import gzip
import os

import pytest

from nyc_rental.core.delivery import (
    REQUIRED_COLUMNS,
    DeliveryError,
    deliveries_of_week,
    delivery_date,
    inspect_delivery,
    is_candidate_name,
    read_delivery,
    read_header,
    week_start,
)

HEADER = ",".join(REQUIRED_COLUMNS)
ROW = "2539,Clean & quiet apt home by the park,2787,John,Brooklyn,Kensington,40.64749,-73.97237,Private room,149,1,9,2018-10-19,0.21,6,365"
ROW2 = "2595,Skylit Midtown Castle,2845,Jennifer,Manhattan,Midtown,40.75362,-73.98377,Entire home/apt,225,1,45,2019-05-21,0.38,2,355"


def write(folder, name, content: str | bytes):
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_week_of_a_delivery_is_the_monday_of_the_first_date_in_its_name(tmp_path):
    path = write(tmp_path, "listings_2019-07-10_v2_2019-08-01.csv", HEADER)
    assert delivery_date(path) == dt.date(2019, 7, 10)
    assert week_start(delivery_date(path)) == dt.date(2019, 7, 8)
    assert week_start(dt.date(2019, 7, 8)) == dt.date(2019, 7, 8)
    assert week_start(dt.date(2019, 7, 14)) == dt.date(2019, 7, 8)


def test_a_name_without_a_date_takes_the_week_of_its_modification_time(tmp_path):
    path = write(tmp_path, "listings.csv", HEADER)
    noon = dt.datetime(2019, 3, 14, 12, tzinfo=dt.UTC).timestamp()
    os.utime(path, (noon, noon))
    assert delivery_date(path) == dt.date(2019, 3, 14)


def test_a_date_in_the_name_that_is_not_a_real_date_is_an_error_naming_the_file(tmp_path):
    path = write(tmp_path, "listings_2019-02-30.csv", HEADER)
    with pytest.raises(DeliveryError, match=r"listings_2019-02-30.csv: '2019-02-30' .* not a real date"):
        delivery_date(path)


@pytest.mark.parametrize("name", [".hidden.csv", "listings.csv.tmp", "listings.csv.part", "listings.csv~"])
def test_hidden_and_temporary_files_are_not_deliveries(name):
    assert not is_candidate_name(name)
    assert is_candidate_name("listings_2019-07-10.csv")


def test_rows_are_kept_as_text_with_provenance(tmp_path):
    path = write(tmp_path, "d.csv", f"{HEADER}\n{ROW}\n{ROW2}\n")
    read = read_delivery(path)
    frame = read.frame
    assert list(frame.columns[:16]) == list(REQUIRED_COLUMNS)
    assert frame.loc[0, "price"] == "149" and frame.loc[1, "latitude"] == "40.75362"
    assert frame["source_file"].tolist() == ["d.csv", "d.csv"]
    assert frame["source_line"].tolist() == [2, 3]
    assert frame["parse_error"].isna().all()
    assert len(frame.loc[0, "source_sha256"]) == 64


def test_empty_fields_stay_empty_strings(tmp_path):
    row = "1,,2,,Queens,Astoria,40.7,-73.9,Private room,50,1,0,,,1,0"
    frame = read_delivery(write(tmp_path, "d.csv", f"{HEADER}\n{row}\n")).frame
    assert frame.loc[0, "name"] == "" and frame.loc[0, "last_review"] == ""


def test_columns_in_another_order_and_extra_columns_are_named(tmp_path):
    names = list(reversed(REQUIRED_COLUMNS)) + ["license"]
    values = list(reversed(ROW.split(","))) + ["LIC-1"]
    read = read_delivery(write(tmp_path, "d.csv", ",".join(names) + "\n" + ",".join(values) + "\n"))
    assert read.extra_columns == ["license"]
    assert list(read.frame.columns[:16]) == list(REQUIRED_COLUMNS)
    assert read.frame.loc[0, "id"] == "2539"


def test_a_missing_required_column_names_the_file_and_the_column(tmp_path):
    header = HEADER.replace(",price", "")
    row = ROW.replace(",149,", ",")
    with pytest.raises(DeliveryError, match=r"d.csv: required column\(s\) price missing"):
        read_delivery(write(tmp_path, "d.csv", f"{header}\n{row}\n"))


def test_gzip_is_detected_by_content_whatever_the_name(tmp_path):
    path = write(tmp_path, "listings_2019-07-10.csv", gzip.compress(f"{HEADER}\n{ROW}\n".encode()))
    assert read_delivery(path).frame.loc[0, "id"] == "2539"


def test_a_byte_order_mark_is_dropped(tmp_path):
    path = write(tmp_path, "d.csv", b"\xef\xbb\xbf" + f"{HEADER}\n{ROW}\n".encode())
    assert read_delivery(path).frame.loc[0, "id"] == "2539"


def test_latin1_lines_are_decoded_and_counted(tmp_path):
    latin = ROW.replace("John", "Jos\xe9").encode("latin-1")
    utf8 = ROW2.replace("Jennifer", "Zo\u00eb").encode("utf-8")
    read = read_delivery(write(tmp_path, "d.csv", HEADER.encode() + b"\n" + latin + b"\n" + utf8 + b"\n"))
    assert read.frame["host_name"].tolist() == ["Jos\u00e9", "Zo\u00eb"]
    assert read.latin1_lines == 1


def test_binary_content_is_refused_with_the_offset(tmp_path):
    with pytest.raises(DeliveryError, match=r"d.csv: binary content \(a NUL byte at offset 3\)"):
        read_delivery(write(tmp_path, "d.csv", b"id,\x00\x01\x02"))


def spreadsheet_text() -> str:
    """The same rows as a spreadsheet's "Unicode" CSV export writes them: comma-delimited, CRLF line ends."""
    return "\r\n".join([HEADER, ROW.replace("John", "Jos\u00e9"), ROW2, ""])


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: b"\xff\xfe" + text.encode("utf-16-le"), id="utf16le"),
        pytest.param(lambda text: b"\xfe\xff" + text.encode("utf-16-be"), id="utf16be"),
        pytest.param(lambda text: gzip.compress(b"\xff\xfe" + text.encode("utf-16-le")), id="gzip-utf16le"),
    ],
)
def test_a_utf16_byte_order_mark_is_read_as_utf16(tmp_path, encode):
    expected = read_delivery(write(tmp_path, "utf8.csv", spreadsheet_text())).frame
    path = write(tmp_path, "utf16.csv", encode(spreadsheet_text()))
    assert read_header(path) == list(REQUIRED_COLUMNS)
    read = read_delivery(path)
    assert read.frame[list(REQUIRED_COLUMNS)].equals(expected[list(REQUIRED_COLUMNS)])
    assert read.frame.loc[0, "host_name"] == "Jos\u00e9" and read.latin1_lines == 0


def test_a_utf16_byte_order_mark_on_invalid_utf16_names_the_file_and_the_offset(tmp_path):
    data = b"\xff\xfe" + spreadsheet_text().encode("utf-16-le") + b"\n"  # an odd number of bytes
    path = write(tmp_path, "d.csv", data)
    message = (
        rf"d.csv: starts with a UTF-16 byte-order mark but is not valid UTF-16 \(.* at byte offset {len(data) - 1}\)"
    )
    for read in (read_header, read_delivery):
        with pytest.raises(DeliveryError, match=message):
            read(path)


def test_utf32_is_still_refused_as_binary(tmp_path):
    path = write(tmp_path, "d.csv", spreadsheet_text().encode("utf-32"))  # a UTF-32 LE BOM: ff fe 00 00
    for read in (read_header, read_delivery):
        with pytest.raises(DeliveryError, match=r"d.csv: binary content \(a NUL byte at offset 2\)"):
            read(path)


def test_a_truncated_last_line_is_kept_and_marked_malformed(tmp_path):
    read = read_delivery(write(tmp_path, "d.csv", f"{HEADER}\n{ROW}\n{ROW2[:40]}"))
    assert read.malformed_rows == 1
    assert read.frame["parse_error"].tolist() == [None, "4 fields where the header has 16"]
    assert read.frame.loc[1, "price"] is None


def test_quoted_newlines_stay_in_one_row_and_lines_are_counted(tmp_path):
    quoted = ROW.replace("Clean & quiet apt home by the park", '"Clean,\nquiet"')
    frame = read_delivery(write(tmp_path, "d.csv", f"{HEADER}\n{quoted}\n{ROW2}\n")).frame
    assert frame.loc[0, "name"] == "Clean,\nquiet"
    assert frame["source_line"].tolist() == [2, 4]


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        (HEADER + "\n", "has a header but no listings"),
        (HEADER.replace(",", ";") + "\n" + ROW.replace(",", ";"), "one semicolon-delimited column"),
        (HEADER.replace(",", "\t") + "\n", "one tab-delimited column"),
    ],
)
def test_unusable_deliveries_name_the_file_and_the_problem(tmp_path, content, message):
    path = write(tmp_path, "listings_2019-07-10.csv", content)
    with pytest.raises(DeliveryError, match=f"listings_2019-07-10.csv: .*{message}"):
        read_delivery(path)


def test_read_header_checks_columns_without_reading_rows(tmp_path):
    assert read_header(write(tmp_path, "ok.csv", f"{HEADER}\n{ROW}\n")) == list(REQUIRED_COLUMNS)
    with pytest.raises(DeliveryError, match="missing"):
        read_header(write(tmp_path, "bad.csv", "id,name\n1,x\n"))


def test_a_symlink_outside_the_landing_folder_is_refused(tmp_path):
    landing, elsewhere = tmp_path / "incoming", tmp_path / "elsewhere"
    landing.mkdir(), elsewhere.mkdir()
    target = write(elsewhere, "secret.csv", f"{HEADER}\n{ROW}\n")
    (landing / "listings_2019-07-10.csv").symlink_to(target)
    with pytest.raises(DeliveryError, match="refused, it is a symlink"):
        inspect_delivery(landing / "listings_2019-07-10.csv", landing)
    found, problems = deliveries_of_week(landing, dt.date(2019, 7, 8))
    assert found == [] and "refused" in problems[0]


def test_deliveries_of_a_week_are_ordered_oldest_first_and_other_weeks_left_out(tmp_path):
    for name in ["listings_2019-07-12.csv", "listings_2019-07-08.csv", "listings_2019-07-15.csv", ".x.csv"]:
        write(tmp_path, name, f"{HEADER}\n{ROW}\n")
    found, problems = deliveries_of_week(tmp_path, dt.date(2019, 7, 8))
    assert [d.path.name for d in found] == ["listings_2019-07-08.csv", "listings_2019-07-12.csv"]
    assert problems == []
