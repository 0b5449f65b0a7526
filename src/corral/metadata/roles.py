"""Roles (the reporting hierarchy) and profiles (what users may do in each module).

A profile's module permissions are exposed as Zoho's `permissions_details`: one entry per
module and action (`Crm_Implied_View_Leads` ...), whose id is the module's id plus 0..3 for
view, create, edit, delete (Corral has no permission table; these ids are stable).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from corral.auth.service import Principal
from corral.errors import (
    DuplicateData,
    InvalidData,
    MandatoryNotFound,
    NoPermission,
    NotAllowed,
    RequiredParamMissing,
    UnableToParseDataType,
)
from corral.metadata.model import Module
from corral.metadata.registry import Registry
from corral.metadata.users import parse_id
from corral.storage.database import Database, Tx
from corral.storage.errors import UniqueViolation
from corral.storage.repositories.auth import AuthRepository, Profile
from corral.storage.repositories.roles import Role, RoleRepository

ACTIONS = ("view", "create", "edit", "delete")
ROLE_NAME_LIMIT = 50
PROFILE_NAME_LIMIT = 50  # profiles.json: Violating_Name_Length
PROFILE_DESCRIPTION_LIMIT = 250


@dataclass(frozen=True)
class Permission:
    """One entry of a profile's `permissions_details`."""

    id: int
    module: Module
    action: str
    enabled: bool

    @property
    def name(self) -> str:
        return f"Crm_Implied_{self.action.title()}_{self.module.api_name}"


def _admin(principal: Principal, verb: str) -> None:
    if not principal.is_admin:
        raise NoPermission(f"Permission denied to {verb}")


def _param_id(value: str | None, name: str) -> int:
    """A required id query parameter (`transfer_to_id`, `transfer_to`)."""
    if not value:
        raise RequiredParamMissing(details={"param_name": name})
    found = parse_id(value)
    if found is None:
        raise UnableToParseDataType(details={"param_name": name})
    return found


def _name(spec: dict[str, Any], root: str, limit: int, *, required: bool) -> str | None:
    value = spec.get("name")
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise MandatoryNotFound(details={"api_name": "name", "json_path": f"{root}.name"})
        return None
    if not isinstance(value, str):
        raise InvalidData(details={"api_name": "name", "json_path": f"{root}.name",
                                   "expected_data_type": "text"})
    if len(value.strip()) > limit:
        raise InvalidData(details={"api_name": "name", "json_path": f"{root}.name",
                                   "maximum_length": limit})
    return value.strip()


def _optional_text(spec: dict[str, Any], key: str, root: str, limit: int) -> str | None:
    value = spec.get(key)
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise InvalidData(details={"api_name": key, "json_path": f"{root}.{key}"})
    return value


def _duplicate_role(root: str) -> DuplicateData:
    return DuplicateData("Failed to add role since role with same name is already exist",
                         {"api_name": "name", "json_path": f"{root}.name"})


