"""Staging of accepted records: record rows, key changes and change-log entries, written
together at the end of a batch. The one change-log writer and the one key maintainer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from corral.metadata.model import Module
from corral.records.writes import Batch, Change, Item, Outcome, WriteContext, changes_of
from corral.storage.database import Tx
from corral.storage.repositories.change_log import ChangeEntry, ChangeLogRepository
from corral.storage.repositories.keys import KeyRepository, KeyRow
from corral.storage.repositories.records import RecordRepository, StoredRecord

# Record state that is not a field but is logged like one.
STATE_FIELDS = ("$approval_state", "Owner")


class Staged:
    def __init__(self, module: Module, ctx: WriteContext, now: datetime) -> None:
        self.module = module
        self.ctx = ctx
        self.now = now
        self.inserts: dict[int, StoredRecord] = {}
        self.updates: dict[int, StoredRecord] = {}
        self.state_changed: set[int] = set()  # updated records deleted, restored or converted
        self.orig_keys: dict[int, dict[int, str]] = {}
        self.final_keys: dict[int, dict[int, str]] = {}
        self.deleted: list[int] = []
        self.converted: list[int] = []
        self.unconverted: list[int] = []  # their converted keys are replaced by live ones
        self.log: list[ChangeEntry] = []
        # What every change-log entry of the batch repeats, read once.
        self._by = (ctx.user.id, ctx.request_id, ctx.job_id, ctx.source or "api")

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
            if (old.deleted_time, old.deleted_by, old.converted) != (
                    new.deleted_time, new.deleted_by, new.converted):
                self.state_changed.add(new.id)
        if op == "delete":
            self.deleted.append(new.id)
        elif op == "convert":
            self.converted.append(new.id)
        elif op == "unconvert":
            self.unconverted.append(new.id)
        # An insert logs the whole record; its per-field changes are computed only if asked.
        changes = (changes_of(old, new) if old is not None and op not in ("delete", "restore")
                   else None)
        self.log += self._entries(item, changes or {})
        return Outcome(item.index, record=new, action=op, before=old,
                       known_changes={} if op in ("delete", "restore") else changes,
                       duplicate_field=item.plan.duplicate_field if op == "update" else None)

    def _entry(self, rid: int, operation: str, name: str | None, old: Any, new: Any,
               automation: str | None = None) -> ChangeEntry:
        user_id, request_id, job_id, source = self._by
        return ChangeEntry(record_id=rid, module_id=self.module.id, operation=operation,
                           field=name, old_value=old, new_value=new, user_id=user_id,
                           at=self.now, request_id=request_id, job_id=job_id,
                           automation=automation, source=source)

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
        elif op in ("convert", "unconvert"):
            src = old if op == "unconvert" and old is not None else new
            made = {m: src.data.get(f"Converted_{m[:-1]}")
                    for m in ("Contacts", "Accounts", "Deals")}
            out.append(self._entry(new.id, op, None, made if op == "unconvert" else None,
                                   made if op == "convert" else None))
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
            if final == orig:
                continue  # most updates leave every key as it was
            removed += [(rid, fid, key) for fid, key in orig.items() if final.get(fid) != key]
            added += [KeyRow(fid, key, rid, fid in unique)
                      for fid, key in final.items() if orig.get(fid) != key]
        keys.apply(tx, removed, [])
        records.insert_many(tx, list(self.inserts.values()))
        records.update_many(tx, [r for rid, r in self.updates.items()
                                 if rid not in self.state_changed])
        records.update_many(tx, [self.updates[rid] for rid in self.state_changed],
                            with_state=True)
        keys.release(tx, self.unconverted)
        keys.apply(tx, [], added)
        keys.release(tx, self.deleted)
        keys.mark_converted(tx, self.converted)
        ChangeLogRepository().append(tx, self.log)

