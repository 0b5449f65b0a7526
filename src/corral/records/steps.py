"""The record checks of the write path: owner and mandatory fields, lookups, unique keys and
the duplicate check preference. Each is a `Step` registered in `corral.services`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from corral.errors import MandatoryNotFound
from corral.metadata.model import Module
from corral.metadata.preferences import Preference, load_preference
from corral.metadata.registry import Registry
from corral.records import validate as v
from corral.records.keys import normalise
from corral.records.writes import Batch, Clash, Decision, Item, Step, lookup_target
from corral.storage.database import Tx
from corral.storage.repositories.keys import KeyRepository
from corral.storage.repositories.owners import OwnerRepository
from corral.storage.repositories.records import RecordRepository

ACTIVE_USERS = "active_users"


def _active_users(tx: Tx, batch: Batch) -> set[int]:
    users: set[int] | None = batch.memo.get(ACTIVE_USERS)
    if users is None:
        users = batch.memo[ACTIVE_USERS] = OwnerRepository().active_ids(tx)
    return users


class OwnerAndMandatory(Step):
    """The owner is an active user (and never emptied); mandatory fields hold values."""

    name = "validation"

    def prepare(self, tx: Tx, batch: Batch) -> None:
        _active_users(tx, batch)

    def check(self, item: Item, batch: Batch) -> Decision | None:
        module, p = batch.module, item.plan
        values = item.values
        owner = values.get("Owner")
        if owner is not None and int(owner) not in batch.memo[ACTIVE_USERS]:
            return Decision(error=v.invalid(module.by_name["Owner"], p.index))
        if "Owner" in values and owner is None and item.old is not None:
            return Decision(error=MandatoryNotFound(details={
                "api_name": "Owner", "json_path": v.path(p.index, "Owner")}))
        fields = module.mandatory_fields if item.old is None else [
            f for f in module.mandatory_fields if f.api_name in values and f.api_name != "Owner"]
        err = v.missing_mandatory(fields, item.new.data, p.index)
        return Decision(error=err) if err is not None else None


class Lookups(Step):
    """Lookup values name live records of their module; user lookups name active users."""

    name = "lookups"

    def prepare(self, tx: Tx, batch: Batch) -> None:
        wanted: dict[str, set[int]] = {}
        for f in batch.module.fields:
            if f.data_type == "lookup" and f.lookup_module:
                for p in batch.plans:
                    value = p.checked.values.get(f.api_name)
                    if value and p.checked.error is None:
                        wanted.setdefault(lookup_target(f, p.checked.values),
                                          set()).add(int(value))
        found: dict[str, set[int]] = {}
        repo = RecordRepository()
        for mod_name, ids in wanted.items():
            target = self.registry.get(mod_name)
            found[mod_name] = set() if target is None else repo.live_ids(tx, target.id, ids)
        batch.memo["valid_lookups"] = found
        refs = [f.api_name for f in batch.module.fields
                if f.data_type in ("lookup", "ownerlookup") and f.column is None]
        # `check` looks only at the values the request gave: none of them names a record or
        # a user in most batches, and then the step leaves the per-record loop.
        batch.memo["lookup_values"] = any(
            p.checked.values.get(name) for p in batch.plans if p.checked.error is None
            for name in refs)
        _active_users(tx, batch)

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def active(self, batch: Batch) -> bool:
        return bool(batch.memo.get("lookup_values", True))

    def check(self, item: Item, batch: Batch) -> Decision | None:
        valid: dict[str, set[int]] = batch.memo["valid_lookups"]
        users: set[int] = batch.memo[ACTIVE_USERS]
        for name, value in item.values.items():
            f = batch.module.by_name.get(name)
            if f is None or not value or f.column is not None:
                continue
            if f.data_type == "lookup" and int(value) not in valid.get(
                    lookup_target(f, item.values), set()):
                return Decision(error=v.invalid(f, item.index))
            if f.data_type == "ownerlookup" and int(value) not in users:
                return Decision(error=v.invalid(f, item.index))
        return None


class UniqueKeys(Step):
    """A unique field's value may be held by one live record only."""

    name = "unique_keys"
    ops = frozenset({"insert", "update", "restore"})  # a restored record takes its keys back

    def active(self, batch: Batch) -> bool:
        return bool(batch.module.unique_fields)

    def check(self, item: Item, batch: Batch) -> Decision | None:
        new = item.new
        old_keys = batch.keys.get(new.id, {})
        clashes = []
        for f in batch.module.unique_fields:
            key = normalise(f, new.data.get(f.api_name))
            if key is None or old_keys.get(f.id) == key:
                continue
            others = batch.holders.get((f.id, key), set()) - {new.id}
            if others:
                clashes.append(Clash(f.api_name, batch.module, batch.earliest(others)))
        return Decision(clashes=clashes) if clashes else None