class RoleService:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock
        self._repo = RoleRepository()
        self._users = AuthRepository()

    def list(self) -> builtins.list[Role]:
        with self.db.read() as tx:
            return self._repo.all(tx)

    def get(self, role_id: int | None) -> Role | None:
        with self.db.read() as tx:
            return self._repo.find(tx, role_id or 0)

    def create(self, spec: Any, principal: Principal) -> int:
        """POST /settings/roles (one role); reports to the top role unless told otherwise."""
        _admin(principal, "create")
        root = "$.roles[0]"
        if not isinstance(spec, dict):
            raise InvalidData(details={"api_name": "roles", "json_path": root})
        name = _name(spec, root, ROLE_NAME_LIMIT, required=True)
        assert name is not None
        role_id = self.db.new_id()
        now = self.clock()
        try:
            with self.db.write() as tx:
                top = next(iter(self._repo.all(tx)), None)
                role = self._apply(tx, Role(
                    id=role_id, name=name, reporting_to=top.id if top else None,
                    share_with_peers=False, created_by=principal.user.id, created_time=now,
                    modified_by=principal.user.id, modified_time=now), spec, root)
                self._repo.add(tx, [role])
        except UniqueViolation:  # a concurrent request took the name
            raise _duplicate_role(root) from None
        return role_id

    def update(self, role_id: int | None, spec: Any, principal: Principal) -> int:
        """PUT /settings/roles/{id} or PUT /settings/roles (the body's `id`)."""
        _admin(principal, "update")
        root = "$.roles[0]"
        if not isinstance(spec, dict):
            raise InvalidData(details={"api_name": "roles", "json_path": root})
        from_path = role_id is not None
        if role_id is None:
            if spec.get("id") is None:
                raise MandatoryNotFound(details={"api_name": "id", "json_path": f"{root}.id"})
            role_id = parse_id(spec["id"])
        try:
            with self.db.write() as tx:
                role = self._repo.find(tx, role_id or 0)
                if role is None:
                    raise InvalidData("the given role id seems invalid",
                                      {"resource_path_index": 2} if from_path
                                      else {"api_name": "id", "json_path": f"{root}.id"})
                changed = self._apply(tx, replace(role, modified_by=principal.user.id,
                                                  modified_time=self.clock()), spec, root)
                self._repo.update(tx, changed)
        except UniqueViolation:
            raise _duplicate_role(root) from None
        return role.id

    def _apply(self, tx: Tx, role: Role, spec: dict[str, Any], root: str) -> Role:
        """`role` with the spec's name, reporting_to, description, share_with_peers and
        forecast_manager, each checked."""
        name = _name(spec, root, ROLE_NAME_LIMIT, required=False)
        if name is not None:
            if "#" in name:
                raise InvalidData("Role name should not contain the following special "
                                  "character(s):#", {"api_name": "name",
                                                     "json_path": f"{root}.name"})
            other = self._repo.find_named(tx, name)
            if other is not None and other.id != role.id:
                raise _duplicate_role(root)
            role = replace(role, name=name)
        if spec.get("reporting_to") is not None:
            role = replace(role, reporting_to=self._superior(tx, role, spec["reporting_to"],
                                                             root))
        if "description" in spec:
            role = replace(role, description=_optional_text(spec, "description", root, 250))
        if "share_with_peers" in spec:
            if not isinstance(spec["share_with_peers"], bool):
                raise InvalidData(details={"api_name": "share_with_peers",
                                           "json_path": f"{root}.share_with_peers",
                                           "expected_data_type": "boolean"})
            role = replace(role, share_with_peers=spec["share_with_peers"])
        if spec.get("forecast_manager") is not None:
            manager = parse_id(spec["forecast_manager"])
            if manager is None or self._users.find_user(tx, manager) is None:
                raise InvalidData("the id given seems to be invalid",
                                  {"api_name": "forecast_manager",
                                   "json_path": f"{root}.forecast_manager"})
            role = replace(role, forecast_manager=manager)
        return role

    def _superior(self, tx: Tx, role: Role, value: Any, root: str) -> int:
        """The role `role` may report to: an existing one, never itself or below it."""
        bad = InvalidData("the id given seems to be invalid or already deleted",
                          {"api_name": "reporting_to", "json_path": f"{root}.reporting_to"})
        target = parse_id(value)
        chain = target
        while chain is not None:
            if chain == role.id:
                raise bad
            found = self._repo.find(tx, chain)
            if found is None:
                raise bad
            chain = found.reporting_to
        assert target is not None
        return target

    def delete(self, role_id: int | None, transfer_to: str | None,
               principal: Principal) -> None:
        """DELETE /settings/roles/{id}?transfer_to_id=: its users (and the roles reporting
        to it) move to the other role."""
        _admin(principal, "delete")
        target = _param_id(transfer_to, "transfer_to_id")
        with self.db.write() as tx:
            role = self._repo.find(tx, role_id or 0)
            if role is None:
                raise InvalidData("the id given seems to be invalid", {"resource_path_index": 2})
            if role.reporting_to is None:
                raise NotAllowed("the top role of the hierarchy cannot be deleted")
            if target == role.id or self._repo.find(tx, target) is None:
                raise InvalidData("the id given seems to be invalid",
                                  {"param_name": "transfer_to_id"})
            self._repo.delete(tx, role.id, target)


