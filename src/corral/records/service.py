"""The one record-write service, and record reads.

Every way of changing a record (insert, update, upsert, and later mass update, lead conversion
and jobs) builds a list of planned writes and hands it to `RecordService.write_batch`, which
validates, checks unique keys (one query per key field per batch), writes the records, their keys
and the change log in one transaction, and returns one outcome per input record. All checks run
before anything is written, so a record that fails leaves no trace while the others commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from corral.auth.service import Principal, User
from corral.automation.engine import PENDING, AutomationRun, on_delete
from corral.errors import (
    ConvertedRecord,
    CorralError,
    DuplicateData,
    InvalidData,
    MandatoryNotFound,
    MultipleOrMultiErrors,
    RecordInBlueprint,
    RecordLocked,
)
from corral.metadata.model import Field, Module
from corral.metadata.preferences import Preference, load_preference
from corral.metadata.registry import Registry
from corral.records import validate as v
from corral.records.dedup import check_order
from corral.records.keys import normalise
from corral.storage import tables as t
from corral.storage.database import Database
from corral.storage.errors import StorageConflict

MAX_WRITE_RETRIES = 8
T = TypeVar("T")


@dataclass
class StoredRecord:
    id: int
    module_id: int
    data: dict[str, Any]
    owner_id: int
    created_by: int
    modified_by: int
    created_time: datetime
    modified_time: datetime
    converted: bool = False
    approval_state: str = "approved"
    deleted_time: datetime | None = None
    deleted_by: int | None = None


@dataclass(frozen=True)
class WriteContext:
    principal: Principal
    request_id: str | None = None
    trigger: tuple[str, ...] | None = None  # None: all automation; () : none
    job_id: int | None = None
    blueprint_transition: bool = False  # the write is a blueprint transition
    layout_rules: bool = False  # apply_feature_execution: [{"name": "layout_rules"}]
    approval_action: bool = False  # an approve/reject decision (may touch a locked record)
    automation_tags: dict[int, str] | None = None  # plan index -> rule that made the record

    def runs(self, automation: str) -> bool:
        """`trigger` absent: everything runs; a list: only those named; []: nothing."""
        return self.trigger is None or automation in self.trigger

    @property
    def user(self) -> User:
        return self.principal.user


@dataclass
class Planned:
    """One requested write: insert (target None) or update of `target`."""

    index: int
    checked: v.Checked
    target: int | None = None
    duplicate_field: str | None = None  # upsert: the field that matched


@dataclass
class Outcome:
    index: int
    error: CorralError | None = None
    record: StoredRecord | None = None
    action: str | None = None  # insert | update | delete
    duplicate_field: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Batch:
    """State of one write transaction while its records are planned in input order."""

    module: Module
    now: datetime
    # Rows queued by accepted records, written together at the end of the batch.
    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Keys per record as stored before the batch, and as they end up after it.
    orig_keys: dict[int, dict[int, str]] = field(default_factory=dict)
    final_keys: dict[int, dict[int, str]] = field(default_factory=dict)
    unique_ids: set[int] = field(default_factory=set)
    # record id -> {field: "workflow:<id>" | "approval:<id>"} for the change log
    auto_tags: dict[int, dict[str, str]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _PreferenceCheck:
    """The Leads duplicate check preference with the holders it needs for one batch."""

    pref: Preference
    module: Module
    converted: dict[tuple[int, str], set[int]] = field(default_factory=dict)
    mapped: dict[tuple[int, str], set[int]] = field(default_factory=dict)
    info: dict[int, tuple[datetime, int]] = field(default_factory=dict)  # created, owner

    def _sorted(self, ids: set[int]) -> list[int]:
        return sorted(ids, key=lambda rid: (self.info[rid][0], rid))

    def clashes(self, old: StoredRecord | None, new: StoredRecord,
                old_keys: dict[int, str], new_keys: dict[int, str],
                ) -> list[tuple[str, Module, list[int]]]:
        out: list[tuple[str, Module, list[int]]] = []
        by_fid = {f.id: f for f in self.module.fields}
        if self.pref.type == "converted_records":
            for fid, key in new_keys.items():
                others = self.converted.get((fid, key), set()) - {new.id}
                if old_keys.get(fid) != key and others:
                    out.append((by_fid[fid].api_name, self.module, self._sorted(others)))
        elif self.pref.mapped_module is not None:
            for cur, mapped in self.pref.mappings:
                key = normalise(mapped, new.data.get(cur.api_name))
                before = normalise(mapped, old.data.get(cur.api_name)) if old else None
                others = self.mapped.get((mapped.id, key), set()) if key else set()
                if key != before and others:
                    out.append((cur.api_name, self.pref.mapped_module, self._sorted(others)))
        return out


def _lookup_target(f: Field, values: dict[str, Any]) -> str:
    """What_Id of activities points at the module named by `$se_module` (Zoho's rule)."""
    if f.api_name == "What_Id" and isinstance(values.get("$se_module"), str):
        return str(values["$se_module"])
    return f.lookup_module or ""


class Retry(Exception):
    """A concurrent writer took a key between our check and our write: run the batch again."""


class RecordService:
    def __init__(self, db: Database, registry: Registry,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.db = db
        self.registry = registry
        self.clock = clock or (lambda: datetime.now(UTC).replace(tzinfo=None))

    # ------------------------------------------------------------------ reads of single rows
    def _row_to_record(self, row: Any) -> StoredRecord:
        return StoredRecord(
            id=row.id, module_id=row.module_id, data=dict(row.data or {}), owner_id=row.owner_id,
            created_by=row.created_by, modified_by=row.modified_by,
            created_time=row.created_time, modified_time=row.modified_time,
            converted=row.converted, approval_state=row.approval_state,
            deleted_time=row.deleted_time, deleted_by=row.deleted_by)

    def load(self, conn: Connection, module: Module, ids: Sequence[int],
             *, live_only: bool = True) -> dict[int, StoredRecord]:
        if not ids:
            return {}
        q = sa.select(t.records).where(t.records.c.id.in_(list(set(ids))),
                                       t.records.c.module_id == module.id)
        if live_only:
            q = q.where(t.records.c.deleted_time.is_(None))
        return {r.id: self._row_to_record(r) for r in conn.execute(q)}

    # ------------------------------------------------------------------ the write path
    def check(self, module: Module, raw: Any, index: int, principal: Principal) -> v.Checked:
        tz = ZoneInfo(principal.user.time_zone)
        return v.check_record(module, raw, index, tz=tz,
                              read_only=principal.read_only_fields(module.api_name))

    def write_batch(self, module: Module, plans: Sequence[Planned], ctx: WriteContext,
                    *, match_order: Sequence[Field] | None = None,
                    conn: Connection | None = None, ids: list[int] | None = None,
                    set_approval: str | None = None) -> list[Outcome]:
        """Apply planned inserts/updates in input order; one outcome per plan.

        With `match_order` (upsert), each plan first looks for an existing record by those
        fields in order, and becomes an update of the first match or an insert. With `conn`,
        the batch joins the caller's transaction (which then owns retries) and uses `ids`,
        reserved beforehand, for new records.
        """
        if conn is not None:
            return self._apply(conn, _Batch(module=module, now=self.clock()),
                               [replace(p) for p in plans], ctx, list(ids or []), match_order,
                               set_approval)
        ids = self.db.new_ids(len(plans)) if plans else []
        return self.in_write_transaction(lambda tx: self._apply(
            tx, _Batch(module=module, now=self.clock()), [replace(p) for p in plans], ctx,
            list(ids), match_order, set_approval))

    def in_write_transaction(self, work: Callable[[Connection], T]) -> T:
        """Run `work` in a write transaction, again from the start when a concurrent writer
        got in the way (unique violation, deadlock, busy database); `work` must be re-runnable."""
        for attempt in range(MAX_WRITE_RETRIES):
            try:
                with self.db.write() as tx:
                    return work(tx)
            except (Retry, StorageConflict):
                time.sleep(0.005 * (attempt + 1))
        raise CorralError("could not complete the write under contention")

    def _apply(self, conn: Connection, batch: _Batch, plans: list[Planned], ctx: WriteContext,
               ids: list[int], match_order: Sequence[Field] | None,
               set_approval: str | None = None) -> list[Outcome]:
        module = batch.module
        outcomes: dict[int, Outcome] = {}
        live = [p for p in plans if p.checked.error is None]
        for p in plans:
            if p.checked.error is not None:
                outcomes[p.index] = Outcome(p.index, error=p.checked.error)

        # Prefetch, one query per key field: who holds each candidate key value.
        candidates: dict[int, set[str]] = {}
        for p in live:
            for f in module.key_fields:
                key = normalise(f, p.checked.values.get(f.api_name))
                if key is not None:
                    candidates.setdefault(f.id, set()).add(key)
        self.db.lock_keys(conn, [(fid, k) for fid, ks in candidates.items() for k in ks])
        holders = self._holders(conn, candidates)
        target_ids = {p.target for p in live if p.target is not None}
        target_ids |= {rid for rids in holders.values() for rid in rids}
        current = self.load(conn, module, list(target_ids))
        ranks = {rid: (r.created_time, rid) for rid, r in current.items()}
        # Keys of the loaded records, so an update can release them and re-claim new ones.
        keys_of: dict[int, dict[int, str]] = {rid: self.record_keys(module, r)
                                              for rid, r in current.items()}
        valid_lookups = self._valid_lookups(conn, module, live)
        users = self._active_user_ids(conn)
        unique_ids = {f.id for f in module.fields if f.unique}
        prefs = self._preference_check(conn, module, live, candidates)
        blueprints = self._blueprints(conn, module, ctx)
        tz = ZoneInfo(ctx.user.time_zone)
        automation = AutomationRun.start(self, conn, module, ctx, batch.now)
        by_fid = {f.id: f for f in module.fields}

        states: list[tuple[Planned, StoredRecord | None, StoredRecord]] = []
        for p in live:
            if match_order is not None:
                p.target, p.duplicate_field = None, None
                for f in match_order:
                    key = normalise(f, p.checked.values.get(f.api_name))
                    found = holders.get((f.id, key)) if key is not None else None
                    if found:
                        p.target = min(found, key=lambda rid: ranks[rid])
                        p.duplicate_field = f.api_name
                        break
            old = None
            if p.target is not None:
                old = current.get(p.target)
                if old is None:
                    outcomes[p.index] = Outcome(p.index, error=InvalidData(
                        "the id given seems to be invalid", {"id": str(p.target)}))
                    continue
                if old.converted:
                    outcomes[p.index] = Outcome(p.index, error=ConvertedRecord(
                        details={"id": str(old.id)}))
                    continue
                locked = next((bp.field for bp in blueprints
                               if bp.field in p.checked.values
                               and p.checked.values[bp.field] != old.data.get(bp.field)
                               and bp.holds(module, old, tz)), None)
                if locked is not None:
                    outcomes[p.index] = Outcome(p.index, error=RecordInBlueprint(details={
                        "api_name": locked, "json_path": v.path(p.index, locked)}))
                    continue
            new, err = self._new_state(module, p, old, ctx, batch.now, ids, users)
            if set_approval is not None:
                new.approval_state = set_approval
            if err is None and old is not None and old.approval_state == PENDING \
                    and not ctx.approval_action:
                err = RecordLocked(details={"id": str(old.id)})
            tags: dict[str, str] = {}
            if err is None and automation is not None:
                err, tags = automation.before_checks(p, old, new)
            if err is None:
                err = self._lookup_error(module, p, new, valid_lookups, users)
            old_keys = keys_of.get(old.id, {}) if old else {}
            new_keys = self.record_keys(module, new)
            if err is None:
                clashes: list[tuple[str, Module, list[int]]] = []
                for fid, key in new_keys.items():
                    others = holders.get((fid, key), set()) - {new.id}
                    if fid in unique_ids and old_keys.get(fid) != key and others:
                        clashes.append((by_fid[fid].api_name, module,
                                        sorted(others, key=lambda rid: ranks[rid])))
                if prefs is not None:
                    clashes += prefs.clashes(old, new, old_keys, new_keys)
                if clashes:
                    err = self._duplicates(conn, clashes, p.index, current, prefs)
            if err is not None:
                outcomes[p.index] = Outcome(p.index, error=err)
                continue
            # Accepted: move this record's keys in the batch view.
            for fid, key in old_keys.items():
                if new_keys.get(fid) != key:
                    holders.get((fid, key), set()).discard(new.id)
            for fid, key in new_keys.items():
                holders.setdefault((fid, key), set()).add(new.id)
            keys_of[new.id] = new_keys
            ranks.setdefault(new.id, (new.created_time, new.id))
            current[new.id] = new
            states.append((p, old, new))
            if tags:
                batch.auto_tags[new.id] = {**batch.auto_tags.get(new.id, {}), **tags}
            self._stage(batch, p, old, new, old_keys, new_keys, unique_ids, ctx, outcomes)
            if automation is not None:
                automation.accept(p.index, new, "create" if old is None else "edit")
        self._flush(conn, batch)
        if automation is not None:
            automation.flush(conn)
        return [outcomes[p.index] for p in plans]

    def _holders(self, conn: Connection, candidates: dict[int, set[str]], *,
                 converted: bool = False) -> dict[tuple[int, str], set[int]]:
        """Who holds each candidate key, one query per field (per 500 values).

        Converted Leads hold keys only for the converted_records preference.
        """
        out: dict[tuple[int, str], set[int]] = {}
        for fid, keys in candidates.items():
            ordered = sorted(keys)
            for chunk in (ordered[i:i + 500] for i in range(0, len(ordered), 500)):
                for row in conn.execute(
                        sa.select(t.record_keys.c.value, t.record_keys.c.record_id)
                        .where(t.record_keys.c.field_id == fid,
                               t.record_keys.c.converted.is_(converted),
                               t.record_keys.c.value.in_(chunk))):
                    out.setdefault((fid, row.value), set()).add(row.record_id)
        return out

    def _active_user_ids(self, conn: Connection) -> set[int]:
        return {r[0] for r in conn.execute(
            sa.select(t.users.c.id).where(t.users.c.status == "active"))}

    def _new_state(self, module: Module, p: Planned, old: StoredRecord | None,
                   ctx: WriteContext, now: datetime, ids: list[int],
                   users: set[int]) -> tuple[StoredRecord, CorralError | None]:
        values = dict(p.checked.values)
        has_owner = "Owner" in values
        owner_raw = values.pop("Owner", None)
        if old is None:
            new = StoredRecord(id=ids.pop(0), module_id=module.id, data={},
                               owner_id=ctx.user.id, created_by=ctx.user.id,
                               modified_by=ctx.user.id, created_time=now, modified_time=now)
        else:
            new = replace(old, data=dict(old.data), modified_by=ctx.user.id, modified_time=now)
        if owner_raw is not None:
            owner_id = int(owner_raw)
            if owner_id not in users:
                return new, v.invalid(module.by_name["Owner"], p.index)
            new.owner_id = owner_id
        elif has_owner and old is not None:
            return new, MandatoryNotFound(details={"api_name": "Owner",
                                                   "json_path": v.path(p.index, "Owner")})
        for name, value in values.items():
            if name in p.checked.append and isinstance(value, list):
                value = list(dict.fromkeys([*(new.data.get(name) or []), *value]))
            new.data[name] = value
        if "Full_Name" in module.by_name and (old is None
                                              or {"First_Name", "Last_Name"} & values.keys()):
            new.data["Full_Name"] = v.full_name(new.data)
        if old is None:
            return new, v.missing_mandatory(module.fields, new.data, p.index)
        touched = [f for f in module.fields if f.api_name in values]
        return new, v.missing_mandatory(touched, new.data, p.index)

    def _valid_lookups(self, conn: Connection, module: Module,
                       plans: list[Planned]) -> dict[str, set[int]]:
        """Live record ids among every lookup value given in the batch, per target module."""
        wanted: dict[str, set[int]] = {}
        for f in module.fields:
            if f.data_type == "lookup" and f.lookup_module:
                for p in plans:
                    value = p.checked.values.get(f.api_name)
                    if value:
                        wanted.setdefault(_lookup_target(f, p.checked.values),
                                          set()).add(int(value))
        found: dict[str, set[int]] = {}
        for mod_name, idset in wanted.items():
            target = self.registry.get(mod_name)
            found[mod_name] = set() if target is None else {r[0] for r in conn.execute(
                sa.select(t.records.c.id).where(t.records.c.id.in_(list(idset)),
                                                t.records.c.module_id == target.id,
                                                t.records.c.deleted_time.is_(None)))}
        return found

    @staticmethod
    def _lookup_error(module: Module, p: Planned, new: StoredRecord,
                      valid: dict[str, set[int]], users: set[int]) -> CorralError | None:
        for name, value in p.checked.values.items():
            f = module.by_name.get(name)
            if f is None or not value or f.column is not None:
                continue
            target = _lookup_target(f, p.checked.values)
            if f.data_type == "lookup" and int(value) not in valid.get(target, set()):
                return v.invalid(f, p.index)
            if f.data_type == "ownerlookup" and int(value) not in users:
                return v.invalid(f, p.index)
        return None

    # ------------------------------------------------------------------ unique keys
    @staticmethod
    def record_keys(module: Module, rec: StoredRecord) -> dict[int, str]:
        """field id -> normalised key for the record's key fields that have a value."""
        out: dict[int, str] = {}
        for f in module.key_fields:
            key = normalise(f, rec.data.get(f.api_name))
            if key is not None:
                out[f.id] = key
        return out

    def _blueprints(self, conn: Connection, module: Module, ctx: WriteContext) -> list[Any]:
        """Blueprints that guard their field in this write (none for a transition itself)."""
        if ctx.blueprint_transition or not ctx.runs("blueprint"):
            return []
        from corral.records.blueprints import load_blueprints  # blueprints build on this module

        return load_blueprints(conn, module)

    def _preference_check(self, conn: Connection, module: Module, plans: list[Planned],
                          candidates: dict[int, set[str]]) -> _PreferenceCheck | None:
        """Prefetch what the module's duplicate check preference needs (Leads only)."""
        if module.api_name != "Leads":
            return None
        pref = load_preference(conn, self.registry, module)
        if pref is None:
            return None
        check = _PreferenceCheck(pref=pref, module=module)
        if pref.type == "converted_records":
            check.converted = self._holders(conn, candidates, converted=True)
        else:
            wanted: dict[int, set[str]] = {}
            for cur, mapped in pref.mappings:
                for p in plans:
                    key = normalise(mapped, p.checked.values.get(cur.api_name))
                    if key is not None:
                        wanted.setdefault(mapped.id, set()).add(key)
            check.mapped = self._holders(conn, wanted)
        rids = {r for group in (check.converted, check.mapped) for rs in group.values()
                for r in rs}
        if rids:
            for row in conn.execute(sa.select(t.records.c.id, t.records.c.created_time,
                                              t.records.c.owner_id)
                                    .where(t.records.c.id.in_(list(rids)))):
                check.info[row.id] = (row.created_time, row.owner_id)
        return check

    def _duplicates(self, conn: Connection, clashes: list[tuple[str, Module, list[int]]],
                    index: int, current: dict[int, StoredRecord],
                    prefs: _PreferenceCheck | None) -> CorralError:
        """DUPLICATE_DATA naming the earliest holder (MULTIPLE_OR_MULTI_ERRORS for several)."""
        owner_of: dict[int, int] = {rid: r.owner_id for rid, r in current.items()}
        if prefs is not None:
            owner_of.update({rid: owner for rid, (_c, owner) in prefs.info.items()})
        needed = {owner_of[ids[0]] for _n, _m, ids in clashes if ids[0] in owner_of}
        users = {u.id: u for u in conn.execute(
            sa.select(t.users.c.id, t.users.c.first_name, t.users.c.last_name, t.users.c.zuid)
            .where(t.users.c.id.in_(list(needed))))} if needed else {}
        errors: list[CorralError] = []
        for api_name, holder_module, ids in clashes:
            owner = users.get(owner_of.get(ids[0], 0))
            owner_obj = None
            if owner is not None:
                name = (f"{owner.first_name} {owner.last_name}" if owner.first_name
                        else owner.last_name)
                owner_obj = {"name": name, "id": str(owner.id), "zuid": owner.zuid}
            errors.append(DuplicateData(details={
                "api_name": api_name, "json_path": v.path(index, api_name),
                "duplicate_record": {
                    "Owner": owner_obj,
                    "module": {"api_name": holder_module.api_name, "id": str(holder_module.id)},
                    "id": str(ids[0])},
                "more_records": len(ids) > 1,
            }))
        if len(errors) == 1:
            return errors[0]
        return MultipleOrMultiErrors(details={"errors": [_error_obj(e) for e in errors]})

    def _stage(self, batch: _Batch, p: Planned, old: StoredRecord | None, new: StoredRecord,
               old_keys: dict[int, str], new_keys: dict[int, str], unique_ids: set[int],
               ctx: WriteContext, outcomes: dict[int, Outcome]) -> None:
        """Queue the rows of one accepted record: record, key changes, change log."""
        module = batch.module
        batch.orig_keys.setdefault(new.id, old_keys)
        batch.final_keys[new.id] = new_keys
        batch.unique_ids = unique_ids
        base = {"record_id": new.id, "module_id": module.id, "user_id": ctx.user.id,
                "at": batch.now, "request_id": ctx.request_id, "job_id": ctx.job_id,
                "automation": None}
        tags = batch.auto_tags.get(new.id, {})
        if old is None:
            batch.inserts.append({
                "id": new.id, "module_id": module.id, "data": new.data,
                "owner_id": new.owner_id, "created_by": new.created_by,
                "modified_by": new.modified_by, "created_time": new.created_time,
                "modified_time": new.modified_time, "deleted_time": None, "deleted_by": None,
                "converted": False, "approval_state": new.approval_state})
            made_by = (ctx.automation_tags or {}).get(p.index)
            batch.log.append({**base, "operation": "insert", "field": None, "old_value": None,
                              "new_value": {**new.data, "Owner": str(new.owner_id)},
                              "automation": made_by})
            for name, tag in tags.items():
                batch.log.append({**base, "operation": "update", "field": name,
                                  "old_value": None, "automation": tag,
                                  "new_value": new.approval_state if name == "$approval_state"
                                  else new.data.get(name)})
            outcomes[p.index] = Outcome(p.index, record=new, action="insert")
            return
        batch.updates[new.id] = {"rid": new.id, "data": new.data, "owner_id": new.owner_id,
                                 "modified_by": new.modified_by, "modified_time": batch.now,
                                 "approval_state": new.approval_state}
        if old.approval_state != new.approval_state:
            batch.log.append({**base, "operation": "update", "field": "$approval_state",
                              "old_value": old.approval_state, "new_value": new.approval_state,
                              "automation": tags.get("$approval_state")})
        if old.owner_id != new.owner_id:
            batch.log.append({**base, "operation": "update", "field": "Owner",
                              "old_value": str(old.owner_id), "new_value": str(new.owner_id)})
        for name in sorted(set(old.data) | set(new.data)):
            if old.data.get(name) != new.data.get(name):
                batch.log.append({**base, "operation": "update", "field": name,
                                  "old_value": old.data.get(name),
                                  "new_value": new.data.get(name),
                                  "automation": tags.get(name)})
        outcomes[p.index] = Outcome(p.index, record=new, action="update",
                                    duplicate_field=p.duplicate_field)

    def _flush(self, conn: Connection, batch: _Batch) -> None:
        """Write the queued rows: a handful of executemany statements per batch."""
        # A record inserted and then updated in the same batch is written once, as inserted.
        inserted = {row["id"]: row for row in batch.inserts}
        for rid, upd in list(batch.updates.items()):
            if rid in inserted:
                inserted[rid].update(data=upd["data"], owner_id=upd["owner_id"],
                                     modified_by=upd["modified_by"],
                                     modified_time=upd["modified_time"],
                                     approval_state=upd["approval_state"])
                del batch.updates[rid]
        key_deletes: list[dict[str, Any]] = []
        key_inserts: list[dict[str, Any]] = []
        for rid, final in batch.final_keys.items():
            orig = batch.orig_keys.get(rid, {})
            key_deletes += [{"r": rid, "f": fid, "v": key} for fid, key in orig.items()
                            if final.get(fid) != key]
            key_inserts += [{"field_id": fid, "value": key, "record_id": rid,
                             "is_unique": fid in batch.unique_ids}
                            for fid, key in final.items() if orig.get(fid) != key]
        if key_deletes:
            conn.execute(sa.delete(t.record_keys).where(
                t.record_keys.c.record_id == sa.bindparam("r"),
                t.record_keys.c.field_id == sa.bindparam("f"),
                t.record_keys.c.value == sa.bindparam("v")), key_deletes)
        if batch.inserts:
            conn.execute(sa.insert(t.records), batch.inserts)
        if batch.updates:
            conn.execute(sa.update(t.records).where(t.records.c.id == sa.bindparam("rid"))
                         .values(data=sa.bindparam("data"), owner_id=sa.bindparam("owner_id"),
                                 modified_by=sa.bindparam("modified_by"),
                                 modified_time=sa.bindparam("modified_time"),
                                 approval_state=sa.bindparam("approval_state")),
                         list(batch.updates.values()))
        if key_inserts:
            conn.execute(sa.insert(t.record_keys), key_inserts)
        if batch.log:
            conn.execute(sa.insert(t.change_log), batch.log)

    # ------------------------------------------------------------------ entry points
    def insert(self, module: Module, items: Sequence[Any], ctx: WriteContext) -> list[Outcome]:
        plans = [Planned(i, self.check(module, raw, i, ctx.principal))
                 for i, raw in enumerate(items)]
        return self.write_batch(module, plans, ctx)

    def update(self, module: Module, items: Sequence[Any], ctx: WriteContext,
               *, path_id: int | None = None) -> list[Outcome]:
        plans: list[Planned] = []
        for i, raw in enumerate(items):
            checked = self.check(module, raw, i, ctx.principal)
            target = path_id
            if target is None and checked.error is None:
                raw_id = raw.get("id") if isinstance(raw, dict) else None
                if raw_id is None:
                    checked.error = MandatoryNotFound(details={"api_name": "id",
                                                               "json_path": f"$.data[{i}].id"})
                else:
                    target = v.parse_record_id(raw_id)
                    if target is None:
                        checked.error = InvalidData("the id given seems to be invalid",
                                                    {"id": str(raw_id)})
            plans.append(Planned(i, checked, target=target))
        return self.write_batch(module, plans, ctx)

    def upsert(self, module: Module, items: Sequence[Any], ctx: WriteContext,
               *, duplicate_check_fields: Any = None) -> list[Outcome]:
        """Insert or update each record by the first field of the check order that matches.

        Several existing records sharing a non-unique system value: the earliest created one is
        updated. Records of one call apply in order, so a later one matches an earlier insert.
        """
        order = check_order(module, duplicate_check_fields)
        plans = [Planned(i, self.check(module, raw, i, ctx.principal))
                 for i, raw in enumerate(items)]
        return self.write_batch(module, plans, ctx, match_order=order)

    def delete(self, module: Module, raw_ids: Sequence[str], ctx: WriteContext) -> list[Outcome]:
        """Soft delete (to the recycle bin); keys are released at once."""
        parsed = [v.parse_record_id(x) for x in raw_ids]
        with self.db.write() as conn:
            now = self.clock()
            live = self.load(conn, module, [x for x in parsed if x is not None])
            outcomes: list[Outcome] = []
            done: list[int] = []
            for i, (raw, rid) in enumerate(zip(raw_ids, parsed, strict=True)):
                if rid is None or rid not in live or rid in done:
                    outcomes.append(Outcome(i, error=InvalidData(
                        "record not deleted", {"id": str(raw)})))
                    continue
                done.append(rid)
                rec = live[rid]
                rec.deleted_time, rec.deleted_by = now, ctx.user.id
                outcomes.append(Outcome(i, record=rec, action="delete"))
            if done:
                on_delete(self, conn, module, [live[r] for r in done], ctx, now)
                conn.execute(sa.update(t.records).where(t.records.c.id.in_(done))
                             .values(deleted_time=now, deleted_by=ctx.user.id))
                conn.execute(sa.delete(t.record_keys).where(t.record_keys.c.record_id.in_(done)))
                conn.execute(sa.insert(t.change_log), [{
                    "record_id": rid, "module_id": module.id, "operation": "delete",
                    "field": None, "old_value": None, "new_value": None,
                    "user_id": ctx.user.id, "at": now, "request_id": ctx.request_id,
                    "job_id": ctx.job_id, "automation": None} for rid in done])
        return outcomes


def _error_obj(err: CorralError) -> dict[str, Any]:
    return {"code": err.code, "details": err.details, "message": err.message, "status": "error"}
