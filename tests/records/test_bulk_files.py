"""Bulk files (pure): the zip's one CSV, delimiter detection, decoding, the streamed zip."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.errors import FileNotSupported, InvalidData, InvalidFileFormat
from corral.records.bulk_files import csv_of_zip, csv_text, decode, parse_csv, zip_bytes, zip_stream


def test_one_csv_inside_a_zip() -> None:
    assert csv_of_zip(zip_bytes("dir/Leads.csv", b"a\n1\n")) == ("Leads.csv", b"a\n1\n")
    with pytest.raises(InvalidFileFormat):
        csv_of_zip(b"Last_Name\nA\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "x")
    with pytest.raises(FileNotSupported):
        csv_of_zip(buf.getvalue())


@pytest.mark.parametrize("delimiter", [",", ";", ":", "|"])
def test_delimiter_is_detected_from_the_header(delimiter: str) -> None:
    text = delimiter.join(["Last_Name", "Email"]) + "\n" + delimiter.join(["A, B", "a@x"]) \
        .replace("A, B", '"A, B"' if delimiter == "," else "A, B") + "\n\n"
    assert parse_csv(text) == (["Last_Name", "Email"], [["A, B", "a@x"]])


def test_decoding() -> None:
    assert decode("\ufeffLast_Name\n".encode(), None) == "Last_Name\n"
    assert decode("Müller".encode("latin-1"), "ISO-8859-1") == "Müller"
    with pytest.raises(InvalidData, match="not valid UTF-8"):
        decode("Müller".encode("latin-1"), "UTF-8")
    with pytest.raises(InvalidData, match="character_encoding"):
        decode(b"x", "no-such-codec")
    with pytest.raises(InvalidData, match="header"):
        parse_csv("\n\n")


@given(st.lists(st.lists(st.text(max_size=20), min_size=1, max_size=4), max_size=30),
       st.integers(min_value=1, max_value=7))
def test_streamed_zip_holds_exactly_the_chunks(rows: list[list[str]], parts: int) -> None:
    text = csv_text(rows).encode()
    size = parts * 13
    chunks = [text[i:i + size] for i in range(0, len(text), size)]
    data = b"".join(zip_stream("out.csv", chunks))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.namelist() == ["out.csv"]
        assert zf.read("out.csv") == text
