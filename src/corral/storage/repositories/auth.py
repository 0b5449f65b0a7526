"""Users with their profiles, OAuth clients and tokens (grant codes, refresh and access tokens).

Tokens and client secrets arrive here already hashed: this module stores and finds hashes and
never sees a token in clear.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class StoredUser:
    """A user joined with its profile (name and permissions) and role (name)."""

    id: int
    zuid: str
    email: str
    first_name: str | None
    last_name: str
    profile_id: int
    profile_name: str
    role: str  # the role's name
    time_zone: str
    status: str  # active | disabled | deleted
    created_time: datetime
    # {"modules": {"*" | api_name: [action, ...]}, "read_only_fields": {...}, "admin": bool}
    permissions: dict[str, Any]
    role_id: int = 0
    confirmed: bool = True
    attributes: dict[str, Any] = field(default_factory=dict)
    created_by: int | None = None
    modified_by: int | None = None
    modified_time: datetime | None = None


@dataclass(frozen=True)
class NewUser:
    id: int
    zuid: str
    email: str
    first_name: str | None
    last_name: str
    profile_id: int
    role_id: int
    time_zone: str
    status: str
    created_time: datetime
    confirmed: bool = True
    attributes: dict[str, Any] = field(default_factory=dict)
    created_by: int | None = None


# Columns of `users` a user update may set (the service decides who may set which).
USER_COLUMNS = frozenset({"first_name", "last_name", "email", "profile_id", "role_id",
                          "time_zone", "status", "attributes"})


@dataclass(frozen=True)
class Profile:
    id: int
    name: str
    permissions: dict[str, Any]
    description: str | None = None
    custom: bool = False
    created_by: int | None = None
    created_time: datetime | None = None
    modified_by: int | None = None
    modified_time: datetime | None = None


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
    # Grants made by the authorize endpoint: "online" (no refresh token) or "offline".
    # None (grants from `corral grant create`): offline.
    access_type: str | None = None


_USER_COLUMNS = (t.users, t.profiles.c.name.label("profile_name"),
                 t.profiles.c.permissions, t.roles.c.name.label("role_name"))


def _users_select() -> sa.Select[Any]:
    return (sa.select(*_USER_COLUMNS)
            .join(t.profiles, t.profiles.c.id == t.users.c.profile_id)
            .join(t.roles, t.roles.c.id == t.users.c.role_id))


# Every request authenticates (token, then user) and most answers name users: built once.
_FIND_USER = _users_select().where(t.users.c.id == sa.bindparam("uid"))
_ALL_USERS = _users_select().order_by(t.users.c.id)
_USERS_BY_IDS = (_users_select().where(t.users.c.id.in_(sa.bindparam("ids", expanding=True)))
                 .order_by(t.users.c.id))
_FIND_TOKEN = sa.select(t.oauth_tokens).where(t.oauth_tokens.c.token_hash == sa.bindparam("h"),
                                              t.oauth_tokens.c.kind == sa.bindparam("kind"))


def _user(row: Any) -> StoredUser:
    return StoredUser(
        id=row.id, zuid=row.zuid, email=row.email, first_name=row.first_name,
        last_name=row.last_name, profile_id=row.profile_id, profile_name=row.profile_name,
        role=row.role_name, time_zone=row.time_zone, status=row.status,
        created_time=row.created_time, permissions=dict(row.permissions or {}),
        role_id=row.role_id, confirmed=bool(row.confirmed),
        attributes=dict(row.attributes or {}), created_by=row.created_by,
        modified_by=row.modified_by, modified_time=row.modified_time)


def _profile(row: Any) -> Profile:
    return Profile(id=row.id, name=row.name, permissions=dict(row.permissions or {}),
                   description=row.description, custom=bool(row.custom),
                   created_by=row.created_by, created_time=row.created_time,
                   modified_by=row.modified_by, modified_time=row.modified_time)


def _client(row: Any) -> StoredClient:
    return StoredClient(client_id=row.client_id, secret_hash=row.secret_hash, name=row.name,
                        redirect_uri=row.redirect_uri, user_id=row.user_id,
                        created_time=row.created_time)


def _token(row: Any) -> StoredToken:
    return StoredToken(
        token_hash=row.token_hash, kind=row.kind, client_id=row.client_id, user_id=row.user_id,
        scopes=row.scopes, redirect_uri=row.redirect_uri, parent_hash=row.parent_hash,
        created_time=row.created_time, expires_time=row.expires_time, used=bool(row.used),
        access_type=row.access_type)


class AuthRepository:
    # --- users and profiles ----------------------------------------------------------------
    def all_users(self, tx: Tx) -> list[StoredUser]:
        """Every user (any status), in id order."""
        return [_user(r) for r in tx.execute(_ALL_USERS)]

    def users_by_ids(self, tx: Tx, ids: Collection[int]) -> list[StoredUser]:
        """The users with these ids (any status), in id order."""
        if not ids:
            return []
        return [_user(r) for r in tx.execute(_USERS_BY_IDS, {"ids": sorted(ids)})]

    def find_user(self, tx: Tx, user_id: int) -> StoredUser | None:
        row = tx.execute(_FIND_USER, {"uid": user_id}).first()
        return None if row is None else _user(row)

    def user_ids(self, tx: Tx) -> set[int]:
        """Ids of every user, whatever their status."""
        return {int(r[0]) for r in tx.execute(sa.select(t.users.c.id))}

    def active_user_ids(self, tx: Tx) -> set[int]:
        return {int(r[0]) for r in tx.execute(
            sa.select(t.users.c.id).where(t.users.c.status == "active"))}

    def email_taken(self, tx: Tx, email: str, *, besides: int | None = None) -> bool:
        """Whether another user has this email (compared case-insensitively)."""
        query = sa.select(t.users.c.id).where(sa.func.lower(t.users.c.email) == email.lower())
        if besides is not None:
            query = query.where(t.users.c.id != besides)
        return tx.execute(query.limit(1)).first() is not None

    def profile_id_named(self, tx: Tx, name: str) -> int | None:
        row = tx.execute(sa.select(t.profiles.c.id).where(t.profiles.c.name == name)).first()
        return None if row is None else int(row[0])

    def add_profiles(self, tx: Tx, profiles: Sequence[Profile]) -> None:
        if profiles:
            tx.execute(sa.insert(t.profiles), [
                {f.name: getattr(p, f.name) for f in fields(Profile)} for p in profiles])

    def all_profiles(self, tx: Tx) -> list[Profile]:
        return [_profile(r) for r in tx.execute(sa.select(t.profiles).order_by(t.profiles.c.id))]

    def find_profile(self, tx: Tx, profile_id: int) -> Profile | None:
        row = tx.execute(sa.select(t.profiles).where(t.profiles.c.id == profile_id)).first()
        return None if row is None else _profile(row)

    def profile_name_taken(self, tx: Tx, name: str, *, besides: int | None = None) -> bool:
        query = sa.select(t.profiles.c.id).where(
            sa.func.lower(t.profiles.c.name) == name.lower())
        if besides is not None:
            query = query.where(t.profiles.c.id != besides)
        return tx.execute(query.limit(1)).first() is not None

    def update_profile(self, tx: Tx, profile: Profile) -> None:
        """Store the profile's name, description, permissions and modification stamp."""
        tx.execute(sa.update(t.profiles).where(t.profiles.c.id == profile.id).values(
            name=profile.name, description=profile.description,
            permissions=profile.permissions, modified_by=profile.modified_by,
            modified_time=profile.modified_time))

    def delete_profile(self, tx: Tx, profile_id: int, transfer_to: int) -> None:
        """Move the profile's users to `transfer_to`, then delete it."""
        tx.execute(sa.update(t.users).where(t.users.c.profile_id == profile_id)
                   .values(profile_id=transfer_to))
        tx.execute(sa.delete(t.profiles).where(t.profiles.c.id == profile_id))

    def add_user(self, tx: Tx, user: NewUser) -> None:
        """`Database.write()` raises `UniqueViolation` when the email is taken."""
        tx.execute(sa.insert(t.users).values(
            {f.name: getattr(user, f.name) for f in fields(NewUser)}))

    def update_user(self, tx: Tx, user_id: int, changes: dict[str, Any], *,
                    modified_by: int, modified_time: datetime) -> None:
        """Set the given columns (names from USER_COLUMNS) and the modification stamp."""
        unknown = set(changes) - USER_COLUMNS
        if unknown:
            raise ValueError(f"not user columns: {sorted(unknown)}")
        tx.execute(sa.update(t.users).where(t.users.c.id == user_id).values(
            **changes, modified_by=modified_by, modified_time=modified_time))

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
            expires_time=token.expires_time, used=token.used, access_type=token.access_type))

    def find_token(self, tx: Tx, token_hash: str, kind: str) -> StoredToken | None:
        """The token of that kind with that hash (expired or used ones included)."""
        row = tx.execute(_FIND_TOKEN, {"h": token_hash, "kind": kind}).first()
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

    def delete_token(self, tx: Tx, token_hash: str, kind: str) -> None:
        tx.execute(sa.delete(t.oauth_tokens).where(t.oauth_tokens.c.token_hash == token_hash,
                                                   t.oauth_tokens.c.kind == kind))

    def revoke(self, tx: Tx, token_hash: str) -> bool:
        """Delete a refresh or access token, every access token issued from it and the console
        sessions opened with any of them; False when no such token exists."""
        tokens = t.oauth_tokens
        gone = tx.execute(sa.delete(tokens).where(tokens.c.token_hash == token_hash,
                                                  tokens.c.kind.in_(("refresh", "access"))))
        if gone.rowcount != 1:
            return False
        children = sa.select(tokens.c.token_hash).where(tokens.c.parent_hash == token_hash,
                                                         tokens.c.kind == "access")
        tx.execute(sa.delete(tokens).where(
            tokens.c.kind == "console",
            sa.or_(tokens.c.parent_hash == token_hash, tokens.c.parent_hash.in_(children))))
        tx.execute(sa.delete(tokens).where(tokens.c.parent_hash == token_hash,
                                           tokens.c.kind == "access"))
        return True
