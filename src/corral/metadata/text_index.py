"""Which fields the text index covers (`storage/repositories/text_index.py` builds it), and
keeping it in step with the fields: called in the transaction that changes them.

Indexed: the fields that "contains" searches read from `data` (search `equals` on text,
`phone=`, `word=`, COQL `like`): text, textarea, email, phone, website and picklist values whose
api_name is a plain identifier (it is a literal JSON path in the index definition). Others are
searched by scanning, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from corral.metadata.model import COLUMN_FIELDS, Field, Module
from corral.storage.database import Database, Tx
from corral.storage.filters import And, Cond, Filter, IndexedText, JsonField, Op, Or, TextMatch
from corral.storage.repositories.metadata import MetadataRepository
from corral.storage.repositories.text_index import (
    TextIndexRepository,
    flush_pending,
    indexable_key,
    queued,
)

INDEXED_TYPES = frozenset({"text", "textarea", "email", "phone", "website", "picklist"})


class _FieldLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def api_name(self) -> str: ...
    @property
    def data_type(self) -> str: ...


def is_indexed(f: _FieldLike) -> bool:
    return (f.data_type in INDEXED_TYPES and f.api_name not in COLUMN_FIELDS
            and indexable_key(f.api_name))


def indexed_text(f: _FieldLike) -> IndexedText:
    return IndexedText(f.id, f.api_name)


def sync_text_indexes(tx: Tx, module_ids: Iterable[int] | None = None) -> None:
    """Rebuild the text index of these modules (all: None) where its fields changed."""
    fields = MetadataRepository().fields_by_module(tx)
    modules = {m.id for m in MetadataRepository().all_modules(tx)}
    wanted = modules if module_ids is None else set(module_ids)
    repo = TextIndexRepository()
    for module_id in sorted(wanted):
        repo.sync(tx, module_id, [indexed_text(f) for f in fields.get(module_id, [])
                                  if is_indexed(f)])


# Pages an FTS5 merge writes per module per background step (~50-100 ms in the write lock at
# 1M records), so the merging is spread over steps and never blocks writers for long.
MERGE_PAGES = 1000


def merge_text_indexes(db: Database, module_ids: Iterable[int]) -> set[int]:
    """One bounded merge step of each module's text index (SQLite; its own short write
    transaction per module): the modules whose index had segments left to merge."""
    repo = TextIndexRepository()
    merging: set[int] = set()
    for module_id in sorted(module_ids):
        with db.write() as tx:
            if repo.merge(tx, module_id, MERGE_PAGES):
                merging.add(module_id)
    return merging


# Queued records indexed per background step (~150 ms in the write lock).
FLUSH_RECORDS = 5000


def index_queued_records(db: Database) -> bool:
    """SQLite: index the oldest FLUSH_RECORDS records that writes from outside Corral (plain
    SQL) left in the text index's queue, in a write transaction only when there are some;
    True when more remain. Searches find queued records meanwhile, by scanning them."""
    with db.read() as tx:
        if not queued(tx):
            return False
    with db.write() as tx:
        return flush_pending(tx, FLUSH_RECORDS) >= FLUSH_RECORDS


def contains(module: Module, fields: Sequence[Field], text: str) -> Filter:
    """The value of one of `fields` (of `module`) contains `text`, ignoring case
    (`Op.I_CONTAINS`); when the text index covers every one of them, also narrowed by it
    (`TextMatch`), which changes the speed, never the records selected."""
    exact: Filter = (Cond(JsonField(fields[0].api_name), Op.I_CONTAINS, (text,))
                     if len(fields) == 1 else
                     Or(tuple(Cond(JsonField(f.api_name), Op.I_CONTAINS, (text,))
                              for f in fields)))
    if not fields or not all(is_indexed(f) for f in fields):
        return exact
    index = tuple(indexed_text(f) for f in module.fields if is_indexed(f))
    return And((TextMatch(module.id, tuple(indexed_text(f) for f in fields), text, index),
                exact))
