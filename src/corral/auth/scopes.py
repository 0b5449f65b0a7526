"""Zoho OAuth scopes (pure): parse `Service.name[.sub].OPERATION` and decide what a grant allows.

A granted scope covers a required one when the services match, the granted names are a prefix
of the required names (`ZohoCRM.modules.ALL` covers `ZohoCRM.modules.leads.CREATE`), and the
operation covers: ALL covers everything, WRITE covers CREATE/UPDATE/DELETE.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

OPERATIONS = frozenset({"ALL", "READ", "CREATE", "UPDATE", "DELETE", "WRITE", "CUSTOM"})

ALL_SCOPES = (
    "ZohoCRM.modules.ALL", "ZohoCRM.settings.ALL", "ZohoCRM.users.ALL", "ZohoCRM.org.ALL",
    "ZohoCRM.mass_update.ALL", "ZohoCRM.bulk.ALL", "ZohoCRM.coql.READ",
    "ZohoSearch.securesearch.READ", "ZohoCRM.notifications.ALL",
    "ZohoCRM.composite_requests.CUSTOM",
)


@dataclass(frozen=True)
class Scope:
    service: str
    names: tuple[str, ...]
    operation: str

    def __str__(self) -> str:
        return ".".join((self.service, *self.names, self.operation))


class ScopeError(ValueError):
    pass


def parse_scope(text: str) -> Scope:
    parts = text.strip().split(".")
    if len(parts) < 3 or not all(parts):
        raise ScopeError(f"not a scope: {text!r}")
    op = parts[-1].upper()
    if op not in OPERATIONS:
        raise ScopeError(f"unknown operation in scope: {text!r}")
    return Scope(parts[0].lower(), tuple(p.lower() for p in parts[1:-1]), op)


def parse_scopes(text: str | Iterable[str]) -> tuple[Scope, ...]:
    items = text.replace(" ", ",").split(",") if isinstance(text, str) else list(text)
    return tuple(parse_scope(s) for s in items if s.strip())


def canonical_scopes(text: str | Iterable[str]) -> str:
    """Validate scopes and return them comma-joined as given; ScopeError when none or bad."""
    items = text.replace(" ", ",").split(",") if isinstance(text, str) else list(text)
    kept = [s.strip() for s in items if s.strip()]
    if not kept:
        raise ScopeError("no scopes given")
    for s in kept:
        parse_scope(s)
    return ",".join(kept)


def _op_covers(granted: str, required: str) -> bool:
    if granted == "ALL" or granted == required:
        return True
    return granted == "WRITE" and required in {"CREATE", "UPDATE", "DELETE"}


def covers(granted: Scope, required: Scope) -> bool:
    return (granted.service == required.service
            and required.names[:len(granted.names)] == granted.names
            and _op_covers(granted.operation, required.operation))


def allows(granted: Iterable[Scope], *alternatives: str) -> bool:
    """True when any granted scope covers any of the required alternatives."""
    needed = [parse_scope(a) for a in alternatives]
    return any(covers(g, r) for g in granted for r in needed)
