"""Token issue and verification, OAuth grant flows, and the principal a request acts as."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from corral.auth import scopes as sc
from corral.auth.tokens import hash_token, new_client_id, new_token
from corral.errors import AuthenticationFailure, InvalidToken, NoPermission, OAuthScopeMismatch
from corral.storage.database import Database, Tx
from corral.storage.repositories.auth import (
    AuthRepository,
    NewUser,
    StoredClient,
    StoredToken,
    StoredUser,
)


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


def user_from_stored(stored: StoredUser) -> User:
    return User(id=stored.id, email=stored.email, first_name=stored.first_name,
                last_name=stored.last_name, zuid=stored.zuid, time_zone=stored.time_zone,
                profile_id=stored.profile_id, profile_name=stored.profile_name,
                role=stored.role, status=stored.status)


class AuthService:
    def __init__(self, db: Database, clock: Callable[[], datetime], access_ttl: int = 3600):
        self._db = db
        self._clock = clock
        self._access_ttl = access_ttl
        self._repo = AuthRepository()

    # --- users -------------------------------------------------------------------------------
    def users(self) -> list[User]:
        with self._db.read() as tx:
            stored = self._repo.all_users(tx)
        return [user_from_stored(u) for u in stored]

    def profiles(self) -> list[Profile]:
        with self._db.read() as tx:
            stored = self._repo.all_profiles(tx)
        return [Profile(p.id, p.name, p.permissions) for p in stored]

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
        """A new active user; `UniqueViolation` when the email is taken."""
        user_id = self._db.new_id()
        with self._db.write() as tx:
            profile_id = self._repo.profile_id_named(tx, profile)
            if profile_id is None:
                raise LookupError(f"no profile named {profile}")
            self._repo.add_user(tx, NewUser(
                id=user_id, zuid=str(user_id % 10**9), email=email, first_name=first_name,
                last_name=last_name, profile_id=profile_id, role="Member", time_zone=time_zone,
                status="active", created_time=self._clock()))
        return self.user_by_email(email)

    # --- tokens ------------------------------------------------------------------------------
    def _store(self, tx: Tx, token: str, kind: str, user_id: int, scopes: str, *,
               client_id: str | None = None, expires_in: int | None = None,
               redirect_uri: str | None = None, parent: str | None = None) -> None:
        now = self._clock()
        self._repo.store_token(tx, StoredToken(
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
        with self._db.write() as tx:
            self._store(tx, token, "access", user_id, canonical, client_id=client_id,
                        expires_in=expires_in if expires_in is not None else self._access_ttl)
        return token

    def authenticate(self, header: str | None) -> Principal:
        if not header:
            raise AuthenticationFailure()
        prefix, _, token = header.strip().partition(" ")
        if prefix.lower() not in {"zoho-oauthtoken", "bearer"} or not token.strip():
            raise InvalidToken()
        with self._db.read() as tx:
            stored = self._repo.find_token(tx, hash_token(token.strip()), "access")
            if stored is None or (stored.expires_time is not None
                                  and stored.expires_time <= self._clock()):
                raise InvalidToken()
            user = self._repo.find_user(tx, stored.user_id)
        if user is None or user.status != "active":
            raise InvalidToken()
        return Principal(user=user_from_stored(user), scopes=sc.parse_scopes(stored.scopes),
                         permissions=user.permissions)

    def principal_for_user(self, user_id: int) -> Principal | None:
        """The principal a background job acts as: the scheduling user's profile, no scopes."""
        with self._db.read() as tx:
            user = self._repo.find_user(tx, user_id)
        if user is None:
            return None
        return Principal(user=user_from_stored(user), scopes=(), permissions=user.permissions)

    # --- OAuth clients and grants --------------------------------------------------------------
    def create_client(self, name: str = "Corral client", redirect_uri: str | None = None,
                      user_email: str | None = None) -> tuple[str, str]:
        user = self.user_by_email(user_email)
        client_id, secret = new_client_id(), new_token("s").split(".", 1)[1].replace(".", "")
        with self._db.write() as tx:
            self._repo.add_client(tx, StoredClient(
                client_id=client_id, secret_hash=hash_token(secret), name=name,
                redirect_uri=redirect_uri, user_id=user.id, created_time=self._clock()))
        return client_id, secret

    def create_grant(self, client_id: str, scopes: str, *, user_email: str | None = None,
                     redirect_uri: str | None = None, expires_in: int = 600) -> str:
        canonical = sc.canonical_scopes(scopes)
        with self._db.read() as tx:
            client = self._repo.find_client(tx, client_id)
        if client is None:
            raise LookupError(f"no client {client_id}")
        user = self.user_by_email(user_email) if user_email else None
        code = new_token()
        with self._db.write() as tx:
            self._store(tx, code, "grant", user.id if user else client.user_id, canonical,
                        client_id=client_id, expires_in=expires_in, redirect_uri=redirect_uri)
        return code

    def _check_client(self, tx: Tx, client_id: str | None,
                      secret: str | None) -> StoredClient:
        if not client_id or not secret:
            raise OAuthError("invalid_client")
        client = self._repo.find_client(tx, client_id)
        if client is None or client.secret_hash != hash_token(secret):
            raise OAuthError("invalid_client")
        return client

    def token_endpoint(self, form: dict[str, str]) -> dict[str, Any]:
        """POST /oauth/v2/token: authorization_code, refresh_token, client_credentials."""
        grant_type = form.get("grant_type")
        now = self._clock()
        with self._db.write() as tx:
            client = self._check_client(tx, form.get("client_id"), form.get("client_secret"))
            if grant_type == "authorization_code":
                code = form.get("code") or ""
                grant = self._repo.find_token(tx, hash_token(code), "grant")
                if (grant is None or grant.used or grant.client_id != client.client_id
                        or (grant.expires_time is not None and grant.expires_time <= now)):
                    raise OAuthError("invalid_code")
                # Zoho Accounts refuses a redirect_uri other than the one the code was issued
                # for (`invalid_redirect_uri`, HTTP 200); self clients may omit it.
                expected_uri = grant.redirect_uri or client.redirect_uri
                given_uri = form.get("redirect_uri")
                if expected_uri and given_uri and given_uri != expected_uri:
                    raise OAuthError("invalid_redirect_uri")
                # Of two concurrent exchanges of one code only one burns it.
                if not self._repo.use_grant(tx, grant.token_hash):
                    raise OAuthError("invalid_code")
                refresh = new_token()
                self._store(tx, refresh, "refresh", grant.user_id, grant.scopes,
                            client_id=client.client_id)
                access = new_token()
                self._store(tx, access, "access", grant.user_id, grant.scopes,
                            client_id=client.client_id, expires_in=self._access_ttl,
                            parent=hash_token(refresh))
                return {"access_token": access, "refresh_token": refresh,
                        "scope": grant.scopes.replace(",", " "), "api_domain": None,
                        "token_type": "Bearer", "expires_in": self._access_ttl}
            if grant_type == "refresh_token":
                token = form.get("refresh_token") or ""
                stored = self._repo.find_token(tx, hash_token(token), "refresh")
                if stored is None or stored.client_id != client.client_id:
                    raise OAuthError("invalid_code")
                access = new_token()
                self._store(tx, access, "access", stored.user_id, stored.scopes,
                            client_id=client.client_id, expires_in=self._access_ttl,
                            parent=stored.token_hash)
                return {"access_token": access, "scope": stored.scopes.replace(",", " "),
                        "api_domain": None, "token_type": "Bearer",
                        "expires_in": self._access_ttl}
            if grant_type == "client_credentials":
                scope_text = form.get("scope") or ""
                try:
                    canonical = sc.canonical_scopes(scope_text)
                except sc.ScopeError:
                    raise OAuthError("invalid_scope") from None
                access = new_token()
                self._store(tx, access, "access", client.user_id, canonical,
                            client_id=client.client_id, expires_in=self._access_ttl)
                return {"access_token": access, "scope": canonical.replace(",", " "),
                        "api_domain": None, "token_type": "Bearer",
                        "expires_in": self._access_ttl}
        raise OAuthError("unsupported_grant_type")
