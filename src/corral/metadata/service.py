"""Changes to metadata: custom fields, custom modules, the unique flag. Each bumps the version."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from corral.errors import DuplicateData, InvalidData, NotAllowed
from corral.metadata import seed as seed_mod
from corral.metadata.field_indexes import INDEX_MIN_RECORDS, FieldIndexes
from corral.metadata.model import DATA_TYPES, Field, Module
from corral.metadata.registry import Registry
from corral.metadata.text_index import (
    index_queued_records,
    merge_text_indexes,
    sync_text_indexes,
)
from corral.storage.database import Database, Tx
from corral.storage.errors import UniqueViolation
from corral.storage.repositories.field_indexes import IndexChanges
from corral.storage.repositories.metadata import MetadataRepository, Org

# The write path's key maintainer (RecordService.rebuild_keys), given by corral.services: keys
# of a field are rebuilt when its unique flag changes. Metadata never imports records.
KeyRebuild = Callable[[Tx, Module, Field, bool], None]

# How often the background loop lets SQLite re-check its planner statistics, and looks for
# modules that grew past INDEX_MIN_RECORDS live records (their fields then get search indexes).
STATISTICS_EVERY = timedelta(minutes=10)
INDEX_CHECK_EVERY = timedelta(minutes=1)

API_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


def api_name_from_label(label: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "_", label).strip("_")
    if not name or not name[0].isalpha():
        name = "F_" + name
    return name[:100]


class MetadataService:
    def __init__(self, db: Database, registry: Registry, clock: Callable[[], datetime],
                 rebuild_keys: KeyRebuild) -> None:
        self.db = db
        self.registry = registry
        self.clock = clock
        self.rebuild_keys = rebuild_keys
        self._repo = MetadataRepository()
        self.indexes = FieldIndexes()
        self._statistics_at: datetime | None = None
        self._checked_at: datetime | None = None
        self._merging: set[int] = set()  # SQLite text indexes with segments left to merge
        self.index_min_records = INDEX_MIN_RECORDS

    def _fresh(self) -> None:
        self.registry.refresh()

    # ------------------------------------------------------------------ search indexes
    def sync_indexes(self, module_names: list[str] | None = None) -> IndexChanges:
        """Bring the per-field search indexes in line with the fields: of the named modules,
        or of every module (dropping those of modules that are gone). Modules get them once
        they hold `index_min_records` live records (see `FieldIndexes`). Cheap when nothing
        is to change (a look at the index names and a count per module, in a read): run at
        every start, to repair a crash between a field change and its index, and from the
        background loop, for modules that grew."""
        def modules() -> list[Module]:
            return (self.registry.modules() if module_names is None
                    else [self.registry.require(n) for n in module_names])

        every = module_names is None
        with self.db.read() as tx:
            pending = self.indexes.differences(tx, modules(), every_module=every,
                                               min_records=self.index_min_records)
        if not pending.any:
            return pending
        with self.db.write() as tx:
            self.db.lock_global(tx)
            changes = self.indexes.sync(tx, modules(), every_module=every,
                                        min_records=self.index_min_records)
        if changes.created:
            self.db.reload_statistics()  # the sync analysed them
        return changes

    def analyze(self) -> None:
        """Take the planner's statistics of the records now (after a large load)."""
        with self.db.write() as tx:
            self.indexes.analyze(tx)
        self.db.reload_statistics()

    def maintain_indexes(self) -> bool:
        """A background step: every INDEX_CHECK_EVERY, index the modules that grew past the
        threshold and take one bounded merge step of each SQLite text index, then one more
        at each call (every poll, ~0.5 s) for the indexes that still had segments to merge;
        every STATISTICS_EVERY, let SQLite re-analyse what grew (PostgreSQL's autovacuum does
        it). Also indexes a bounded batch of the records that writes from outside Corral left
        in the SQLite text index's queue: True while more remain (the only work it hurries).
        Otherwise never reports work done (it is not the loop's work to hurry).

        Merging soon matters for writes as much as for searches: a write finishes the merge
        FTS5 has in progress a few pages at a time, and after a bulk load that merge is
        large (measured at 1M Leads: upsert ~375 -> ~283 us per record once the 67 merge
        steps, 3.5 s in all, were done; one step a minute took an hour to get there)."""
        backlog = self.db.dialect == "sqlite" and index_queued_records(self.db)
        now = self.clock()
        if self._checked_at is None or now - self._checked_at >= INDEX_CHECK_EVERY:
            self._checked_at = now
            self.sync_indexes()
            if self.db.dialect == "sqlite":  # fewer FTS5 segments: cheaper contains probes
                self._merging = merge_text_indexes(self.db,
                                                   [m.id for m in self.registry.modules()])
        elif self._merging:
            self._merging = merge_text_indexes(self.db, self._merging)
        if self._statistics_at is None or now - self._statistics_at >= STATISTICS_EVERY:
            self._statistics_at = now
            with self.db.write() as tx:
                changed = self.indexes.optimize(tx)
            if changed:
                self.db.reload_statistics()
        return backlog

    def org(self) -> Org | None:
        """The organisation (None before the seed)."""
        with self.db.read() as tx:
            return self._repo.org(tx)

    # ------------------------------------------------------------------ fields
    def add_field(self, module: Module, spec: dict[str, Any], *, json_path: str = "$.fields[0]",
                  ) -> Field:
        """spec keys as in seed_data (api_name, label, type, length, unique, pick_list, lookup)."""
        label = spec.get("label")
        if not isinstance(label, str) or not label.strip():
            raise InvalidData(details={"api_name": "field_label",
                                       "json_path": f"{json_path}.field_label"})
        api_name = spec.get("api_name") or api_name_from_label(label)
        if not isinstance(api_name, str) or not API_NAME_RE.match(api_name):
            raise InvalidData(details={"api_name": "api_name",
                                       "json_path": f"{json_path}.api_name"})
        data_type = spec.get("type")
        if (not isinstance(data_type, str) or data_type not in DATA_TYPES
                or data_type == "subform"):
            raise InvalidData(details={"api_name": "data_type",
                                       "json_path": f"{json_path}.data_type",
                                       "supported_values": sorted(DATA_TYPES - {"subform"})})
        length = spec.get("length")
        if length is not None and (isinstance(length, bool) or not isinstance(length, int)
                                   or length <= 0 or length > 32000):
            raise InvalidData(details={"api_name": "length", "json_path": f"{json_path}.length"})
        if data_type in {"picklist", "multiselectpicklist"}:
            values = spec.get("pick_list") or []
            if not values or not all(isinstance(x, str) and x for x in values):
                raise InvalidData(details={"api_name": "pick_list_values",
                                           "json_path": f"{json_path}.pick_list_values"})
        if data_type == "lookup":
            target = spec.get("lookup")
            if not isinstance(target, str) or self.registry.get(target) is None:
                raise InvalidData(details={"api_name": "lookup",
                                           "json_path": f"{json_path}.lookup.module"})
            spec = {**spec, "lookup": self.registry.require(target).api_name}
        if module.field(api_name) is not None:
            raise DuplicateData("duplicate data", {"api_name": "api_name",
                                                   "json_path": f"{json_path}.api_name"})
        probe = Field(id=0, module_id=module.id, api_name=api_name, label=label,
                      data_type=data_type)
        if spec.get("unique") and not probe.unique_eligible:
            raise NotAllowed("this field type cannot be made unique",
                             {"api_name": "unique", "json_path": f"{json_path}.unique"})
        field_id = self.db.new_id()
        now = self.clock()
        definition = seed_mod.field_definition(
            {**spec, "api_name": api_name, "type": data_type}, field_id=field_id,
            module_id=module.id, sequence=len(module.fields) + 1, custom=True, now=now)
        duplicate = DuplicateData("duplicate data", {"api_name": "api_name",
                                                     "json_path": f"{json_path}.api_name"})
        try:
            with self.db.write() as tx:
                if self._repo.field_exists(tx, module.id, api_name):
                    raise duplicate
                self._repo.add_field(tx, definition)
                sync_text_indexes(tx, [module.id])
                self._repo.bump_version(tx)
        except UniqueViolation:  # a concurrent request added the same api_name
            raise duplicate from None
        self._fresh()
        self.sync_indexes([module.api_name])
        created = self.registry.require(module.api_name).field(api_name)
        assert created is not None
        return created

    def set_unique(self, module: Module, api_name: str, unique: bool) -> Field:
        """Flip "Do not allow duplicate values"; refuses while duplicates exist (names a pair)."""
        f = module.field(api_name)
        if f is None:
            raise InvalidData(details={"api_name": api_name})
        if unique and not f.unique_eligible:
            raise NotAllowed("only Single Line, Email, Phone, Number, Long Integer and URL "
                             "fields can be unique", {"api_name": api_name})
        with self.db.write() as conn:
            self.db.lock_global(conn)
            if unique != f.unique:
                # The write path's key maintainer: refuses while duplicates exist.
                self.rebuild_keys(conn, module, f, unique)
            self._repo.set_field_unique(conn, f.id, unique, modified_time=self.clock())
            self._repo.bump_version(conn)
        self._fresh()
        updated = self.registry.require(module.api_name).field(api_name)
        assert updated is not None
        return updated

    # ------------------------------------------------------------------ modules
    def add_module(self, api_name: Any, singular: Any, plural: Any) -> Module:
        """Add a custom module; the arguments come from the wire and are validated here."""
        if not isinstance(api_name, str) or not API_NAME_RE.match(api_name):
            raise InvalidData(details={"api_name": "api_name",
                                       "json_path": "$.modules[0].api_name"})
        if self.registry.get(api_name) is not None:
            raise DuplicateData("duplicate data", {"api_name": "api_name",
                                                   "json_path": "$.modules[0].api_name"})
        for key, value in (("singular_label", singular), ("plural_label", plural)):
            if not isinstance(value, str) or not value.strip():
                raise InvalidData(details={"api_name": key, "json_path": f"$.modules[0].{key}"})
        spec = {"api_name": api_name, "singular": singular, "plural": plural,
                "scope": "custom", "dup_check": "Name",
                "fields": [{"api_name": "Name", "label": f"{singular} Name", "type": "text",
                            "length": 120, "mandatory": True},
                           {"api_name": "Email", "label": "Email", "type": "email"}]}
        ids = self.db.new_ids(seed_mod.HEAD_IDS + len(seed_mod.COMMON_FIELDS)
                              + len(spec["fields"]))
        now = self.clock()
        duplicate = DuplicateData("duplicate data", {"api_name": "api_name",
                                                     "json_path": "$.modules[0].api_name"})
        try:
            with self.db.write() as tx:
                seq = self._repo.last_module_sequence(tx)
                if self._repo.module_api_name_taken(tx, api_name):
                    raise duplicate
                m, fs, vs = seed_mod.module_definitions(spec, ids, sequence=seq + 1,
                                                        generated_type="custom", now=now)
                self._repo.add_module(tx, m, fs, vs)
                sync_text_indexes(tx, [m.id])
                self._repo.bump_version(tx)
        except UniqueViolation:  # a concurrent request added the same api_name
            raise duplicate from None
        self._fresh()
        self.sync_indexes([api_name])
        return self.registry.require(api_name)
