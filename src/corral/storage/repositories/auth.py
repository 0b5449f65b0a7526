"""Users with their profiles, OAuth clients and tokens (grant codes, refresh and access tokens).

Tokens and client secrets arrive here already hashed: this module stores and finds hashes and
never sees a token in clear.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class StoredUser:
    """A user joined with its profile (name and permissions)."""

    id: int
    zuid: str
    email: str
    first_name: str | None
    last_name: str
    profile_id: int
    profile_name: str
    role: str
    time_zone: str
    status: str
    created_time: datetime
    # {"modules": {"*" | api_name: [action, ...]}, "read_only_fields": {...}, "admin": bool}
    permissions: dict[str, Any]


@dataclass(frozen=True)
class NewUser:
    id: int
    zuid: str
    email: str
    first_name: str | None
    last_name: str
    profile_id: int
    role: str
    time_zone: str
    status: str
    created_time: datetime


@dataclass(frozen=True)
class Profile:
    id: int
    name: str
    permissions: dict[str, Any]


@dataclass(frozen=True)
class StoredClient:
    client_id: str
    secret_hash: str
    name: str
    redirect_uri: str | None
    user_id: int
    created_time: datetime


@dataclass(frozen=True)
class StoredToken:
    """A grant code, refresh token or access token, known only by its hash."""

    token_hash: str
    kind: str  # grant | refresh | access
    client_id: str | None
    user_id: int
    scopes: str  # comma-joined
    redirect_uri: str | None
    parent_hash: str | None
    created_time: datetime
    expires_time: datetime | None  # None: never expires
    used: bool = False


_USER_COLUMNS = (t.users, t.profiles.c.name.label("profile_name"),
                 t.profiles.c.permissions)


def _user(row: Any) -> StoredUser:
    return StoredUser(
        id=row.id, zuid=row.zuid, email=row.email, first_name=row.first_name,
        last_name=row.last_name, profile_id=row.profile_id, profile_name=row.profile_name,
        role=row.role, time_zone=row.time_zone, status=row.status,
        created_time=row.created_time, permissions=dict(row.permissions or {}))


def _client(row: Any) -> StoredClient:
    return StoredClient(client_id=row.client_id, secret_hash=row.secret_hash, name=row.name,
                        redirect_uri=row.redirect_uri, user_id=row.user_id,
                        created_time=row.created_time)


def _token(row: Any) -> StoredToken:
    return StoredToken(
        token_hash=row.token_hash, kind=row.kind, client_id=row.client_id, user_id=row.user_id,
        scopes=row.scopes, redirect_uri=row.redirect_uri, parent_hash=row.parent_hash,
        created_time=row.created_time, expires_time=row.expires_time, used=bool(row.used))


class AuthRepository:
    # --- users and profiles ----------------------------------------------------------------
    def all_users(self, tx: Tx) -> list[StoredUser]:
        """Every user (any status), in id order."""
        rows = tx.execute(
            sa.select(*_USER_COLUMNS)
            .join(t.profiles, t.profiles.c.id == t.users.c.profile_id)
            .order_by(t.users.c.id))
        return [_user(r) for r in rows]

    def find_user(self, tx: Tx, user_id: int) -> StoredUser | None:
        row = tx.execute(
            sa.select(*_USER_COLUMNS)
            .join(t.profiles, t.profiles.c.id == t.users.c.profile_id)
            .where(t.users.c.id == user_id)).first()
        return None if row is None else _user(row)

    def user_ids(self, tx: Tx) -> set[int]:
        """Ids of every user, whatever their status."""
        return {int(r[0]) for r in tx.execute(sa.select(t.users.c.id))}

    def active_user_ids(self, tx: Tx) -> set[int]:
        return {int(r[0]) for r in tx.execute(
            sa.select(t.users.c.id).where(t.users.c.status == "active"))}

    def profile_id_named(self, tx: Tx, name: str) -> int | None:
        row = tx.execute(sa.select(t.profiles.c.id).where(t.profiles.c.name == name)).first()
        return None if row is None else int(row[0])

    def all_profiles(self, tx: Tx) -> list[Profile]:
        return [Profile(r.id, r.name, dict(r.permissions or {}))
                for r in tx.execute(sa.select(t.profiles).order_by(t.profiles.c.id))]

    def add_profiles(self, tx: Tx, profiles: Sequence[Profile]) -> None:
        if profiles:
            tx.execute(sa.insert(t.profiles), [
                {"id": p.id, "name": p.name, "permissions": p.permissions} for p in profiles])

    def add_user(self, tx: Tx, user: NewUser) -> None:
        """`Database.write()` raises `UniqueViolation` when the email is taken."""
        tx.execute(sa.insert(t.users).values(
            id=user.id, zuid=user.zuid, email=user.email, first_name=user.first_name,
            last_name=user.last_name, profile_id=user.profile_id, role=user.role,
            time_zone=user.time_zone, status=user.status, created_time=user.created_time))

    # --- OAuth clients -----------------------------------------------------------------------
    def add_client(self, tx: Tx, client: StoredClient) -> None:
        tx.execute(sa.insert(t.oauth_clients).values(
            client_id=client.client_id, secret_hash=client.secret_hash, name=client.name,
            redirect_uri=client.redirect_uri, user_id=client.user_id,
            created_time=client.created_time))

    def find_client(self, tx: Tx, client_id: str) -> StoredClient | None:
        row = tx.execute(sa.select(t.oauth_clients)
                         .where(t.oauth_clients.c.client_id == client_id)).first()
        return None if row is None else _client(row)

    # --- tokens ------------------------------------------------------------------------------
    def store_token(self, tx: Tx, token: StoredToken) -> None:
        tx.execute(sa.insert(t.oauth_tokens).values(
            token_hash=token.token_hash, kind=token.kind, client_id=token.client_id,
            user_id=token.user_id, scopes=token.scopes, redirect_uri=token.redirect_uri,
            parent_hash=token.parent_hash, created_time=token.created_time,
            expires_time=token.expires_time, used=token.used))

    def find_token(self, tx: Tx, token_hash: str, kind: str) -> StoredToken | None:
        """The token of that kind with that hash (expired or used ones included)."""
        row = tx.execute(sa.select(t.oauth_tokens).where(
            t.oauth_tokens.c.token_hash == token_hash, t.oauth_tokens.c.kind == kind)).first()
        return None if row is None else _token(row)

    def use_grant(self, tx: Tx, token_hash: str) -> bool:
        """Mark an unused token used; False when it was used already (or does not exist).

        Conditional, so that of two concurrent exchanges of one grant code only one wins
        (PostgreSQL re-checks the condition after the first commits; SQLite writes serially).
        """
        burnt = tx.execute(sa.update(t.oauth_tokens)
                           .where(t.oauth_tokens.c.token_hash == token_hash,
                                  t.oauth_tokens.c.used.is_(False))
                           .values(used=True))
        return burnt.rowcount == 1
