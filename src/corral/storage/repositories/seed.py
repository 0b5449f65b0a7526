"""The first-start seed written in one transaction: org, profiles, admin user, modules, fields,
system views and the metadata version counter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from corral.storage.database import Tx
from corral.storage.repositories.auth import AuthRepository, NewUser, Profile
from corral.storage.repositories.metadata import (
    FieldDefinition,
    MetadataRepository,
    ModuleDefinition,
    Org,
    ViewDefinition,
)
from corral.storage.repositories.roles import Role, RoleRepository


@dataclass(frozen=True)
class Seed:
    org: Org
    profiles: Sequence[Profile]
    roles: Sequence[Role]
    admin: NewUser
    modules: Sequence[ModuleDefinition]
    fields: Sequence[FieldDefinition]
    views: Sequence[ViewDefinition]


class SeedWriter:
    def __init__(self) -> None:
        self._auth = AuthRepository()
        self._roles = RoleRepository()
        self._metadata = MetadataRepository()

    def is_seeded(self, tx: Tx) -> bool:
        """The seed is one transaction, so an org row means all of it is there."""
        return self._metadata.has_org(tx)

    def has_module(self, tx: Tx, api_name: str) -> bool:
        return self._metadata.module_api_name_taken(tx, api_name)

    def last_module_sequence(self, tx: Tx) -> int:
        return self._metadata.last_module_sequence(tx)

    def add_modules(self, tx: Tx, modules: Sequence[ModuleDefinition],
                    fields: Sequence[FieldDefinition], views: Sequence[ViewDefinition]) -> None:
        """Modules added after the first seed; bumps the metadata version so every process
        reloads its cache."""
        self._metadata.add_modules(tx, modules, fields, views)
        self._metadata.bump_version(tx)

    def write(self, tx: Tx, seed: Seed) -> None:
        self._metadata.add_org(tx, seed.org)
        self._auth.add_profiles(tx, seed.profiles)
        self._roles.add(tx, seed.roles)
        self._auth.add_user(tx, seed.admin)
        self._metadata.add_modules(tx, seed.modules, seed.fields, seed.views)
        self._metadata.start_version(tx)
