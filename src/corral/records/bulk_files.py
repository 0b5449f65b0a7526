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
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence

from corral.errors import FileNotSupported, InvalidData, InvalidFileFormat

DELIMITERS = ",;:|"
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def rows_of_zip(content: bytes, encoding: str | None,
                ) -> tuple[str, list[str], list[list[str]]]:
    """The one CSV inside an uploaded zip: its name, header and rows, decompressed and
    decoded line by line (neither the CSV's bytes nor its text are ever held whole)."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as zf:
            names = [i for i in zf.infolist() if not i.is_dir()
                     and not i.filename.startswith("__MACOSX/")]
            if len(names) != 1 or not names[0].filename.lower().endswith(".csv"):
                raise FileNotSupported()
            with zf.open(names[0]) as member:
                header, rows = read_csv(text_lines(member, encoding))
                return names[0].filename.rsplit("/", 1)[-1], header, list(rows)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError):
        raise InvalidFileFormat() from None


def is_zip(content: bytes) -> bool:
    return zipfile.is_zipfile(io.BytesIO(content))


def _codec(encoding: str | None) -> tuple[str, codecs.CodecInfo]:
    """The encoding's name as given and its codec (UTF-8 drops a byte-order mark)."""
    name = (encoding or "UTF-8").strip()
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise InvalidData("invalid character_encoding",
                          {"api_name": "character_encoding"}) from None
    if codec.name == "utf-8":
        codec = codecs.lookup("utf-8-sig")
    return name, codec


def text_lines(stream: Iterable[bytes], encoding: str | None) -> Iterator[str]:
    """A file's lines (endings kept, split as `newline=""` splits them) decoded as they are
    read: `corral import` of a file of any size holds one line at a time (a file whose only
    line endings are lone CRs is read whole). Bytes that are not valid in the encoding raise
    INVALID_DATA when they are reached (the import's transaction then writes nothing)."""
    name, codec = _codec(encoding)

    def lines() -> Iterator[str]:
        decoder = codec.incrementaldecoder()
        offset = 0
        for raw in itertools.chain(stream, [b""]):
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:
                raise InvalidData(f"the file is not valid {name} text (byte "
                                  f"{offset + exc.start})",
                                  {"api_name": "character_encoding"}) from None
            offset += len(raw)
            yield from _lines(text)

    return lines()


def delimiter_of(first_line: str) -> str:
    """The header's most frequent one of `,;:|`."""
    return max(DELIMITERS, key=lambda d: (first_line.count(d), -DELIMITERS.index(d)))


def read_csv(lines: Iterable[str], delimiter: str | None = None,
             ) -> tuple[list[str], Iterator[list[str]]]:
    """Header and the rows as they are read (blank rows skipped); the delimiter is detected
    from the first line unless given."""
    it = iter(lines)
    first = next(it, "")
    reader = csv.reader(itertools.chain([first], it),
                        delimiter=delimiter or delimiter_of(first.rstrip("\r\n")))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InvalidData(f"the file is not valid CSV: {exc}") from None
    if not header or not any(h.strip() for h in header):
        raise InvalidData("the file has no header row")

    def rows() -> Iterator[list[str]]:
        try:
            for row in reader:
                if any(cell.strip() for cell in row):
                    yield row
        except csv.Error as exc:
            raise InvalidData(f"the file is not valid CSV: {exc}") from None

    return [h.strip() for h in header], rows()


def _lines(text: str) -> Iterator[str]:
    """The text's lines with their endings (`\r\n`, `\n` or `\r`), one at a time: unlike
    `io.StringIO(text)`, which widens a 25 MB file to four bytes a character, no copy of
    the whole text is made."""
    for m in LINE.finditer(text):
        yield m.group()


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
