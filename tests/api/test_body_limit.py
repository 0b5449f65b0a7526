"""Request-size limit: an oversized body gets 413 FILE_TOO_LARGE before auth and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import orjson
import pytest
from starlette.testclient import TestClient

from corral.app import create_app
from corral.config import DEFAULT_MAX_BODY, Settings
from corral.services import Corral
from tests.conftest import Api

LIMIT = 64 * 1024


@pytest.fixture
def small(corral: Corral, token: str) -> Iterator[Api]:
    """The API of a server whose body limit is LIMIT bytes."""
    corral.settings = replace(corral.settings, max_body=LIMIT)
    with TestClient(create_app(corral), raise_server_exceptions=False) as c:
        yield Api(c, token)


def _body(size: int) -> bytes:
    """A valid one-record insert padded with JSON whitespace to exactly `size` bytes."""
    core = orjson.dumps({"data": [{"Last_Name": "Edge", "Company": "Limits"}]})
    assert len(core) <= size
    return core + b" " * (size - len(core))


def _count(api: Api) -> int:
    r = api.get("Leads/actions/count")
    assert r.status_code == 200, r.text
    return int(r.json()["count"])


def _post(api: Api, content: bytes | Iterator[bytes], token: str | None = "") -> object:
    headers = {} if token is None else api.headers(token or None)
    return api.client.post(api.url("Leads"), content=content, headers=headers)


def _assert_too_large(r: object) -> None:
    assert r.status_code == 413, r.text  # type: ignore[attr-defined]
    assert r.json() == {"code": "FILE_TOO_LARGE", "details": {"limit": LIMIT},  # type: ignore[attr-defined]
                        "message": "File size too large to process", "status": "error"}
    assert r.headers["connection"] == "close"  # type: ignore[attr-defined]


def test_body_at_the_limit_is_accepted(small: Api) -> None:
    r = _post(small, _body(LIMIT))
    assert r.status_code == 201, r.text
    assert _count(small) == 1


def test_body_one_byte_over_the_limit_is_refused_and_writes_nothing(small: Api) -> None:
    _assert_too_large(_post(small, _body(LIMIT + 1)))
    assert _count(small) == 0


def test_body_without_length_is_counted_and_refused(small: Api) -> None:
    # An iterator goes out chunked, without Content-Length: only counting can refuse it (the
    # e2e test sends one in real chunks over a socket).
    body = _body(4 * LIMIT)
    _assert_too_large(_post(small, iter([body[i:i + 4096] for i in range(0, len(body), 4096)])))
    assert _count(small) == 0


def test_chunked_body_within_the_limit_is_accepted(small: Api) -> None:
    body = _body(LIMIT)
    r = _post(small, iter([body[i:i + 1000] for i in range(0, len(body), 1000)]))
    assert r.status_code == 201, r.text


def test_size_is_checked_before_authentication(small: Api) -> None:
    _assert_too_large(_post(small, _body(LIMIT + 1), token=None))
    _assert_too_large(_post(small, _body(LIMIT + 1), token="1000.nope.nope"))
    r = _post(small, _body(LIMIT), token=None)
    assert (r.status_code, r.json()["code"]) == (401, "AUTHENTICATION_FAILURE")


@pytest.mark.parametrize("path", ["Leads/upsert", "Leads/actions/mass_update", "Nope",
                                  "settings/fields?module=Leads", "no/such/url/at/all"])
def test_every_route_is_bounded(small: Api, path: str) -> None:
    r = small.client.post(small.url(path), content=_body(LIMIT + 1), headers=small.headers())
    _assert_too_large(r)


def test_token_endpoint_is_bounded(small: Api) -> None:
    r = small.client.post("/oauth/v2/token", content=b"a=" + b"x" * LIMIT)
    _assert_too_large(r)


def test_max_body_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().max_body == DEFAULT_MAX_BODY
    monkeypatch.setenv("CORRAL_MAX_BODY", "12345")
    assert Settings.from_env().max_body == 12345
    assert Settings.from_env(max_body=99).max_body == 99  # the flag wins over the environment
    monkeypatch.setenv("CORRAL_MAX_BODY", "lots")
    with pytest.raises(ValueError, match="CORRAL_MAX_BODY"):
        Settings.from_env()
    with pytest.raises(ValueError):
        Settings(max_body=0)
