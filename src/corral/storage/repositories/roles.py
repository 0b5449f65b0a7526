"""The role hierarchy: roles, who reports to whom, and moving users between roles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class Role:
    id: int
    name: str
    reporting_to: int | None = None  # None: the top of the hierarchy
    description: str | None = None
    share_with_peers: bool = True
    forecast_manager: int | None = None
    created_by: int | None = None
    created_time: datetime | None = None
    modified_by: int | None = None
    modified_time: datetime | None = None


def _role(row: Any) -> Role:
    return Role(**{f.name: getattr(row, f.name) for f in fields(Role)})


class RoleRepository:
    def all(self, tx: Tx) -> list[Role]:
        """Every role, the top first, then in id order."""
        rows = tx.execute(sa.select(t.roles).order_by(
            t.roles.c.reporting_to.is_not(None), t.roles.c.id))
        return [_role(r) for r in rows]

    def find(self, tx: Tx, role_id: int) -> Role | None:
        row = tx.execute(sa.select(t.roles).where(t.roles.c.id == role_id)).first()
        return None if row is None else _role(row)

    def find_named(self, tx: Tx, name: str) -> Role | None:
        row = tx.execute(sa.select(t.roles).where(
            sa.func.lower(t.roles.c.name) == name.lower())).first()
        return None if row is None else _role(row)

    def add(self, tx: Tx, roles: Sequence[Role]) -> None:
        """`Database.write()` raises `UniqueViolation` when a name is taken."""
        if roles:
            tx.execute(sa.insert(t.roles),
                       [{f.name: getattr(r, f.name) for f in fields(Role)} for r in roles])

    def update(self, tx: Tx, role: Role) -> None:
        tx.execute(sa.update(t.roles).where(t.roles.c.id == role.id).values(
            {f.name: getattr(role, f.name) for f in fields(Role) if f.name != "id"}))

    def delete(self, tx: Tx, role_id: int, transfer_to: int) -> None:
        """Move the role's users and the roles reporting to it to `transfer_to`; delete it."""
        tx.execute(sa.update(t.users).where(t.users.c.role_id == role_id)
                   .values(role_id=transfer_to))
        tx.execute(sa.update(t.roles).where(t.roles.c.reporting_to == role_id)
                   .values(reporting_to=transfer_to))
        tx.execute(sa.delete(t.roles).where(t.roles.c.id == role_id))
