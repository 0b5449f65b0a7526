"""Token issue and verification, OAuth grant flows, and the principal a request acts as."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from corral.auth import scopes as sc
from corral.auth.tokens import hash_token, new_client_id, new_token
from corral.errors import AuthenticationFailure, InvalidToken, NoPermission, OAuthScopeMismatch
from corral.storage import tables as t
from corral.storage.database import Database


@dataclass(frozen=True)
class User:
    id: int
    email: str
    first_name: str | None
    last_name: str
    zuid: str
    time_zone: str
    profile_id: int
    profile_name: str
    role: str
    status: str

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.first_name else self.last_name


@dataclass(frozen=True)
class Principal:
    user: User
    scopes: tuple[sc.Scope, ...]
    permissions: dict[str, Any] = field(default_factory=dict)

    def require_scope(self, *alternatives: str) -> None:
        if not sc.allows(self.scopes, *alternatives):
            raise OAuthScopeMismatch()

    @property
    def is_admin(self) -> bool:
        return bool(self.permissions.get("admin"))

    def can(self, module: str, action: str) -> bool:
        mods = self.permissions.get("modules", {})
        allowed = mods.get(module, mods.get("*", []))
        return action in allowed

    def require_module_permission(self, module: str, action: str, message: str) -> None:
        if not self.can(module, action):
            raise NoPermission(message, {"permissions": [f"Crm_Implied_{action.title()}_{module}"]})

    def read_only_fields(self, module: str) -> frozenset[str]:
        return frozenset(self.permissions.get("read_only_fields", {}).get(module, ()))


@dataclass(frozen=True)
class Profile:
    """A profile of the org; field and layout metadata list every profile with its access."""

    id: int
    name: str
    permissions: dict[str, Any]

    def read_only_fields(self, module: str) -> frozenset[str]:
        return frozenset(self.permissions.get("read_only_fields", {}).get(module, ()))


class OAuthError(Exception):
    """Token endpoint failure; Zoho Accounts answers `{"error": code}`."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def user_from_row(row: Any, profile_name: str) -> User:
    return User(id=row.id, email=row.email, first_name=row.first_name, last_name=row.last_name,
                zuid=row.zuid, time_zone=row.time_zone, profile_id=row.profile_id,
                profile_name=profile_name, role=row.role, status=row.status)