class ProfileService:
    def __init__(self, db: Database, registry: Registry, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.registry = registry
        self.clock = clock
        self._repo = AuthRepository()

    def list(self) -> builtins.list[Profile]:
        with self.db.read() as tx:
            return self._repo.all_profiles(tx)

    def get(self, profile_id: int | None) -> Profile | None:
        with self.db.read() as tx:
            return self._repo.find_profile(tx, profile_id or 0)

    def permissions(self, profile: Profile) -> builtins.list[Permission]:
        """Every module's view/create/edit/delete permission and whether the profile has it."""
        self.registry.refresh()
        mods = profile.permissions.get("modules", {})
        out = []
        for module in self.registry.modules():
            allowed = mods.get(module.api_name, mods.get("*", []))
            out += [Permission(module.id + k, module, action, action in allowed)
                    for k, action in enumerate(ACTIONS)]
        return out

    def clone(self, source_id: int | None, spec: Any, principal: Principal) -> int:
        """POST /settings/profiles/{id}/actions/clone: a custom profile with the source's
        permissions, its own name and description."""
        _admin(principal, "create")
        root = "$.profiles[0]"
        if not isinstance(spec, dict):
            raise InvalidData(details={"api_name": "profiles", "json_path": root})
        name = _name(spec, root, PROFILE_NAME_LIMIT, required=True)
        assert name is not None
        description = _optional_text(spec, "description", root, PROFILE_DESCRIPTION_LIMIT)
        profile_id = self.db.new_id()
        now = self.clock()
        try:
            with self.db.write() as tx:
                source = self._repo.find_profile(tx, source_id or 0)
                if source is None:
                    raise InvalidData("the id given seems to be invalid or already deleted")
                self._unique_name(tx, name, None)
                self._repo.add_profiles(tx, [Profile(
                    id=profile_id, name=name, permissions=dict(source.permissions),
                    description=description, custom=True, created_by=principal.user.id,
                    created_time=now, modified_by=principal.user.id, modified_time=now)])
        except UniqueViolation:  # a concurrent clone took the name
            raise DuplicateData(details={"api_name": "name", "json_path": f"{root}.name"}
                                ) from None
        return profile_id

    def _unique_name(self, tx: Tx, name: str, besides: int | None) -> None:
        for other in self._repo.all_profiles(tx):
            if other.name.lower() == name.lower() and other.id != besides:
                raise DuplicateData(details={"api_name": "name", "id": str(other.id)})

    def update(self, profile_id: int | None, spec: Any, principal: Principal) -> int:
        """PUT /settings/profiles/{id}: name, description, and `permissions_details`
        (`[{"id", "enabled"}]`). The administrator profile's permissions stay as they are."""
        _admin(principal, "update")
        root = "$.profiles[0]"
        if not isinstance(spec, dict):
            raise InvalidData(details={"api_name": "profiles", "json_path": root})
        try:
            with self.db.write() as tx:
                profile = self._repo.find_profile(tx, profile_id or 0)
                if profile is None:
                    raise InvalidData("the id given seems to be invalid or already deleted")
                name = _name(spec, root, PROFILE_NAME_LIMIT, required=False)
                if name is not None:
                    self._unique_name(tx, name, profile.id)
                    profile = replace(profile, name=name)
                if "description" in spec:
                    profile = replace(profile, description=_optional_text(
                        spec, "description", root, PROFILE_DESCRIPTION_LIMIT))
                if "permissions_details" in spec:
                    profile = replace(profile, permissions=self._toggled(
                        profile, spec["permissions_details"]))
                self._repo.update_profile(tx, replace(profile, modified_by=principal.user.id,
                                                      modified_time=self.clock()))
        except UniqueViolation:  # a concurrent request took the name
            raise DuplicateData(details={"api_name": "name", "json_path": f"{root}.name"}
                                ) from None
        return profile.id

    def _toggled(self, profile: Profile, items: Any) -> dict[str, Any]:
        if profile.permissions.get("admin"):
            raise NotAllowed("the permissions of the administrator profile cannot be changed")
        bad = InvalidData(details={"api_name": "permissions_details",
                                   "expected_data_type": "jsonarray"})
        if not isinstance(items, list):
            raise bad
        by_id = {p.id: p for p in self.permissions(profile)}
        mods: dict[str, builtins.list[str]] = {}
        for p in by_id.values():
            if p.enabled:
                mods.setdefault(p.module.api_name, []).append(p.action)
        for i, item in enumerate(items):
            found = by_id.get(parse_id(item) or 0) if isinstance(item, dict) else None
            if found is None or not isinstance(item.get("enabled"), bool):
                raise InvalidData(details={"api_name": "permissions_details", "index": i,
                                           "json_path": f"$.profiles[0].permissions_details[{i}]"})
            actions = mods.setdefault(found.module.api_name, [])
            if item["enabled"] and found.action not in actions:
                actions.append(found.action)
            elif not item["enabled"] and found.action in actions:
                actions.remove(found.action)
        # Every module is named; the "*" wildcard stays for modules added later.
        explicit = {m.api_name: mods.get(m.api_name, []) for m in self.registry.modules()}
        wildcard = profile.permissions.get("modules", {}).get("*", [])
        return {**profile.permissions, "modules": {"*": wildcard, **explicit}}

    def delete(self, profile_id: int | None, transfer_to: str | None,
               principal: Principal) -> int:
        """DELETE /settings/profiles/{id}?transfer_to=: its users move to the other profile.
        Only custom (cloned) profiles can be deleted."""
        _admin(principal, "delete")
        target = _param_id(transfer_to, "transfer_to")
        with self.db.write() as tx:
            profile = self._repo.find_profile(tx, profile_id or 0)
            if profile is None:
                raise InvalidData("the id given seems to be invalid or already deleted")
            if not profile.custom:
                raise InvalidData("The action given is invalid")
            if target == profile.id or self._repo.find_profile(tx, target) is None:
                raise InvalidData("the id given seems to be invalid or already deleted",
                                  {"param_name": "transfer_to"})
            self._repo.delete_profile(tx, profile.id, target)
        return profile.id
