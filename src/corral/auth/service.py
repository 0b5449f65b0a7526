"""Token issue and verification, OAuth grant flows, and the principal a request acts as."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from corral.auth import scopes as sc
from corral.auth.tokens import RandomHex, hash_token, new_client_id, new_token
from corral.errors import AuthenticationFailure, InvalidToken, NoPermission, OAuthScopeMismatch
from corral.storage.database import Database, Tx
from corral.storage.repositories.auth import (
    AuthRepository,
    NewUser,
    StoredClient,
    StoredToken,
    StoredUser,
)
from corral.storage.repositories.roles import RoleRepository


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
    role: str  # the role's name
    status: str  # active | disabled | deleted
    role_id: int = 0
    confirmed: bool = True
    is_admin: bool = False  # the profile has admin rights
    created_time: datetime | None = None
    created_by: int | None = None
    modified_by: int | None = None
    modified_time: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)

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


# Zoho's authorization codes live two minutes (Zoho Accounts, "Authorization Request").
AUTH_CODE_TTL = 120


@dataclass(frozen=True)
class Authorization:
    """Where the authorize endpoint sends the browser back: a code, or an OAuth error code."""

    redirect_uri: str
    code: str | None = None
    error: str | None = None


def user_from_stored(stored: StoredUser) -> User:
    return User(id=stored.id, email=stored.email, first_name=stored.first_name,
                last_name=stored.last_name, zuid=stored.zuid, time_zone=stored.time_zone,
                profile_id=stored.profile_id, profile_name=stored.profile_name,
                role=stored.role, status=stored.status, role_id=stored.role_id,
                confirmed=stored.confirmed, is_admin=bool(stored.permissions.get("admin")),
                created_time=stored.created_time, created_by=stored.created_by,
                modified_by=stored.modified_by, modified_time=stored.modified_time,
                attributes=dict(stored.attributes))


class AuthService:
    def __init__(self, db: Database, clock: Callable[[], datetime], access_ttl: int = 3600):
        self._db = db
        self._clock = clock
        # Where tokens' randomness comes from (emulator mode's --seed replaces it).
        self.random_hex: RandomHex = secrets.token_hex
        self._access_ttl = access_ttl
        self._repo = AuthRepository()
        self._roles = RoleRepository()

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
        if email is None:  # the org's first active administrator
            admins = [u for u in users if u.is_admin and u.status == "active"]
            return (admins or users)[0]
        for u in users:
            if u.email.lower() == email.lower():
                return u
        raise LookupError(f"no user with email {email}")

    def create_user(self, email: str, last_name: str, *, first_name: str | None = None,
                    profile: str = "Standard", role: str | None = None,
                    time_zone: str = "UTC", confirmed: bool = True) -> User:
        """A new active user (role: the one named, else "Manager", else the top role);
        `UniqueViolation` when the email is taken."""
        user_id = self._db.new_id()
        with self._db.write() as tx:
            profile_id = self._repo.profile_id_named(tx, profile)
            if profile_id is None:
                raise LookupError(f"no profile named {profile}")
            found = self._roles.find_named(tx, role or "Manager")
            if found is None and role is None:
                found = next(iter(self._roles.all(tx)), None)
            if found is None:
                raise LookupError(f"no role named {role}")
            self._repo.add_user(tx, NewUser(
                id=user_id, zuid=str(user_id % 10**9), email=email, first_name=first_name,
                last_name=last_name, profile_id=profile_id, role_id=found.id,
                time_zone=time_zone, status="active", created_time=self._clock(),
                confirmed=confirmed))
        return self.user_by_email(email)

    # --- tokens ------------------------------------------------------------------------------
    def _store(self, tx: Tx, token: str, kind: str, user_id: int, scopes: str, *,
               client_id: str | None = None, expires_in: int | None = None,
               redirect_uri: str | None = None, parent: str | None = None,
               access_type: str | None = None) -> None:
        now = self._clock()
        self._repo.store_token(tx, StoredToken(
            token_hash=hash_token(token), kind=kind, client_id=client_id, user_id=user_id,
            scopes=scopes, redirect_uri=redirect_uri, parent_hash=parent, created_time=now,
            # None means no expiry (refresh tokens); 0 or less is already expired.
            expires_time=(None if expires_in is None
                          else now + timedelta(seconds=expires_in)),
            used=False, access_type=access_type))

    def create_access_token(self, user_id: int, scopes: str | list[str], *,
                            expires_in: int | None = None, client_id: str | None = None) -> str:
        canonical = sc.canonical_scopes(scopes)
        token = new_token(random_hex=self.random_hex)
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
        client_id = new_client_id(self.random_hex)
        secret = new_token("s", self.random_hex).split(".", 1)[1].replace(".", "")
        with self._db.write() as tx:
            self._repo.add_client(tx, StoredClient(
                client_id=client_id, secret_hash=hash_token(secret), name=name,
                redirect_uri=redirect_uri, user_id=user.id, created_time=self._clock()))
        return client_id, secret

    def create_grant(self, client_id: str, scopes: str, *, user_email: str | None = None,
                     redirect_uri: str | None = None, expires_in: int = 600,
                     access_type: str | None = None) -> str:
        canonical = sc.canonical_scopes(scopes)
        with self._db.read() as tx:
            client = self._repo.find_client(tx, client_id)
        if client is None:
            raise LookupError(f"no client {client_id}")
        user = self.user_by_email(user_email) if user_email else None
        code = new_token(random_hex=self.random_hex)
        with self._db.write() as tx:
            self._store(tx, code, "grant", user.id if user else client.user_id, canonical,
                        client_id=client_id, expires_in=expires_in, redirect_uri=redirect_uri,
                        access_type=access_type)
        return code

    def authorize(self, form: dict[str, str]) -> Authorization:
        """GET /oauth/v2/auth. Corral shows no consent page: a known client with a matching
        redirect URI gets, at once, a grant code for the user who owns the client.

        An unknown client or a redirect URI other than the registered one raises OAuthError
        (the browser must not be sent there); other failures go back to the redirect URI as
        `error=...`. A client registered without a redirect URI accepts any http(s) one.
        """
        with self._db.read() as tx:
            client = self._repo.find_client(tx, form.get("client_id") or "")
            owner = None if client is None else self._repo.find_user(tx, client.user_id)
        if client is None:
            raise OAuthError("invalid_client")
        redirect = form.get("redirect_uri") or client.redirect_uri or ""
        if (not redirect.startswith(("http://", "https://"))
                or (client.redirect_uri and redirect != client.redirect_uri)):
            raise OAuthError("invalid_redirect_uri")
        if form.get("response_type") != "code":
            return Authorization(redirect, error="unsupported_response_type")
        try:
            scopes = sc.canonical_scopes(form.get("scope") or "")
        except sc.ScopeError:
            return Authorization(redirect, error="invalid_scope")
        if owner is None or owner.status != "active":
            return Authorization(redirect, error="access_denied")
        access_type = "offline" if form.get("access_type") == "offline" else "online"
        code = new_token(random_hex=self.random_hex)
        with self._db.write() as tx:
            self._store(tx, code, "grant", owner.id, scopes, client_id=client.client_id,
                        expires_in=AUTH_CODE_TTL, redirect_uri=redirect,
                        access_type=access_type)
        return Authorization(redirect, code=code)

    def revoke(self, token: str) -> None:
        """POST /oauth/v2/token/revoke: a refresh token and the access tokens issued from it
        (or one access token) stop working. OAuthError("invalid_token") when unknown."""
        with self._db.write() as tx:
            if not token or not self._repo.revoke(tx, hash_token(token)):
                raise OAuthError("invalid_token")

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
        with self._db.write() as tx:
            client = self._check_client(tx, form.get("client_id"), form.get("client_secret"))
            if grant_type == "authorization_code":
                return self._exchange_code(tx, client, form)
            if grant_type == "refresh_token":
                token = form.get("refresh_token") or ""
                stored = self._repo.find_token(tx, hash_token(token), "refresh")
                if stored is None or stored.client_id != client.client_id:
                    raise OAuthError("invalid_code")
                return self._issue(tx, client, stored.user_id, stored.scopes,
                                   parent=stored.token_hash)
            if grant_type == "client_credentials":
                try:
                    canonical = sc.canonical_scopes(form.get("scope") or "")
                except sc.ScopeError:
                    raise OAuthError("invalid_scope") from None
                return self._issue(tx, client, client.user_id, canonical)
        raise OAuthError("unsupported_grant_type")

    def _exchange_code(self, tx: Tx, client: StoredClient,
                       form: dict[str, str]) -> dict[str, Any]:
        grant = self._repo.find_token(tx, hash_token(form.get("code") or ""), "grant")
        if (grant is None or grant.used or grant.client_id != client.client_id
                or (grant.expires_time is not None and grant.expires_time <= self._clock())):
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
        if grant.access_type == "online":  # access_type=online: no refresh token (Zoho)
            return self._issue(tx, client, grant.user_id, grant.scopes)
        refresh = new_token(random_hex=self.random_hex)
        self._store(tx, refresh, "refresh", grant.user_id, grant.scopes,
                    client_id=client.client_id)
        issued = self._issue(tx, client, grant.user_id, grant.scopes,
                             parent=hash_token(refresh))
        return {**issued, "refresh_token": refresh}

    def _issue(self, tx: Tx, client: StoredClient, user_id: int, scopes: str, *,
               parent: str | None = None) -> dict[str, Any]:
        """A new access token; `api_domain` is filled in by the API (it knows the URL)."""
        access = new_token(random_hex=self.random_hex)
        self._store(tx, access, "access", user_id, scopes, client_id=client.client_id,
                    expires_in=self._access_ttl, parent=parent)
        return {"access_token": access, "scope": scopes.replace(",", " "), "api_domain": None,
                "token_type": "Bearer", "expires_in": self._access_ttl}

    # --- console sessions ------------------------------------------------------------------
    # A console session is a server-side row of `oauth_tokens` of kind "console": the browser
    # holds the random session id in an HttpOnly cookie, the database only its hash. It carries
    # the scopes of the token (or grant) it was opened with, so the console is refused exactly
    # what the API would refuse that token; it is never accepted as an API bearer token.
    def open_console_session(self, user_id: int, scopes: str, ttl: int,
                             parent: str | None = None) -> str:
        """A new session; `parent` (a token's hash) ends it when that token is revoked."""
        session = new_token()
        with self._db.write() as tx:
            self._store(tx, session, "console", user_id, scopes, expires_in=ttl, parent=parent)
        return session

    def session_from_token(self, token: str, ttl: int) -> str:
        """Open a console session for the holder of a valid access token (its scopes; expiring
        with the token when that comes sooner)."""
        principal = self.authenticate(f"Zoho-oauthtoken {token}")
        with self._db.read() as tx:
            stored = self._repo.find_token(tx, hash_token(token.strip()), "access")
        if stored is None:
            raise InvalidToken()
        if stored.expires_time is not None:
            left = int((stored.expires_time - self._clock()).total_seconds())
            ttl = max(1, min(ttl, left))
        return self.open_console_session(principal.user.id, stored.scopes, ttl,
                                         parent=stored.token_hash)

    def console_principal(self, session: str | None) -> Principal:
        if not session:
            raise AuthenticationFailure()
        with self._db.read() as tx:
            stored = self._repo.find_token(tx, hash_token(session), "console")
            if stored is None or (stored.expires_time is not None
                                  and stored.expires_time <= self._clock()):
                raise InvalidToken()
            user = self._repo.find_user(tx, stored.user_id)
        if user is None or user.status != "active":
            raise InvalidToken()
        return Principal(user=user_from_stored(user), scopes=sc.parse_scopes(stored.scopes),
                         permissions=user.permissions)

    def close_console_session(self, session: str) -> None:
        with self._db.write() as tx:
            self._repo.delete_token(tx, hash_token(session), "console")

    def redeem_console_code(self, code: str, client_id: str, redirect_uri: str,
                            ttl: int) -> str:
        """The console's end of the authorization-code flow against Corral itself: the code
        (issued for `client_id` and sent to the console's own callback) is burnt and becomes a
        console session with the grant's scopes. No token leaves the server, so the client
        secret (which guards the token endpoint) is not asked for."""
        with self._db.write() as tx:
            grant = self._repo.find_token(tx, hash_token(code), "grant")
            if (grant is None or grant.used or grant.client_id != client_id
                    or grant.redirect_uri != redirect_uri
                    or (grant.expires_time is not None and grant.expires_time <= self._clock())
                    or not self._repo.use_grant(tx, grant.token_hash)):
                raise OAuthError("invalid_code")
            session = new_token()
            self._store(tx, session, "console", grant.user_id, grant.scopes, expires_in=ttl)
        return session
