"""Notes of records: which records have notes, the filter selecting a record's notes, and the
write-path step that sends a record's notes to the recycle bin with it."""

from __future__ import annotations

from collections.abc import Collection

from corral.metadata.model import Module
from corral.metadata.registry import Registry
from corral.records.writes import Batch, FollowUp, FollowUpWrite, Item, Step
from corral.storage.database import Tx
from corral.storage.filters import And, Column, Cond, Filter, JsonField, Op
from corral.storage.repositories.record_search import RecordSearch

NOTES = "Notes"
NOTES_OF_DELETED = "notes_of_deleted"
# Far above any real count of notes per batch of 100 parents; a batch is one transaction.
MAX_NOTES = 1_000_000


def has_notes(module: Module) -> bool:
    """Every module but Notes itself has notes (as in Zoho: standard and custom modules)."""
    return module.api_name != NOTES


def notes_filter(notes: Module, parent: Module, parent_ids: Collection[int]) -> Filter:
    """The live notes of these records of `parent`."""
    return And((Cond(Column("module_id"), Op.EQ, (notes.id,)),
                Cond(Column("deleted_time"), Op.IS_NULL),
                Cond(JsonField("$se_module"), Op.EQ, (parent.api_name,)),
                Cond(JsonField("Parent_Id"), Op.IN, tuple(str(i) for i in sorted(parent_ids)))))


class NotesFollowParents(Step):
    """Deleting a record deletes its notes in the same transaction (follow-up deletes through
    the pipeline, so they are change-logged like any delete)."""

    name = "notes_follow_parents"
    ops = frozenset({"delete"})

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.search = RecordSearch()

    def prepare(self, tx: Tx, batch: Batch) -> None:
        notes = self.registry.get(NOTES)
        targets = {p.target for p in batch.plans
                   if p.operation == "delete" and p.target is not None}
        if notes is None or not has_notes(batch.module) or not targets:
            return
        found, _ = self.search.fetch(tx, notes_filter(notes, batch.module, targets),
                                     sort_by="id", sort_order="asc", offset=0, limit=MAX_NOTES)
        by_parent: dict[int, list[int]] = {}
        for note in found:
            by_parent.setdefault(int(note.data["Parent_Id"]), []).append(note.id)
        batch.memo[NOTES_OF_DELETED] = by_parent

    def effects(self, accepted: list[Item], batch: Batch) -> FollowUp | None:
        by_parent: dict[int, list[int]] = batch.memo.get(NOTES_OF_DELETED, {})
        ids = [nid for item in accepted for nid in by_parent.get(item.new.id, [])]
        if not ids:
            return None
        return FollowUp(writes=[FollowUpWrite(NOTES, [], {}, deletes=tuple(ids))])
