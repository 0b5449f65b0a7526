"""Page tokens (pure): round trip, signature, expiry, binding to user, module and parameters."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from corral.errors import ExpiredValue, InvalidData, TokenBoundDataMismatch
from corral.records import page_tokens as pt

NOW = datetime(2024, 5, 1, 8, 0, 0)
KEY = b"k" * 32


def cursor(**kw: object) -> pt.Cursor:
    base = pt.Cursor(module_id=7, user_id=3, binding=pt.binding_of({"fields": "Email"}),
                     sort_by="Created_Time", sort_order="asc", key="2024-05-01T07:00:00.5",
                     record_id=48768760000001, forward=True, page=2, expires=pt.expiry(NOW))
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("c", [cursor(), cursor(key=4876876, sort_by="id", forward=False)])
def test_round_trip(c: pt.Cursor) -> None:
    assert pt.decode(pt.encode(c, KEY), KEY) == c


def test_another_key_or_a_changed_byte_is_refused() -> None:
    token = pt.encode(cursor(), KEY)
    with pytest.raises(TokenBoundDataMismatch):
        pt.decode(token, b"x" * 32)
    body, sig = token.split(".")
    with pytest.raises(TokenBoundDataMismatch):
        pt.decode(f"{body[:5]}{'A' if body[5] != 'A' else 'B'}{body[6:]}.{sig}", KEY)
    for junk in ("", ".", "abc", "a.b.c"):
        with pytest.raises(TokenBoundDataMismatch):
            pt.decode(junk, KEY)


def test_a_signed_but_malformed_body_is_refused() -> None:
    body = "bm90IGpzb24"  # "not json"
    with pytest.raises(TokenBoundDataMismatch):
        pt.decode(f"{body}.{pt._sign(body, KEY)}", KEY)


def test_binding_ignores_paging_params_only() -> None:
    a = pt.binding_of({"fields": "Email", "page": "1", "per_page": "5", "page_token": "t"})
    assert a == pt.binding_of({"fields": "Email"})
    assert a != pt.binding_of({"fields": "Email", "cvid": "1"})


def test_check_expiry_user_module_and_binding() -> None:
    c = cursor()
    ok = {"module_id": 7, "user_id": 3, "binding": c.binding}
    pt.check(c, now=NOW + timedelta(hours=23, minutes=59), **ok)  # type: ignore[arg-type]
    with pytest.raises(ExpiredValue):
        pt.check(c, now=NOW + timedelta(hours=24), **ok)  # type: ignore[arg-type]
    with pytest.raises(InvalidData):
        pt.check(c, now=NOW, **{**ok, "user_id": 4})  # type: ignore[arg-type]
    with pytest.raises(TokenBoundDataMismatch):
        pt.check(c, now=NOW, **{**ok, "module_id": 8})  # type: ignore[arg-type]
    with pytest.raises(TokenBoundDataMismatch):
        pt.check(c, now=NOW, **{**ok, "binding": "x"})  # type: ignore[arg-type]
