"""The fuzzer's verdicts catch what they should: 5xx, non-JSON, leaks, schema violations."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.contract import allowlist, oas

pytestmark = pytest.mark.skipif(not oas.oas_dir().is_dir(),
                                reason=f"Zoho's OpenAPI v8 folder is missing: {oas.oas_dir()}")

if oas.oas_dir().is_dir():
    from tests.contract import test_fuzz as fuzz


@dataclass
class Answer:
    status_code: int
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: {
        "content-type": "application/json;charset=UTF-8"})

    @property
    def content(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return b"" if self.body is None else json.dumps(self.body).encode()

    @property
    def text(self) -> str:
        return self.content.decode()


def _op(label: str) -> oas.Operation:
    return next(op for op in fuzz.OPERATIONS if op.label == label)


FIELDS = "fields:POST /crm/v8/settings/fields"
COUNT = "record_count:GET /crm/v8/{module_api_name}/actions/count"
SENT = {"method": "POST", "url": "http://testserver/crm/v8/settings/fields?module=Leads",
        "body": b'{"fields": [{}]}'}
WRAPPED = {"fields": [{"code": "MANDATORY_NOT_FOUND", "message": "required field not found",
                       "status": "error",
                       "details": {"api_name": "field_label",
                                   "json_path": "$.fields[0].field_label"}}]}


def _judge(label: str, answer: Answer) -> fuzz.World:
    world = fuzz.World(api=None)  # type: ignore[arg-type]
    fuzz.judge(_op(label), world, SENT, answer)
    return world


def test_conforming_answers_pass() -> None:
    _judge(FIELDS, Answer(400, WRAPPED))
    _judge(FIELDS, Answer(201, {"fields": [{"code": "SUCCESS", "details": {"id": "1"},
                                            "message": "field created",
                                            "status": "success"}]}))
    _judge(COUNT, Answer(200, {"count": 3}))


@pytest.mark.parametrize("answer", [
    Answer(500, {"code": "INTERNAL_ERROR", "details": {}, "message": "Internal Server Error",
                 "status": "error"}),
    Answer(502, raw=b""),
    Answer(200, raw=b"<html>ok</html>", headers={"content-type": "text/html"}),
    Answer(204, raw=b"{}"),
    Answer(400, {"code": "INVALID_DATA", "details": {},
                 "message": 'Traceback (most recent call last):\n  File "x.py", line 1',
                 "status": "error"}),
    Answer(400, {"code": "INVALID_DATA", "details": {},
                 "message": "SELECT records.id FROM records WHERE 1", "status": "error"}),
    # item 3 before the fix: a body error top-level
    Answer(400, WRAPPED["fields"][0]),
    Answer(400, {"fields": [{"code": "MANDATORY_NOT_FOUND", "status": "error"}]}),
    Answer(409, WRAPPED),  # undocumented status
])
def test_violations_fail(answer: Answer) -> None:
    with pytest.raises(AssertionError):
        _judge(FIELDS, answer)


def test_schemas_and_statuses_are_checked() -> None:
    users = "users:GET /crm/v8/users"
    _judge(users, Answer(204))
    for bad in ({"users": "x", "info": {}}, {"info": {}}, []):
        with pytest.raises(AssertionError):
            _judge(users, Answer(200, bad))
    with pytest.raises(AssertionError):  # record_count.json documents no 204
        _judge(COUNT, Answer(204))


def test_quirks_excuse_only_what_they_name() -> None:
    # REQUIRED_PARAM_MISSING is request-level: top-level is right, though fields.json wraps
    _judge(FIELDS, Answer(400, {"code": "REQUIRED_PARAM_MISSING", "status": "error",
                                "details": {"param_name": "module"},
                                "message": "One of the expected parameter is missing"}))
    # ... but the same top-level shape for a body error is not excused
    with pytest.raises(AssertionError):
        _judge(FIELDS, Answer(400, {"code": "INVALID_DATA", "status": "error",
                                    "details": {"api_name": "length"},
                                    "message": "invalid data"}))


def test_handed_over_5xx_is_recorded_not_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = allowlist.HandedOver(owner="someone", reproduction="curl ...",
                                 operations=(FIELDS,), hit=lambda sent: b"fields" in sent["body"])
    monkeypatch.setattr(fuzz, "HANDED_OVER_5XX", (entry,))
    world = _judge(FIELDS, Answer(500, {"code": "INTERNAL_ERROR", "details": {},
                                        "message": "Internal Server Error", "status": "error"}))
    assert len(world.handed_over) == 1
    with pytest.raises(AssertionError):
        _judge(COUNT, Answer(500, {"code": "INTERNAL_ERROR", "details": {},
                                   "message": "Internal Server Error", "status": "error"}))


def test_every_quirk_has_a_reason_and_names_served_operations() -> None:
    import fnmatch

    labels = [op.label for op in fuzz.OPERATIONS]
    for quirk in [*allowlist.SPEC_QUIRKS, *allowlist.HANDED_OVER_5XX]:
        reason = getattr(quirk, "reason", None) or getattr(quirk, "reproduction", "")
        assert reason.strip(), quirk
        for pattern in quirk.operations:
            assert any(fnmatch.fnmatchcase(label, pattern) for label in labels), pattern
