"""Bulk files (pure): a zip holding one CSV in, CSV text and a streamed zip out.

Zoho's bulk write takes a zip with one CSV whose delimiter (comma, semicolon, colon or pipe) is
detected from the header; bulk read and bulk write results are zipped CSV. A result is built
from chunks as they are read from the database and zipped as it streams, so no result is ever
held whole in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence

from corral.errors import FileNotSupported, InvalidData, InvalidFileFormat

DELIMITERS = ",;:|"
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def csv_of_zip(content: bytes) -> tuple[str, bytes]:
    """The one CSV inside an uploaded zip: its name and bytes."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            names = [i for i in zf.infolist() if not i.is_dir()
                     and not i.filename.startswith("__MACOSX/")]
            if len(names) != 1 or not names[0].filename.lower().endswith(".csv"):
                raise FileNotSupported()
            return names[0].filename.rsplit("/", 1)[-1], zf.read(names[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError):
        raise InvalidFileFormat() from None


def is_zip(content: bytes) -> bool:
    return zipfile.is_zipfile(io.BytesIO(content))


def decode(data: bytes, encoding: str | None) -> str:
    """The file's text; a byte-order mark is dropped. Bytes that are not valid in the
    encoding refuse the whole file (nothing is written)."""
    name = (encoding or "UTF-8").strip()
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise InvalidData("invalid character_encoding",
                          {"api_name": "character_encoding"}) from None
    if codec.name == "utf-8":
        codec = codecs.lookup("utf-8-sig")
    try:
        return data.decode(codec.name)
    except UnicodeDecodeError as exc:
        raise InvalidData(f"the file is not valid {name} text (byte {exc.start})",
                          {"api_name": "character_encoding"}) from None


def _lines(text: str) -> Iterator[str]:
    """The text's lines with their endings (`\r\n`, `\n` or `\r`), one at a time: unlike
    `io.StringIO(text)`, which widens a 25 MB file to four bytes a character, no copy of
    the whole text is made."""
    for m in LINE.finditer(text):
        yield m.group()


def parse_csv(text: str) -> tuple[list[str], list[list[str]]]:
    """Header and rows; the delimiter is the header's most frequent one of `,;:|`."""
    end = text.find("\n")
    first = text if end < 0 else text[:end]
    delimiter = max(DELIMITERS, key=lambda d: (first.count(d), -DELIMITERS.index(d)))
    reader = csv.reader(_lines(text), delimiter=delimiter)
    try:
        header = next(reader, None)
        if not header or not any(h.strip() for h in header):
            raise InvalidData("the file has no header row")
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        raise InvalidData(f"the file is not valid CSV: {exc}") from None
    return [h.strip() for h in header], rows


def csv_text(rows: Iterable[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()


class _Sink(io.RawIOBase):
    """A write-only stream whose bytes are taken out as they arrive."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        data = bytes(b)  # type: ignore[call-overload]
        self.buf += data
        return len(data)

    def take(self) -> bytes:
        out = bytes(self.buf)
        self.buf.clear()
        return out


def zip_stream(name: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """A zip holding one file `name` made of `chunks`, yielded as it is built."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as zf, \
            zf.open(name, "w", force_zip64=True) as member:
        for chunk in chunks:
            member.write(chunk)
            if len(sink.buf) >= 64 * 1024:
                yield sink.take()
    yield sink.take()


def zip_bytes(name: str, content: bytes) -> bytes:
    """A zip holding one file (tests, the CLI)."""
    return b"".join(zip_stream(name, [content]))
