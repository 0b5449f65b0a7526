"""AuthRepository: users with profiles, OAuth clients, tokens known only by their hashes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from corral.auth.tokens import hash_token
from corral.services import Corral
from corral.storage import tables as t
from corral.storage.errors import UniqueViolation
from corral.storage.repositories.auth import (
    AuthRepository,
    NewUser,
    StoredClient,
    StoredToken,
)
from corral.storage.repositories.roles import RoleRepository

repo = AuthRepository()
NOW = datetime(2026, 12, 1, 8, 0, 0)


def _add_user(corral: Corral, email: str, *, profile: str = "Standard") -> int:
    uid = corral.db.new_id()
    with corral.db.write() as tx:
        pid = repo.profile_id_named(tx, profile)
        role = RoleRepository().find_named(tx, "Manager")
        assert pid is not None and role is not None
        repo.add_user(tx, NewUser(id=uid, zuid=str(uid % 10**9), email=email,
                                  first_name="Ann", last_name="Lee", profile_id=pid,
                                  role_id=role.id, time_zone="UTC", status="active",
                                  created_time=NOW))
    return uid


def test_users_come_with_their_profile_in_id_order(corral: Corral) -> None:
    uid = _add_user(corral, "ann@zylker.com")
    with corral.db.read() as tx:
        users = repo.all_users(tx)
        found = repo.find_user(tx, uid)
    assert [u.id for u in users] == sorted(u.id for u in users)
    assert users[-1].id == uid
    assert found is not None and found.email == "ann@zylker.com"
    assert found.profile_name == "Standard" and found.permissions["admin"] is False
    admin = users[0]
    assert admin.profile_name == "Administrator" and admin.permissions["admin"] is True


def test_unknown_user_and_profile_are_none(corral: Corral) -> None:
    with corral.db.read() as tx:
        assert repo.find_user(tx, 1) is None
        assert repo.profile_id_named(tx, "No Such Profile") is None


def test_duplicate_email_raises_unique_violation_and_keeps_the_first(corral: Corral) -> None:
    first = _add_user(corral, "dup@zylker.com")
    with pytest.raises(UniqueViolation):
        _add_user(corral, "dup@zylker.com")
    with corral.db.read() as tx:
        assert [u.id for u in repo.all_users(tx) if u.email == "dup@zylker.com"] == [first]


def test_active_user_ids_leave_out_disabled_users(corral: Corral) -> None:
    active, disabled = _add_user(corral, "a@zylker.com"), _add_user(corral, "d@zylker.com")
    with corral.db.write() as tx:
        tx.execute(sa.update(t.users).where(t.users.c.id == disabled).values(status="disabled"))
    with corral.db.read() as tx:
        ids = repo.active_user_ids(tx)
        everyone = repo.user_ids(tx)
    assert active in ids and disabled not in ids
    assert {active, disabled} <= everyone


def _token(token_hash: str, kind: str = "access") -> StoredToken:
    return StoredToken(token_hash=token_hash, kind=kind, client_id=None, user_id=1,
                       scopes="ZohoCRM.users.ALL", redirect_uri=None, parent_hash=None,
                       created_time=NOW, expires_time=NOW + timedelta(hours=1))


def test_a_stored_token_is_found_by_hash_and_kind_only(corral: Corral) -> None:
    with corral.db.write() as tx:
        repo.store_token(tx, replace(_token("h-access"), expires_time=None))
    with corral.db.read() as tx:
        found = repo.find_token(tx, "h-access", "access")
        assert repo.find_token(tx, "h-access", "refresh") is None
        assert repo.find_token(tx, "h-other", "access") is None
    assert found == replace(_token("h-access"), expires_time=None)


def test_issued_tokens_are_stored_hashed_never_in_clear(corral: Corral) -> None:
    user = corral.auth.user_by_email(None)
    token = corral.auth.create_access_token(user.id, "ZohoCRM.modules.ALL", expires_in=60)
    with corral.db.read() as tx:
        stored = repo.find_token(tx, hash_token(token), "access")
        assert repo.find_token(tx, token, "access") is None
        cells = [str(v) for row in tx.execute(sa.select(t.oauth_tokens)) for v in row]
    assert stored is not None and stored.user_id == user.id
    assert stored.expires_time == stored.created_time + timedelta(seconds=60)
    assert not any(token in c for c in cells)


def test_a_grant_is_used_once(corral: Corral) -> None:
    with corral.db.write() as tx:
        repo.store_token(tx, _token("h-grant", kind="grant"))
    with corral.db.write() as tx:
        assert repo.use_grant(tx, "h-grant") is True
    with corral.db.write() as tx:
        assert repo.use_grant(tx, "h-grant") is False
        assert repo.use_grant(tx, "h-missing") is False
    with corral.db.read() as tx:
        grant = repo.find_token(tx, "h-grant", "grant")
    assert grant is not None and grant.used is True


def test_clients_are_found_by_id_with_their_secret_hash(corral: Corral) -> None:
    client = StoredClient(client_id="1000.ABC", secret_hash=hash_token("s3cret"), name="App",
                          redirect_uri="https://app.example.com/cb", user_id=7,
                          created_time=NOW)
    with corral.db.write() as tx:
        repo.add_client(tx, client)
    with corral.db.read() as tx:
        assert repo.find_client(tx, "1000.ABC") == client
        assert repo.find_client(tx, "1000.XYZ") is None