@dataclass
class _PreferenceView:
    """The Leads duplicate check preference with the holders it needs for one batch."""

    pref: Preference
    converted: dict[tuple[int, str], set[int]] = field(default_factory=dict)
    mapped: dict[tuple[int, str], set[int]] = field(default_factory=dict)
    info: dict[int, tuple[datetime, int]] = field(default_factory=dict)  # created, owner

    def earliest(self, ids: set[int]) -> tuple[int, ...]:
        return tuple(sorted(ids, key=lambda rid: (self.info[rid][0], rid)))


class DuplicateCheckPreference(Step):
    """Leads' preference: no value held by a converted Lead, or by a mapped module's record."""

    name = "duplicate_check_preference"

    def __init__(self, registry: Registry,
                 load: Callable[[Tx, Registry, Module], Preference | None] = load_preference,
                 ) -> None:
        self.registry = registry
        self.load = load

    def prepare(self, tx: Tx, batch: Batch) -> None:
        module = batch.module
        pref = self.load(tx, self.registry, module) if module.api_name == "Leads" else None
        if pref is None:
            batch.memo.pop(self.name, None)
            return
        keys = KeyRepository()
        view = _PreferenceView(pref)
        if pref.type == "converted_records":
            view.converted = keys.holders(tx, batch.memo["candidates"], converted=True)
        else:
            wanted: dict[int, set[str]] = {}
            for cur, mapped in pref.mappings:
                for p in batch.plans:
                    key = normalise(mapped, p.checked.values.get(cur.api_name))
                    if key is not None and p.checked.error is None:
                        wanted.setdefault(mapped.id, set()).add(key)
            view.mapped = keys.holders(tx, wanted)
        rids = {r for group in (view.converted, view.mapped) for rs in group.values()
                for r in rs}
        view.info = RecordRepository().created_and_owner(tx, rids)
        batch.memo[self.name] = view
        batch.memo["owners_of_holders"] = {rid: owner for rid, (_c, owner) in view.info.items()}

    def active(self, batch: Batch) -> bool:
        return self.name in batch.memo

    def check(self, item: Item, batch: Batch) -> Decision | None:
        view: _PreferenceView | None = batch.memo.get(self.name)
        if view is None:
            return None
        clashes = self._clashes(view, item, batch)
        return Decision(clashes=clashes) if clashes else None

    @staticmethod
    def _clashes(view: _PreferenceView, item: Item, batch: Batch) -> list[Clash]:
        module, old, new = batch.module, item.old, item.new
        out: list[Clash] = []
        by_fid = {f.id: f for f in module.fields}
        if view.pref.type == "converted_records":
            old_keys = batch.keys.get(new.id, {})
            for fid, held in batch.keys_of(new).items():
                others = view.converted.get((fid, held), set()) - {new.id}
                if old_keys.get(fid) != held and others:
                    out.append(Clash(by_fid[fid].api_name, module, view.earliest(others)))
        elif view.pref.mapped_module is not None:
            for cur, mapped in view.pref.mappings:
                key = normalise(mapped, new.data.get(cur.api_name))
                before = normalise(mapped, old.data.get(cur.api_name)) if old else None
                others = view.mapped.get((mapped.id, key), set()) if key is not None else set()
                if key != before and others:
                    out.append(Clash(cur.api_name, view.pref.mapped_module,
                                     view.earliest(others)))
        return out

