"""Bulk files (pure): the zip's one CSV, delimiter detection, decoding, the streamed zip."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.errors import FileNotSupported, InvalidData, InvalidFileFormat
from corral.records.bulk_files import (
    csv_text,
    read_csv,
    rows_of_zip,
    text_lines,
    zip_bytes,
    zip_stream,
)


def test_one_csv_inside_a_zip() -> None:
    assert rows_of_zip(zip_bytes("dir/Leads.csv", b"a\n1\n"), None) == (
        "Leads.csv", ["a"], [["1"]])
    with pytest.raises(InvalidFileFormat):
        rows_of_zip(b"Last_Name\nA\n", None)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.txt", "x")
    with pytest.raises(FileNotSupported):
        rows_of_zip(buf.getvalue(), None)
    with pytest.raises(InvalidData, match=r"not valid UTF-8 text \(byte 11\)"):
        rows_of_zip(zip_bytes("l.csv", "Last_Name\nM\xfcller\n".encode("latin-1")), None)
    assert rows_of_zip(zip_bytes("l.csv", "Last_Name\nM\xfcller\n".encode("latin-1")),
                       "ISO-8859-1")[2] == [["M\xfcller"]]


def parse(text: str, encoding: str | None = None) -> tuple[list[str], list[list[str]]]:
    """The file's header and rows, read line by line as `corral import` reads them."""
    header, rows = read_csv(text_lines(io.BytesIO(text.encode(encoding or "utf-8")),
                                       encoding))
    return header, list(rows)


@pytest.mark.parametrize("delimiter", [",", ";", ":", "|"])
def test_delimiter_is_detected_from_the_header(delimiter: str) -> None:
    text = delimiter.join(["Last_Name", "Email"]) + "\n" + delimiter.join(["A, B", "a@x"]) \
        .replace("A, B", '"A, B"' if delimiter == "," else "A, B") + "\n\n"
    assert parse(text) == (["Last_Name", "Email"], [["A, B", "a@x"]])


def test_decoding() -> None:
    assert parse("\ufeffLast_Name\n") == (["Last_Name"], [])
    assert parse("Last_Name\nMüller\n", "ISO-8859-1") == (["Last_Name"], [["Müller"]])
    with pytest.raises(InvalidData, match="not valid UTF-8"):
        list(read_csv(text_lines([b"Last_Name\n", "Müller".encode("latin-1")], "UTF-8"))[1])
    with pytest.raises(InvalidData, match="character_encoding"):
        text_lines([b"x"], "no-such-codec")
    with pytest.raises(InvalidData, match="header"):
        parse("\n\n")


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


def _reference_parse(text: str) -> tuple[list[str], list[list[str]]]:
    """The whole text through csv over io.StringIO(text, newline="") (how files were read
    before), the delimiter taken from the first line."""
    import csv
    import re

    first = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    delimiter = max(",;:|", key=lambda d: (first.count(d), -",;:|".index(d)))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader)
    return [h.strip() for h in header], [r for r in reader if any(c.strip() for c in r)]


@given(st.lists(st.lists(st.text(alphabet='ab,;"\r\n\u00fc\u2028 ', max_size=8), min_size=1,
                         max_size=4), min_size=1, max_size=12),
       st.sampled_from(["\n", "\r\n", "\r"]), st.sampled_from(["UTF-8", "UTF-16"]))
def test_a_file_read_line_by_line_gives_the_rows_of_its_whole_text(
        rows: list[list[str]], ending: str, encoding: str) -> None:
    # Lines are decoded and split one at a time (never a copy of the whole file): quoted
    # line breaks, \r\n, lone \r and other Unicode line separators read as from the text.
    import csv

    buf = io.StringIO()
    csv.writer(buf, lineterminator=ending).writerows([["H1", "H2"], *rows])
    text = buf.getvalue()
    assert parse(text, encoding) == _reference_parse(text)


def test_last_line_without_an_ending() -> None:
    assert parse('A;B\r\n1;"x\ny"\r2;3') == (["A", "B"], [["1", "x\ny"], ["2", "3"]])


def test_zip_is_yielded_while_its_chunks_are_still_being_read() -> None:
    # 2 MiB that do not compress, in 64 KiB chunks: zip pieces come out long before the last
    # chunk is asked for (the whole zip is never built in memory).
    taken: list[int] = []

    def chunks() -> Iterator[bytes]:
        for i in range(32):
            taken.append(i)
            yield os.urandom(64 * 1024)

    stream = zip_stream("out.csv", chunks())
    first = next(stream)
    assert first and len(taken) < 4
    data = first + b"".join(stream)
    assert len(taken) == 32
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.getinfo("out.csv").file_size == 32 * 64 * 1024

