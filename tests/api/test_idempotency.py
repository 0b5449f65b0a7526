"""Idempotency-Key on writes: replay byte for byte, reuse with another request, expiry, per
user, the in-use wait, and no key stored for a failed call."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from corral.app import create_app
from corral.config import Settings
from corral.services import Corral, utc_now
from corral.storage import tables as t
from corral.storage.database import Database
from tests.conftest import Api, make_token


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def count_leads(corral: Corral, last_name: str) -> int:
    with corral.db.read() as tx:
        rows = tx.execute(sa.select(t.records.c.data).where(
            t.records.c.deleted_time.is_(None))).all()
    return sum(1 for r in rows if r.data.get("Last_Name") == last_name)


def change_log_rows(corral: Corral) -> int:
    with corral.db.read() as tx:
        return int(tx.execute(sa.select(sa.func.count()).select_from(t.change_log)).scalar_one())


def test_repeat_gets_the_stored_answer_byte_for_byte_and_writes_nothing(
        api: Api, corral: Corral) -> None:
    body = {"data": [{"Last_Name": "Once", "Email": "once@x.com"}]}
    first = api.post("Leads", json=body, headers=keyed("k-1"))
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    logged = change_log_rows(corral)
    again = api.post("Leads", json=body, headers=keyed("k-1"))
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]
    assert count_leads(corral, "Once") == 1
    assert change_log_rows(corral) == logged


def test_same_key_with_another_request_is_reused(api: Api, corral: Corral) -> None:
    assert api.post("Leads", json={"data": [{"Last_Name": "A"}]},
                    headers=keyed("k-2")).status_code == 201
    for method, path, body, params in [
            ("POST", "Leads", {"data": [{"Last_Name": "B"}]}, None),  # other body
            ("POST", "Leads/upsert", {"data": [{"Last_Name": "A"}]}, None),  # other path
            ("POST", "Leads", {"data": [{"Last_Name": "A"}]}, {"x": "1"})]:  # other query
        r = api.request(method, path, json=body, params=params, headers=keyed("k-2"))
        assert r.status_code == 422, r.text
        assert r.json() == {"code": "IDEMPOTENCY_KEY_REUSED", "details": {
            "header": "Idempotency-Key"}, "message": r.json()["message"], "status": "error"}
    assert count_leads(corral, "B") == 0


def test_keys_belong_to_the_calling_user(api: Api, corral: Corral) -> None:
    other = corral.auth.create_user("other@x.com", "Administrator", first_name="O")
    other_token = corral.auth.create_access_token(other.id, ["ZohoCRM.modules.ALL"])
    body = {"data": [{"Last_Name": "Mine"}]}
    assert api.post("Leads", json=body, headers=keyed("shared")).status_code == 201
    r = api.post("Leads", json=body, headers=keyed("shared"), token=other_token)
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert count_leads(corral, "Mine") == 2


def test_update_delete_and_upsert_are_keyed_too(api: Api, corral: Corral) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "U"})
    for method, path, body, params in [
            ("PUT", "Leads", {"data": [{"id": rid, "Description": "x"}]}, None),
            ("POST", "Leads/upsert", {"data": [{"Last_Name": "Up", "Email": "u@x.com"}]},
             None),
            ("DELETE", "Leads", None, {"ids": rid})]:
        key = f"{method}-{path}"
        first = api.request(method, path, json=body, params=params, headers=keyed(key))
        assert first.status_code == 200, first.text
        logged = change_log_rows(corral)
        again = api.request(method, path, json=body, params=params, headers=keyed(key))
        assert again.content == first.content and again.status_code == first.status_code
        assert again.headers["idempotent-replayed"] == "true"
        assert change_log_rows(corral) == logged


def test_a_failed_call_stores_no_answer(api: Api, corral: Corral) -> None:
    bad = api.client.post("/crm/v2/Leads", content=b"{not json",
                          headers={**api.headers(), **keyed("k-bad")})
    assert bad.status_code == 400
    with corral.db.read() as tx:
        assert tx.execute(sa.select(t.idempotency_keys)).first() is None


def test_key_length_is_checked(api: Api) -> None:
    body = {"data": [{"Last_Name": "L"}]}
    assert api.post("Leads", json=body, headers=keyed("k" * 255)).status_code == 201
    r = api.post("Leads", json=body, headers=keyed("k" * 256))
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_DATA"
    assert r.json()["details"] == {"header": "Idempotency-Key", "maximum_length": 255}


def test_keyed_write_still_needs_token_scope_and_permission(api: Api, corral: Corral) -> None:
    body = {"data": [{"Last_Name": "L"}]}
    r = api.client.post("/crm/v2/Leads", json=body, headers=keyed("k"))
    assert r.status_code == 401 and r.json()["code"] == "AUTHENTICATION_FAILURE"
    read_only = make_token(corral, ["ZohoCRM.modules.leads.READ"])
    r = api.post("Leads", json=body, headers=keyed("k"), token=read_only)
    assert r.status_code == 401 and r.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    user = corral.auth.create_user("std@x.com", "Standard", first_name="S")
    with corral.db.write() as tx:
        tx.execute(sa.update(t.profiles).where(t.profiles.c.id == user.profile_id).values(
            permissions={"admin": False, "modules": {"*": ["view"]}, "read_only_fields": {}}))
    std = make_token(corral, email="std@x.com")
    r = api.post("Leads", json=body, headers=keyed("k"), token=std)
    assert r.status_code == 403 and r.json()["code"] == "NO_PERMISSION"


class Clock:
    def __init__(self) -> None:
        self.now = utc_now()

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked(database_url: str) -> Iterator[tuple[Api, Corral, Clock]]:
    clock = Clock()
    c = Corral.open(Settings(database_url=database_url, run_worker=False), clock=clock)
    c.seed()
    with TestClient(create_app(c), raise_server_exceptions=False) as client:
        yield Api(client, make_token(c, expires_in=7 * 24 * 3600)), c, clock
    c.close()


def test_keys_expire_after_24_hours(clocked: tuple[Api, Corral, Clock]) -> None:
    api, corral, clock = clocked
    body = {"data": [{"Last_Name": "Expiring"}]}
    assert api.post("Leads", json=body, headers=keyed("k-exp")).status_code == 201
    clock.now += timedelta(hours=23, minutes=59)
    r = api.post("Leads", json=body, headers=keyed("k-exp"))
    assert r.headers.get("idempotent-replayed") == "true"
    clock.now += timedelta(minutes=2)
    r = api.post("Leads", json=body, headers=keyed("k-exp"))
    assert r.status_code == 201 and "idempotent-replayed" not in r.headers
    assert count_leads(corral, "Expiring") == 2
    # Another body under the expired-then-reused key is now a reuse again.
    r = api.post("Leads", json={"data": [{"Last_Name": "Other"}]}, headers=keyed("k-exp"))
    assert r.status_code == 422


@pytest.fixture
def impatient(database_url: str) -> Iterator[tuple[Api, Corral]]:
    c = Corral.open(Settings(database_url=database_url, run_worker=False,
                             idempotency_wait=0.2))
    c.seed()
    with TestClient(create_app(c), raise_server_exceptions=False) as client:
        yield Api(client, make_token(c)), c
    c.close()


def test_a_twin_still_running_past_the_wait_is_in_use(impatient: tuple[Api, Corral]) -> None:
    api, corral = impatient
    admin = corral.auth.user_by_email(None)
    # Hold the key as a first call still running would.
    with corral.idempotency._held(admin.id, "k-busy", deadline=time.monotonic() + 60):
        r = api.post("Leads", json={"data": [{"Last_Name": "Busy"}]}, headers=keyed("k-busy"))
    assert r.status_code == 409
    assert r.json()["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert count_leads(corral, "Busy") == 0
    r = api.post("Leads", json={"data": [{"Last_Name": "Busy"}]}, headers=keyed("k-busy"))
    assert r.status_code == 201


def test_uploads_tags_and_notes_are_keyed(api: Api, corral: Corral) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Doors"})

    def upload(content: bytes) -> Any:
        return api.client.post(f"/crm/v8/Leads/{rid}/Attachments",
                               headers={**api.headers(), **keyed("k-up")},
                               files={"file": ("a.txt", content, "text/plain")})

    first = upload(b"hello")
    assert first.status_code == 200, first.text
    again = upload(b"hello")
    assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
    assert upload(b"other bytes").status_code == 422  # another file under the key
    with corral.db.read() as tx:
        assert len(tx.execute(sa.select(t.attachments)).all()) == 1
    for path, body in [(f"Leads/{rid}/actions/add_tags", {"tags": [{"name": "Hot"}]}),
                       (f"Leads/{rid}/Notes", {"data": [{"Note_Content": "n"}]})]:
        first = api.post(path, json=body, headers=keyed(f"k-{path}"))
        assert first.status_code in (200, 201), first.text
        logged = change_log_rows(corral)
        again = api.post(path, json=body, headers=keyed(f"k-{path}"))
        assert again.headers["idempotent-replayed"] == "true" and again.content == first.content
        assert change_log_rows(corral) == logged


def test_a_twin_in_another_process_is_waited_for_then_in_use(
        impatient: tuple[Api, Corral]) -> None:
    """PostgreSQL: another process's call holds the key's advisory lock (SQLite's writers
    are serialised by BEGIN IMMEDIATE instead)."""
    api, corral = impatient
    if corral.db.is_sqlite:
        pytest.skip("SQLite serialises every writer; there is no per-key lock to hold")
    from corral.storage.repositories.idempotency import IdempotencyRepository
    admin = corral.auth.user_by_email(None)
    other = Database(corral.settings.database_url)
    try:
        with other.write() as tx:
            assert IdempotencyRepository().lock(tx, admin.id, "k-remote", 1.0)
            r = api.post("Leads", json={"data": [{"Last_Name": "Remote"}]},
                         headers=keyed("k-remote"))
    finally:
        other.dispose()
    assert r.status_code == 409 and r.json()["code"] == "IDEMPOTENCY_KEY_IN_USE"
    assert count_leads(corral, "Remote") == 0
