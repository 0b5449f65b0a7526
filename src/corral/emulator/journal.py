"""The request journal: every call in (and every webhook out), kept in the database for
assertions (emulator_journal, shared by every server process).

Bodies are cut to a configurable number of characters and tokens never appear in clear:
anything shaped like a Zoho token or grant code, and the values of token-bearing form and
query fields, are replaced by `sha256:<first 16 hex digits>` of the value, so a test can still
tell two tokens apart.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any

from corral.emulator.state import SharedState
from corral.storage.database import Tx
from corral.storage.repositories.emulator import JournalEntry

# `1000.<hex>.<hex>` tokens and `1000.<HEX>` grant codes / client ids, as auth/tokens.py makes
# (grant codes travel as `code`, a name Zoho also uses for every result's status code, so they
# are caught by their shape).
TOKEN = re.compile(r"1000\.[0-9A-Za-z]{16,}(?:\.[0-9A-Za-z]{16,})?")
SECRET_FIELDS = re.compile(
    r'((?:^|[?&"\s{,])"?(?:access_token|refresh_token|client_secret)"?\s*[=:]\s*"?)'
    r'([^&"\s,}]+)')


def _digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]


def redact(text: str) -> str:
    """`text` with every token-like value and secret field value replaced by its digest."""
    text = SECRET_FIELDS.sub(lambda m: m.group(1) + _digest(m.group(2))
                             if not m.group(2).startswith("sha256:") else m.group(0), text)
    return TOKEN.sub(lambda m: _digest(m.group(0)), text)


def clip(raw: bytes, limit: int) -> str | None:
    if not raw:
        return None
    text = redact(raw[: limit * 4].decode("utf-8", "replace"))
    return text[:limit]


# One journalled call, as the journal's table holds it (direction: in | out).
Call = JournalEntry


class Journal:
    """The journal of every server process on the database: one row per call, the `size`
    newest kept (older ones dropped as new ones come)."""

    def __init__(self, size: int, body_limit: int, shared: SharedState) -> None:
        self._shared = shared
        self.size = size
        self.body_limit = body_limit

    def entry(self, *, time: datetime, direction: str, method: str, path: str, query: str,
              status: int | None, code: str | None, credits: int, duration_ms: float,
              request_body: bytes, response_body: bytes) -> dict[str, Any]:
        """The row of one call: query and bodies redacted, bodies cut to the limit."""
        limit = self.body_limit
        return {"time": time, "direction": direction, "method": method, "path": path,
                "query": redact(query), "status": status, "code": code, "credits": credits,
                "duration_ms": round(duration_ms, 3),
                "request_body": clip(request_body, limit),
                "response_body": clip(response_body, limit)}

    def append(self, tx: Tx, entry: dict[str, Any], charge: int = 0) -> Call:
        entry_id = self._shared.repo.append(tx, entry, self.size, charge)
        return Call(id=entry_id, **entry)

    def add(self, **call: Any) -> Call:
        entry = self.entry(**call)
        return self._shared.write(lambda tx: self.append(tx, entry))

    def calls(self, *, method: str | None = None, path: str | None = None,
              status: int | None = None, since_id: int = 0, limit: int = 1000,
              direction: str | None = None, newest_first: bool = False) -> list[Call]:
        """Oldest first (or newest first): calls after `since_id` matching method, path (a
        glob), status and direction."""
        out: list[Call] = []
        after, before = since_id, (2**62 if newest_first else None)
        batch = limit if not path else max(limit, 500)
        while len(out) < limit:
            with self._shared.db.read() as tx:
                rows = self._shared.repo.journal(
                    tx, method=method.upper() if method else None, status=status,
                    after_id=after, limit=batch, direction=direction, before_id=before)
            for row in rows:
                if path and not fnmatchcase(row.path, path):
                    continue
                out.append(row)
                if len(out) >= limit:
                    break
            if len(rows) < batch:
                break
            if newest_first:
                before = rows[-1].id
            else:
                after = rows[-1].id
        return out

    def credits_spent(self, since: datetime) -> list[tuple[datetime, int]]:
        """(time, credits) of the incoming calls journalled since `since` that cost any."""
        with self._shared.db.read() as tx:
            return self._shared.repo.credits_spent(tx, since)

    def clear(self) -> None:
        self._shared.write(self._shared.repo.clear_journal)


def response_code(body: bytes) -> str | None:
    """The Zoho `code` of a JSON response: top-level, else of its first `data` entry."""
    import orjson

    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if isinstance(doc, dict):
        if isinstance(doc.get("code"), str):
            return str(doc["code"])
        for key in ("data", "users", "tags", "fields", "modules"):
            items = doc.get(key)
            if isinstance(items, list) and items and isinstance(items[0], dict) \
                    and isinstance(items[0].get("code"), str):
                return str(items[0]["code"])
    return None