class AuthService:
    def __init__(self, db: Database, clock: Callable[[], datetime], access_ttl: int = 3600):
        self._db = db
        self._clock = clock
        self._access_ttl = access_ttl

    # --- users -------------------------------------------------------------------------------
    def users(self) -> list[User]:
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(t.users, t.profiles.c.name.label("profile_name"))
                .join(t.profiles, t.profiles.c.id == t.users.c.profile_id)
                .order_by(t.users.c.id)).all()
        return [user_from_row(r, r.profile_name) for r in rows]

    def profiles(self) -> list[Profile]:
        with self._db.read() as conn:
            rows = conn.execute(sa.select(t.profiles).order_by(t.profiles.c.id)).all()
        return [Profile(r.id, r.name, dict(r.permissions or {})) for r in rows]

    def user_by_email(self, email: str | None) -> User:
        users = self.users()
        if email is None:
            admins = [u for u in users if u.profile_name == "Administrator"]
            return (admins or users)[0]
        for u in users:
            if u.email.lower() == email.lower():
                return u
        raise LookupError(f"no user with email {email}")

    def create_user(self, email: str, last_name: str, *, first_name: str | None = None,
                    profile: str = "Standard", time_zone: str = "UTC") -> User:
        user_id = self._db.new_id()
        with self._db.write() as conn:
            prof = conn.execute(sa.select(t.profiles).where(t.profiles.c.name == profile)).first()
            if prof is None:
                raise LookupError(f"no profile named {profile}")
            conn.execute(sa.insert(t.users).values(
                id=user_id, zuid=str(user_id % 10**9), email=email, first_name=first_name,
                last_name=last_name, profile_id=prof.id, role="Member", time_zone=time_zone,
                status="active", created_time=self._clock()))
        return self.user_by_email(email)

    # --- tokens ------------------------------------------------------------------------------
    def _store(self, conn: Any, token: str, kind: str, user_id: int, scopes: str, *,
               client_id: str | None = None, expires_in: int | None = None,
               redirect_uri: str | None = None, parent: str | None = None) -> None:
        now = self._clock()
        conn.execute(sa.insert(t.oauth_tokens).values(
            token_hash=hash_token(token), kind=kind, client_id=client_id, user_id=user_id,
            scopes=scopes, redirect_uri=redirect_uri, parent_hash=parent, created_time=now,
            # None means no expiry (refresh tokens); 0 or less is already expired.
            expires_time=(None if expires_in is None
                          else now + timedelta(seconds=expires_in)),
            used=False))

    def create_access_token(self, user_id: int, scopes: str | list[str], *,
                            expires_in: int | None = None, client_id: str | None = None) -> str:
        canonical = sc.canonical_scopes(scopes)
        token = new_token()
        with self._db.write() as conn:
            self._store(conn, token, "access", user_id, canonical, client_id=client_id,
                        expires_in=expires_in if expires_in is not None else self._access_ttl)
        return token

    def authenticate(self, header: str | None) -> Principal:
        if not header:
            raise AuthenticationFailure()
        prefix, _, token = header.strip().partition(" ")
        if prefix.lower() not in {"zoho-oauthtoken", "bearer"} or not token.strip():
            raise InvalidToken()
        with self._db.read() as conn:
            row = conn.execute(
                sa.select(t.oauth_tokens).where(t.oauth_tokens.c.token_hash ==
                                                hash_token(token.strip()),
                                                t.oauth_tokens.c.kind == "access")).first()
            if row is None or (row.expires_time is not None and row.expires_time <= self._clock()):
                raise InvalidToken()
            urow = conn.execute(
                sa.select(t.users, t.profiles.c.name.label("profile_name"),
                          t.profiles.c.permissions)
                .join(t.profiles, t.profiles.c.id == t.users.c.profile_id)
                .where(t.users.c.id == row.user_id)).first()
        if urow is None or urow.status != "active":
            raise InvalidToken()
        return Principal(user=user_from_row(urow, urow.profile_name),
                         scopes=sc.parse_scopes(row.scopes), permissions=urow.permissions)

    def principal_for_user(self, user_id: int) -> Principal | None:
        """The principal a background job acts as: the scheduling user's profile, no scopes."""
        with self._db.read() as conn:
            urow = conn.execute(
                sa.select(t.users, t.profiles.c.name.label("profile_name"),
                          t.profiles.c.permissions)
                .join(t.profiles, t.profiles.c.id == t.users.c.profile_id)
                .where(t.users.c.id == user_id)).first()
        if urow is None:
            return None
        return Principal(user=user_from_row(urow, urow.profile_name), scopes=(),
                         permissions=urow.permissions)

    # --- OAuth clients and grants --------------------------------------------------------------
    def create_client(self, name: str = "Corral client", redirect_uri: str | None = None,
                      user_email: str | None = None) -> tuple[str, str]:
        user = self.user_by_email(user_email)
        client_id, secret = new_client_id(), new_token("s").split(".", 1)[1].replace(".", "")
        with self._db.write() as conn:
            conn.execute(sa.insert(t.oauth_clients).values(
                client_id=client_id, secret_hash=hash_token(secret), name=name,
                redirect_uri=redirect_uri, user_id=user.id, created_time=self._clock()))
        return client_id, secret

    def create_grant(self, client_id: str, scopes: str, *, user_email: str | None = None,
                     redirect_uri: str | None = None, expires_in: int = 600) -> str:
        canonical = sc.canonical_scopes(scopes)
        with self._db.read() as conn:
            client = conn.execute(sa.select(t.oauth_clients)
                                  .where(t.oauth_clients.c.client_id == client_id)).first()
        if client is None:
            raise LookupError(f"no client {client_id}")
        user = self.user_by_email(user_email) if user_email else None
        code = new_token()
        with self._db.write() as conn:
            self._store(conn, code, "grant", user.id if user else client.user_id, canonical,
                        client_id=client_id, expires_in=expires_in, redirect_uri=redirect_uri)
        return code

    def _check_client(self, conn: Any, client_id: str | None, secret: str | None) -> Any:
        if not client_id or not secret:
            raise OAuthError("invalid_client")
        client = conn.execute(sa.select(t.oauth_clients)
                              .where(t.oauth_clients.c.client_id == client_id)).first()
        if client is None or client.secret_hash != hash_token(secret):
            raise OAuthError("invalid_client")
        return client

    def token_endpoint(self, form: dict[str, str]) -> dict[str, Any]:
        """POST /oauth/v2/token: authorization_code, refresh_token, client_credentials."""
        grant_type = form.get("grant_type")
        now = self._clock()
        with self._db.write() as conn:
            client = self._check_client(conn, form.get("client_id"), form.get("client_secret"))
            if grant_type == "authorization_code":
                code = form.get("code") or ""
                row = conn.execute(sa.select(t.oauth_tokens).where(
                    t.oauth_tokens.c.token_hash == hash_token(code),
                    t.oauth_tokens.c.kind == "grant")).first()
                if (row is None or row.used or row.client_id != client.client_id
                        or (row.expires_time is not None and row.expires_time <= now)):
                    raise OAuthError("invalid_code")
                # Zoho Accounts refuses a redirect_uri other than the one the code was issued
                # for (`invalid_redirect_uri`, HTTP 200); self clients may omit it.
                expected_uri = row.redirect_uri or client.redirect_uri
                given_uri = form.get("redirect_uri")
                if expected_uri and given_uri and given_uri != expected_uri:
                    raise OAuthError("invalid_redirect_uri")
                # Conditional, so that of two concurrent exchanges only one wins (PostgreSQL
                # re-checks the condition after the first commits; SQLite writes serially).
                burnt = conn.execute(sa.update(t.oauth_tokens)
                                     .where(t.oauth_tokens.c.token_hash == row.token_hash,
                                            t.oauth_tokens.c.used.is_(False))
                                     .values(used=True))
                if burnt.rowcount != 1:
                    raise OAuthError("invalid_code")
                refresh = new_token()
                self._store(conn, refresh, "refresh", row.user_id, row.scopes,
                            client_id=client.client_id)
                access = new_token()
                self._store(conn, access, "access", row.user_id, row.scopes,
                            client_id=client.client_id, expires_in=self._access_ttl,
                            parent=hash_token(refresh))
                return {"access_token": access, "refresh_token": refresh,
                        "scope": row.scopes.replace(",", " "), "api_domain": None,
                        "token_type": "Bearer", "expires_in": self._access_ttl}
            if grant_type == "refresh_token":
                token = form.get("refresh_token") or ""
                row = conn.execute(sa.select(t.oauth_tokens).where(
                    t.oauth_tokens.c.token_hash == hash_token(token),
                    t.oauth_tokens.c.kind == "refresh")).first()
                if row is None or row.client_id != client.client_id:
                    raise OAuthError("invalid_code")
                access = new_token()
                self._store(conn, access, "access", row.user_id, row.scopes,
                            client_id=client.client_id, expires_in=self._access_ttl,
                            parent=row.token_hash)
                return {"access_token": access, "scope": row.scopes.replace(",", " "),
                        "api_domain": None, "token_type": "Bearer",
                        "expires_in": self._access_ttl}
            if grant_type == "client_credentials":
                scope_text = form.get("scope") or ""
                try:
                    canonical = sc.canonical_scopes(scope_text)
                except sc.ScopeError:
                    raise OAuthError("invalid_scope") from None
                access = new_token()
                self._store(conn, access, "access", client.user_id, canonical,
                            client_id=client.client_id, expires_in=self._access_ttl)
                return {"access_token": access, "scope": canonical.replace(",", " "),
                        "api_domain": None, "token_type": "Bearer",
                        "expires_in": self._access_ttl}
        raise OAuthError("unsupported_grant_type")
