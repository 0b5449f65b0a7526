"""Staging of accepted records: record rows, key changes and change-log entries, written
together at the end of a batch. The one change-log writer and the one key maintainer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from corral.metadata.model import Module
from corral.records.writes import Batch, Change, Item, Outcome, WriteContext
from corral.storage.database import Tx
from corral.storage.repositories.change_log import ChangeEntry, ChangeLogRepository
from corral.storage.repositories.keys import KeyRepository, KeyRow
from corral.storage.repositories.records import RecordRepository, StoredRecord

# Record state that is not a field but is logged like one.
STATE_FIELDS = ("$approval_state", "Owner")


def changes_of(old: StoredRecord | None, new: StoredRecord) -> dict[str, Change]:
    """Every field (and owner / approval state) whose value differs, with both full values."""
    if old is None:
        return {name: Change(None, value) for name, value in new.data.items()}
    out: dict[str, Change] = {}
    if old.approval_state != new.approval_state:
        out["$approval_state"] = Change(old.approval_state, new.approval_state)
    if old.owner_id != new.owner_id:
        out["Owner"] = Change(str(old.owner_id), str(new.owner_id))
    for name in sorted(set(old.data) | set(new.data)):
        if old.data.get(name) != new.data.get(name):
            out[name] = Change(old.data.get(name), new.data.get(name))
    return out


class Staged:
    def __init__(self, module: Module, ctx: WriteContext, now: datetime) -> None:
        self.module = module
        self.ctx = ctx
        self.now = now
        self.inserts: dict[int, StoredRecord] = {}
        self.updates: dict[int, StoredRecord] = {}
        self.orig_keys: dict[int, dict[int, str]] = {}
        self.final_keys: dict[int, dict[int, str]] = {}
        self.deleted: list[int] = []
        self.converted: list[int] = []
        self.log: list[ChangeEntry] = []

    def add(self, item: Item, new_keys: dict[int, str], batch: Batch) -> Outcome:
        new, old, op = item.new, item.old, item.op
        self.orig_keys.setdefault(new.id, batch.memo["orig_keys"].get(new.id, {}))
        self.final_keys[new.id] = new_keys
        if new.id in self.inserts:  # inserted, then changed again in the same batch
            self.inserts[new.id] = new
        elif old is None:
            self.inserts[new.id] = new
        else:
            self.updates[new.id] = new
        if op == "delete":
            self.deleted.append(new.id)
        elif op == "convert":
            self.converted.append(new.id)
        changes = changes_of(old, new) if op not in ("delete", "restore") else {}
        self.log += self._entries(item, changes)
        return Outcome(item.index, record=new, action=op, changes=changes,
                       duplicate_field=item.plan.duplicate_field if op == "update" else None)

    def _entry(self, rid: int, operation: str, name: str | None, old: Any, new: Any,
               automation: str | None = None) -> ChangeEntry:
        ctx = self.ctx
        return ChangeEntry(record_id=rid, module_id=self.module.id, operation=operation,
                           field=name, old_value=old, new_value=new, user_id=ctx.user.id,
                           at=self.now, request_id=ctx.request_id, job_id=ctx.job_id,
                           automation=automation, source=ctx.source or "api")

    def _entries(self, item: Item, changes: dict[str, Change]) -> list[ChangeEntry]:
        new, old, op = item.new, item.old, item.op
        if op == "delete":
            assert old is not None  # the before-image a revert restores
            return [self._entry(new.id, "delete", None,
                                {**old.data, "Owner": str(old.owner_id)}, None)]
        out: list[ChangeEntry] = []
        if op == "restore":  # the record as it comes back (what a revert of it deletes)
            return [self._entry(new.id, "restore", None, None,
                                {**new.data, "Owner": str(new.owner_id)})]
        if old is None:
            made_by = (self.ctx.automation_tags or {}).get(item.index)
            out.append(self._entry(new.id, "insert", None, None,
                                   {**new.data, "Owner": str(new.owner_id)}, made_by))
            later = {n: Change(None, new.approval_state if n == "$approval_state"
                               else new.data.get(n)) for n in item.tags}
            changes = later
        elif op == "convert":
            out.append(self._entry(new.id, "convert", None, None, {
                m: new.data.get(f"Converted_{m[:-1]}") for m in ("Contacts", "Accounts",
                                                                 "Deals")}))
        for name, ch in changes.items():
            out.append(self._entry(new.id, "update", name, ch.old, ch.new,
                                   item.tags.get(name)))
        return out

    def flush(self, tx: Tx, records: RecordRepository, keys: KeyRepository) -> None:
        """Write the staged rows: a handful of executemany statements per batch."""
        unique = {f.id for f in self.module.unique_fields}
        removed: list[tuple[int, int, str]] = []
        added: list[KeyRow] = []
        for rid, final in self.final_keys.items():
            if rid in self.deleted or rid in self.converted:
                continue  # released / marked below
            orig = self.orig_keys.get(rid, {})
            removed += [(rid, fid, key) for fid, key in orig.items() if final.get(fid) != key]
            added += [KeyRow(fid, key, rid, fid in unique)
                      for fid, key in final.items() if orig.get(fid) != key]
        keys.apply(tx, removed, [])
        records.insert_many(tx, list(self.inserts.values()))
        records.update_many(tx, list(self.updates.values()))
        keys.apply(tx, [], added)
        keys.release(tx, self.deleted)
        keys.mark_converted(tx, self.converted)
        ChangeLogRepository().append(tx, self.log)

