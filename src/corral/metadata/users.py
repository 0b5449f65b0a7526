"""The people of the org: users (add, change, deactivate, delete) and who may do that.

Corral sends no invitations: a user added through the API has accepted at once (confirmed,
with a ZUID). `corral user add --unconfirmed` makes one that has not, for NotConfirmedUsers.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from corral.auth.service import Principal, User, user_from_stored
from corral.errors import (
    CannotUpdateDeletedUser,
    DuplicateData,
    EmailUpdateNotAllowed,
    IdAlreadyActive,
    IdAlreadyDeactivated,
    IdAlreadyDeleted,
    InvalidData,
    InvalidRequest,
    MandatoryNotFound,
    NoPermission,
    NotAllowed,
)
from corral.storage.database import Database, Tx
from corral.storage.errors import UniqueViolation
from corral.storage.repositories.auth import AuthRepository, NewUser
from corral.storage.repositories.roles import RoleRepository

# GET /users?type= (Zoho's documented list; the OAS enum names six of them).
USER_TYPES = ("AllUsers", "ActiveUsers", "DeactiveUsers", "ConfirmedUsers", "NotConfirmedUsers",
              "DeletedUsers", "ActiveConfirmedUsers", "AdminUsers", "ActiveConfirmedAdmins",
              "CurrentUser")
ID_RE = re.compile(r"^[0-9]{1,19}$")
EMAIL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
NAME_LIMIT = 50  # first_name / last_name (OAS users.json maxLength)

# Further user keys PUT /users may set, with the values GET shows until they are set.
ATTRIBUTE_DEFAULTS: dict[str, Any] = {
    "phone": None, "mobile": None, "fax": None, "website": None, "dob": None, "alias": None,
    "street": None, "city": None, "state": None, "zip": None, "country": "US",
    "signature": None, "Currency": None, "locale": "en_US", "country_locale": "en_US",
    "language": "en_US", "date_format": "MM/dd/yyyy", "time_format": "hh:mm a",
    "name_format__s": "Salutation,First Name,Last Name",
    "sort_order_preference__s": "First Name,Last Name", "decimal_separator": "Period",
    "number_separator": "Comma",
}
_ENUMS: dict[str, frozenset[str]] = {
    "time_format": frozenset({"HH:mm", "hh:mm a"}),
    "decimal_separator": frozenset({"Comma", "Period"}),
    "number_separator": frozenset({"Comma", "Period", "Space"}),
    "name_format__s": frozenset({"Salutation,First Name,Last Name",
                                 "Salutation,Last Name,First Name",
                                 "First Name,Last Name,Salutation"}),
    "sort_order_preference__s": frozenset({"First Name,Last Name", "Last Name,First Name"}),
}
# Preferences a user sets for themself only (Zoho: NOT_ALLOWED for another user's).
_OWN_ONLY = frozenset({"name_format__s", "sort_order_preference__s"})
_STATUS_IN = {"active": "active", "inactive": "disabled", "disabled": "disabled"}


def parse_id(value: Any) -> int | None:
    """An id given as digits, a number, or `{"id": ...}`."""
    raw = value.get("id") if isinstance(value, dict) else value
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return None
    text = str(raw).strip()
    return int(text) if ID_RE.match(text) and 0 < int(text) < 2**63 else None


def selects(kind: str, user: User, me: int) -> bool:
    """Whether `user` is listed by GET /users?type=`kind` (asked by user `me`)."""
    active, deleted = user.status == "active", user.status == "deleted"
    return {
        "AllUsers": True,
        "ActiveUsers": active,
        "DeactiveUsers": user.status == "disabled",
        "ConfirmedUsers": user.confirmed and not deleted,
        "NotConfirmedUsers": not user.confirmed and not deleted,
        "DeletedUsers": deleted,
        "ActiveConfirmedUsers": active and user.confirmed,
        "AdminUsers": user.is_admin and not deleted,
        "ActiveConfirmedAdmins": user.is_admin and active and user.confirmed,
        "CurrentUser": user.id == me,
    }[kind]


def primary_contact(users: builtins.list[User]) -> User | None:
    """The org's primary contact: its first admin (the seed's), never deleted or demoted."""
    admins = [u for u in users if u.is_admin and u.status != "deleted"]
    return min(admins, key=lambda u: u.id) if admins else None


@dataclass(frozen=True)
class _Path:
    """Where a body value sits, for error details: `$.users[0].email`."""

    root: str

    def of(self, key: str) -> dict[str, str]:
        return {"api_name": key, "json_path": f"{self.root}.{key}"}


def _text(spec: dict[str, Any], key: str, at: _Path, *, limit: int = 250,
          required: bool = False) -> str | None:
    value = spec.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise MandatoryNotFound(details=at.of(key))
        return None
    if not isinstance(value, str):
        raise InvalidData(details={**at.of(key), "expected_data_type": "text"})
    if len(value) > limit:
        raise InvalidData(details={**at.of(key), "maximum_length": limit})
    return value.strip()


def _email(spec: dict[str, Any], at: _Path, *, required: bool) -> str | None:
    value = _text(spec, "email", at, limit=100, required=required)
    if value is None:
        return None
    # Syntax only: a local org may use special-use domains (the seed's admin@corral.local),
    # which email-validator refuses.
    if not EMAIL_RE.match(value):
        raise InvalidData(details=at.of("email"))
    return value


def _time_zone(spec: dict[str, Any], at: _Path) -> str | None:
    value = spec.get("time_zone")
    if value is None:
        return None
    try:
        if not isinstance(value, str) or not value:
            raise ValueError(value)
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError):
        raise InvalidData(details=at.of("time_zone")) from None
    return value


def _attributes(spec: dict[str, Any], at: _Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ATTRIBUTE_DEFAULTS.keys() & spec.keys():
        value = _text(spec, key, at)
        if value is not None and key in _ENUMS and value not in _ENUMS[key]:
            raise InvalidData(details={**at.of(key), "supported_values": sorted(_ENUMS[key])})
        if value is not None and key == "dob":
            try:
                value = date.fromisoformat(value).isoformat()
            except ValueError:
                raise InvalidData(details={**at.of(key), "expected_data_type": "date"}) from None
        out[key] = value
    return out


class UserAdminService:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock
        self._repo = AuthRepository()
        self._roles = RoleRepository()

    # ------------------------------------------------------------------ read
    def users(self) -> builtins.list[User]:
        with self.db.read() as tx:
            return [user_from_stored(u) for u in self._repo.all_users(tx)]

    def list(self, kind: str, principal: Principal) -> builtins.list[User]:
        """Users of one `type`, in id order (`kind` must be one of USER_TYPES)."""
        return [u for u in self.users() if selects(kind, u, principal.user.id)]

    # ------------------------------------------------------------------ write
    def create(self, spec: Any, principal: Principal) -> int:
        """POST /users (one user): a new active, confirmed user; its id."""
        if not principal.is_admin:
            raise NoPermission("Permission denied to create")
        at = _Path("$.users[0]")
        if not isinstance(spec, dict):
            raise InvalidData(details={"api_name": "users", "expected_data_type": "jsonobject",
                                       "json_path": at.root})
        last_name = _text(spec, "last_name", at, limit=NAME_LIMIT, required=True)
        first_name = _text(spec, "first_name", at, limit=NAME_LIMIT)
        email = _email(spec, at, required=True)
        assert last_name is not None and email is not None
        for key in ("role", "profile"):
            if spec.get(key) is None:
                raise MandatoryNotFound(details=at.of(key))
        time_zone = _time_zone(spec, at) or principal.user.time_zone
        attributes = _attributes(spec, at)
        user_id = self.db.new_id()
        duplicate = DuplicateData("Failed to add user since same email id is already present",
                                  at.of("email"))
        try:
            with self.db.write() as tx:
                role_id, profile_id = self._role_and_profile(tx, spec, at)
                if self._repo.email_taken(tx, email):
                    raise duplicate
                assert role_id is not None and profile_id is not None
                self._repo.add_user(tx, NewUser(
                    id=user_id, zuid=str(user_id % 10**9), email=email, first_name=first_name,
                    last_name=last_name, profile_id=profile_id, role_id=role_id,
                    time_zone=time_zone, status="active", created_time=self.clock(),
                    attributes=attributes, created_by=principal.user.id))
        except UniqueViolation:  # a concurrent request took the email
            raise duplicate from None
        return user_id

    def _role_and_profile(self, tx: Tx, spec: dict[str, Any],
                          at: _Path) -> tuple[int | None, int | None]:
        """The role and profile ids the spec names (None: not given); INVALID_DATA when
        one names nothing."""
        found: dict[str, int | None] = {}
        for key in ("role", "profile"):
            found[key] = None if spec.get(key) is None else parse_id(spec[key])
            exists = found[key] is not None and (
                self._roles.find(tx, found[key] or 0) is not None if key == "role"
                else self._repo.find_profile(tx, found[key] or 0) is not None)
            if spec.get(key) is not None and not exists:
                raise InvalidData("the id given seems to be invalid", at.of(key))
        return found["role"], found["profile"]

    def update(self, user_id: int | None, spec: Any, principal: Principal) -> int:
        """PUT /users/{id} (`user_id`) or PUT /users (the body's `id`); the user's id."""
        at = _Path("$.users[0]")
        if not isinstance(spec, dict):
            raise InvalidData(details={"api_name": "users", "expected_data_type": "jsonobject",
                                       "json_path": at.root})
        from_path = user_id is not None
        if user_id is None:
            if spec.get("id") is None:
                raise MandatoryNotFound(details=at.of("id"))
            user_id = parse_id(spec["id"])
        try:
            with self.db.write() as tx:
                stored = self._repo.find_user(tx, user_id or 0)
                if stored is None:
                    raise InvalidData("the id given seems to be invalid",
                                      {"resource_path_index": 1} if from_path else at.of("id"))
                target = user_from_stored(stored)
                changes = self._changes(tx, target, spec, principal, at)
                if changes:
                    self._repo.update_user(tx, target.id, changes,
                                           modified_by=principal.user.id,
                                           modified_time=self.clock())
        except UniqueViolation:  # a concurrent request took the new email
            raise DuplicateData(details=at.of("email")) from None
        return target.id

    def _changes(self, tx: Tx, target: User, spec: dict[str, Any], principal: Principal,
                 at: _Path) -> dict[str, Any]:
        """The columns a PUT changes, after every rule about who may change what."""
        me, admin = principal.user, principal.is_admin
        if target.status == "deleted":
            raise CannotUpdateDeletedUser()
        if not admin and target.id != me.id:
            raise NoPermission("Permission denied to update")
        changes: dict[str, Any] = {}
        for key in ("first_name", "last_name"):
            if key in spec:
                changes[key] = _text(spec, key, at, limit=NAME_LIMIT,
                                     required=key == "last_name")
        if "email" in spec:
            changes.update(self._email_change(tx, target, spec, at))
        if "time_zone" in spec:
            if target.id != me.id:
                raise InvalidData("You are trying to update the time_zone of another user",
                                  at.of("time_zone"), status=415)
            changes["time_zone"] = _time_zone(spec, at)
        attributes = _attributes(spec, at)
        if _OWN_ONLY & attributes.keys() and target.id != me.id:
            raise NotAllowed("You are trying to update the name format and sort order "
                             "preference for another user")
        if attributes:
            changes["attributes"] = {**target.attributes, **attributes}
        changes.update(self._admin_changes(tx, target, spec, principal, at))
        return changes

    def _email_change(self, tx: Tx, target: User, spec: dict[str, Any],
                      at: _Path) -> dict[str, Any]:
        email = _email(spec, at, required=True)
        assert email is not None
        if email.lower() == target.email.lower():
            return {}
        if target.confirmed:
            raise EmailUpdateNotAllowed()
        if self._repo.email_taken(tx, email, besides=target.id):
            raise DuplicateData(details=at.of("email"))
        return {"email": email}

    def _admin_changes(self, tx: Tx, target: User, spec: dict[str, Any],
                       principal: Principal, at: _Path) -> dict[str, Any]:
        """Role, profile and status: an admin's to change (AUTHORIZATION_FAILED-like 403
        otherwise); the primary contact stays an active admin."""
        wanted = {k for k in ("role", "profile", "status") if spec.get(k) is not None}
        if not wanted:
            return {}
        if not principal.is_admin:
            raise NoPermission("The current user does not have permission to update the "
                               "profile and role of another user")
        role_id, profile_id = self._role_and_profile(tx, spec, at)
        changes: dict[str, Any] = {}
        if role_id is not None:
            changes["role_id"] = role_id
        primary = primary_contact([user_from_stored(u) for u in self._repo.all_users(tx)])
        is_primary = primary is not None and primary.id == target.id
        if profile_id is not None:
            profile = self._repo.find_profile(tx, profile_id)
            if is_primary and profile is not None and not profile.permissions.get("admin"):
                raise NotAllowed("The primary contact's profile must be an administrator one",
                                 at.of("profile"))
            changes["profile_id"] = profile_id
        if "status" in wanted:
            changes.update(self._status_change(target, spec, at, is_primary=is_primary))
        return changes

    @staticmethod
    def _status_change(target: User, spec: dict[str, Any], at: _Path, *,
                       is_primary: bool) -> dict[str, Any]:
        status = _STATUS_IN.get(spec["status"]) if isinstance(spec["status"], str) else None
        if status is None:
            raise InvalidData(details={**at.of("status"),
                                       "supported_values": ["active", "inactive"]})
        if status == target.status:
            raise IdAlreadyActive() if status == "active" else IdAlreadyDeactivated()
        if status == "disabled" and is_primary:
            raise InvalidRequest("Primary Contact cannot be deactivated")
        return {"status": status}

    def delete(self, user_id: int | None, principal: Principal) -> None:
        """DELETE /users/{id}: the user stays, with status `deleted` (Zoho lists deleted
        users under type=DeletedUsers); their records keep their owner."""
        if not principal.is_admin:
            raise NoPermission("Permission denied to delete")
        with self.db.write() as tx:
            stored = self._repo.find_user(tx, user_id or 0)
            if stored is None:
                raise InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
            if stored.status == "deleted":
                raise IdAlreadyDeleted()
            primary = primary_contact([user_from_stored(u) for u in self._repo.all_users(tx)])
            if primary is not None and primary.id == stored.id:
                raise InvalidRequest("Primary contact cannot be deleted")
            self._repo.update_user(tx, stored.id, {"status": "deleted"},
                                   modified_by=principal.user.id, modified_time=self.clock())

