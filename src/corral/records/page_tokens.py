"""Page tokens: signed cursors that continue a record listing past Zoho's 2,000-record page limit.

A token is keyset pagination made portable: it names the last (or, going back, the first) row
of a page by its sort key and id, the sort it was made for, a digest of the other parameters of
the request (fields, cvid, converted, approved, ids ...), the user, the module and an expiry.
Continuing from a row rather than an offset is what keeps a listing consistent while records are
inserted or deleted meanwhile: no record is skipped or repeated. The token is signed with an HMAC
key kept in the database, so a forged or altered token is refused rather than trusted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from corral.errors import ExpiredValue, InvalidData, TokenBoundDataMismatch

TOKEN_TTL = timedelta(hours=24)  # Zoho: a page token is valid for a day
EPOCH = datetime(1970, 1, 1)
PARAM = {"param_name": "page_token"}
# Parameters that move through a listing rather than define it: they may change between pages.
UNBOUND = frozenset({"page_token", "page", "per_page"})


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (`forward`) or before the row (`key`, `record_id`)."""

    module_id: int
    user_id: int
    binding: str  # digest of the request's other parameters
    sort_by: str
    sort_order: str
    key: str | int  # the row's sort value: its id, or its time as ISO text
    record_id: int
    forward: bool
    page: int  # the page number the token leads to
    expires: int  # seconds since the epoch, UTC


def binding_of(params: Mapping[str, str]) -> str:
    """A digest of the parameters a token is bound to (all but the paging ones)."""
    bound = sorted((k, v) for k, v in params.items() if k not in UNBOUND)
    return hashlib.sha256(orjson.dumps(bound)).hexdigest()[:32]


def expiry(now: datetime) -> int:
    """The expiry of a token made at `now` (naive UTC), in seconds since the epoch."""
    return int((now + TOKEN_TTL - EPOCH).total_seconds())


def expiry_time(expires: int) -> datetime:
    return EPOCH + timedelta(seconds=expires)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(body: str, secret: bytes) -> str:
    return _b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())


def encode(cursor: Cursor, secret: bytes) -> str:
    body = _b64(orjson.dumps([
        1, cursor.module_id, cursor.user_id, cursor.binding, cursor.sort_by, cursor.sort_order,
        cursor.key, cursor.record_id, cursor.forward, cursor.page, cursor.expires]))
    return f"{body}.{_sign(body, secret)}"


def decode(token: str, secret: bytes) -> Cursor:
    """The cursor a token carries; TOKEN_BOUND_DATA_MISMATCH when it was not made here or was
    altered (the signature does not match)."""
    body, _, signature = token.strip().partition(".")
    if not body or not hmac.compare_digest(signature.encode(), _sign(body, secret).encode()):
        raise TokenBoundDataMismatch(details=dict(PARAM))
    try:
        parts = orjson.loads(_unb64(body))
        version, module_id, user_id, binding, sort_by, sort_order, key, rid, forward, page, \
            expires = parts
        if version != 1:
            raise ValueError(version)
        return Cursor(int(module_id), int(user_id), str(binding), str(sort_by),
                      str(sort_order), key if isinstance(key, int) else str(key), int(rid),
                      bool(forward), int(page), int(expires))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise TokenBoundDataMismatch(details=dict(PARAM)) from None


def check(cursor: Cursor, *, module_id: int, user_id: int, binding: str,
          now: datetime) -> None:
    """Refuse a token used past its expiry, by another user, or for another listing."""
    if expiry_time(cursor.expires) <= now:
        raise ExpiredValue(details=dict(PARAM))
    if cursor.user_id != user_id:
        raise InvalidData("the page_token given is not valid for this user", dict(PARAM))
    if cursor.module_id != module_id or cursor.binding != binding:
        raise TokenBoundDataMismatch(details=dict(PARAM))
