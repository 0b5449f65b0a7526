"""Reading a multipart upload without ever holding an unbounded body.

The request stream is counted as it arrives and refused (`FILE_SIZE_MORE_THAN_ALLOWED_SIZE`) as
soon as it exceeds the file limit plus room for the multipart framing; Starlette's parser spools
the file part to a temporary file (in memory up to 1 MB, on disk beyond), and the file's own
size is checked exactly afterwards. Self-contained, so a global request-body limit can sit in
front of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from corral.errors import CorralError, FileSizeMoreThanAllowedSize, FileTooLarge, InvalidData

FRAMING = 64 * 1024  # multipart boundaries, part headers and small form fields


@dataclass
class Upload:
    """The `file` part's bytes (None: no file part), its name and type, and the text fields."""

    content: bytes | None = None
    file_name: str | None = None
    content_type: str | None = None
    sha256: str | None = None
    fields: dict[str, str] = field(default_factory=dict)


def too_large(limit: int) -> CorralError:
    """The error of a file over `limit`: attachments' own (20 MB), else bulk write's
    FILE_TOO_LARGE (its 25 MB zip)."""
    return FileSizeMoreThanAllowedSize() if limit <= 20 * 1024 * 1024 else FileTooLarge()


async def read_upload(request: Request, limit: int) -> Upload:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + FRAMING:
        raise too_large(limit)

    async def bounded() -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit + FRAMING:
                raise too_large(limit)
            yield chunk

    parser = MultiPartParser(request.headers, bounded(),  # type: ignore[arg-type]
                             max_files=1, max_fields=20)
    try:
        form = await parser.parse()
    except (MultiPartException, KeyError):
        raise InvalidData("the request does not contain any file") from None
    out = Upload()
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name == "file":
                    out.content, out.sha256 = await _read_file(value, limit)
                    out.file_name = value.filename
                    out.content_type = value.content_type
            else:
                out.fields[name] = value
    finally:
        await form.close()
    return out


async def _read_file(upload: UploadFile, limit: int) -> tuple[bytes, str]:
    """The file's bytes (at most `limit`) and their SHA-256."""
    digest = hashlib.sha256()
    parts: list[bytes] = []
    size = 0
    while chunk := await upload.read(1024 * 1024):
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        digest.update(chunk)
        parts.append(chunk)
    return b"".join(parts), digest.hexdigest()
