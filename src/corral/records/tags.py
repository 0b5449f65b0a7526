"""Tags: a module's tag definitions (`/settings/tags`) and the tags records carry.

A record's tags are part of the record: `data["Tag"]` holds the ids (strings) of its tags, and
every change to it — add/remove tags, and a merge or delete that touches many records — is an
update through the one write path, so it is change-logged like any field. Renaming or recolouring
a tag changes only the tag row (records hold ids), and reads render the current names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from corral.auth.service import Principal
from corral.errors import (
    CorralError,
    DuplicateData,
    InvalidData,
    LimitExceeded,
    MandatoryNotFound,
    RequiredParamMissing,
)
from corral.metadata.model import Module
from corral.records import validate as v
from corral.records.service import RecordService
from corral.records.writes import Batch, Decision, Item, Planned, Step, WriteContext
from corral.storage.database import Tx
from corral.storage.filters import And, Column, Cond, JsonField, Op
from corral.storage.repositories.record_search import RecordSearch
from corral.storage.repositories.tags import StoredTag, TagRepository

TAG_FIELD = "Tag"
# Zoho's palette (OAS v8 tags.json, Tag.color_code enum).
COLORS = frozenset({"#57B1FD", "#879BFC", "#658BA8", "#FD87BD", "#969696", "#F48435", "#1DB9B4",
                    "#E7A826", "#63C57E", "#F17574", "#D297EE", "#A8C026", "#B88562"})
MAX_NAME = 25          # OAS v8: Tag.name maxLength
MAX_PER_RECORD = 10    # Zoho's help: up to 10 tags per record
MAX_PER_MODULE = 100   # Zoho's help: tags per module (Enterprise); see COMPATIBILITY.md
MAX_PER_CALL = 50      # tags created/updated in one call (Corral's choice; Zoho is silent)
MAX_RECORDS = 100      # record ids in one bulk add/remove call


@dataclass(frozen=True)
class TagResult:
    """One tag of a create/update call: the stored tag or the error for that input."""

    tag: StoredTag | None = None
    error: CorralError | None = None


@dataclass(frozen=True)
class Tagged:
    """One record of an add/remove call: its tags afterwards, or its error."""

    record_id: str
    tags: tuple[StoredTag, ...] = ()
    error: CorralError | None = None


def _path(kind: str, index: int, key: str) -> dict[str, Any]:
    return {"api_name": key, "json_path": f"$.{kind}[{index}].{key}"}


def tag_ids(data: dict[str, Any]) -> list[int]:
    """The tag ids a stored record carries."""
    raw = data.get(TAG_FIELD)
    return [int(x) for x in raw if v.parse_record_id(x) is not None] if isinstance(raw, list) \
        else []


class TagService:
    def __init__(self, records: RecordService, clock: Callable[[], datetime]) -> None:
        self.records = records
        self.db = records.db
        self.clock = clock
        self.repo = TagRepository()
        self.search = RecordSearch()

    # ------------------------------------------------------------------ reads
    def of_module(self, module: Module) -> list[StoredTag]:
        with self.db.read() as tx:
            return self.repo.of_module(tx, module.id)

    def by_ids(self, ids: Sequence[int]) -> dict[int, StoredTag]:
        with self.db.read() as tx:
            return self.repo.by_ids(tx, set(ids))

    def get(self, tag_id: int, module: Module | None = None) -> StoredTag:
        with self.db.read() as tx:
            tag = self.repo.by_ids(tx, [tag_id]).get(tag_id)
        if tag is None or (module is not None and tag.module_id != module.id):
            raise InvalidData("the id given seems to be invalid", {"id": str(tag_id)})
        return tag

    def records_count(self, tag: StoredTag) -> int:
        with self.db.read() as tx:
            return self.search.count(tx, self._carrying(tag.module_id, tag.id))

    @staticmethod
    def _carrying(module_id: int, tag_id: int) -> And:
        return And((Cond(Column("module_id"), Op.EQ, (module_id,)),
                    Cond(Column("deleted_time"), Op.IS_NULL),
                    Cond(JsonField(TAG_FIELD), Op.HAS_ITEM, (str(tag_id),))))

    # ------------------------------------------------------------------ definitions
    def create(self, module: Module, items: Any, principal: Principal,
               default_color: str | None = None) -> list[TagResult]:
        items = self._items(items)
        ids = self.db.new_ids(len(items))

        def work(tx: Tx) -> list[TagResult]:
            existing = self.repo.of_module(tx, module.id)
            names = {t.name.lower(): t for t in existing}
            out: list[TagResult] = []
            fresh: list[StoredTag] = []
            now = self.clock()
            for i, raw in enumerate(items):
                err = self._check(raw, i, names)
                if err is None and len(existing) + len(fresh) >= MAX_PER_MODULE:
                    err = LimitExceeded("tags limit exceeded for the module",
                                        {"limit": MAX_PER_MODULE})
                if err is not None:
                    out.append(TagResult(error=err))
                    continue
                tag = StoredTag(ids[i], module.id, raw["name"].strip(),
                                raw.get("color_code") or default_color or "#969696",
                                principal.user.id, now, principal.user.id, now)
                names[tag.name.lower()] = tag
                fresh.append(tag)
                out.append(TagResult(tag=tag))
            self.repo.insert_many(tx, fresh)
            return out

        return self.records.in_write_transaction(work)

    def update(self, module: Module, items: Any, principal: Principal,
               path_id: int | None = None) -> list[TagResult]:
        items = self._items(items)

        def work(tx: Tx) -> list[TagResult]:
            existing = {t.id: t for t in self.repo.of_module(tx, module.id)}
            names = {t.name.lower(): t for t in existing.values()}
            out: list[TagResult] = []
            for i, raw in enumerate(items):
                tag_id = path_id if path_id is not None else v.parse_record_id(raw.get("id"))
                if path_id is None and raw.get("id") is None:
                    out.append(TagResult(error=MandatoryNotFound(details=_path("tags", i, "id"))))
                    continue
                old = existing.get(tag_id) if tag_id is not None else None
                if old is None:
                    out.append(TagResult(error=InvalidData(
                        "the id given seems to be invalid", _path("tags", i, "id"))))
                    continue
                err = self._check({"name": old.name, **raw}, i, names, own=old.id)
                if err is not None:
                    out.append(TagResult(error=err))
                    continue
                new = replace(old, name=str(raw.get("name", old.name)).strip(),
                              color_code=raw.get("color_code", old.color_code),
                              modified_by=principal.user.id, modified_time=self.clock())
                names.pop(old.name.lower(), None)
                names[new.name.lower()] = existing[new.id] = new
                self.repo.update(tx, new)
                out.append(TagResult(tag=new))
            return out

        return self.records.in_write_transaction(work)

    @staticmethod
    def _items(items: Any) -> list[dict[str, Any]]:
        if not isinstance(items, list) or not items:
            raise MandatoryNotFound(details={"api_name": "tags", "json_path": "$.tags"})
        if len(items) > MAX_PER_CALL:
            raise LimitExceeded("tags limit exceeded", {"limit": MAX_PER_CALL})
        if not all(isinstance(x, dict) for x in items):
            raise InvalidData(details={"api_name": "tags", "json_path": "$.tags"})
        return items

    @staticmethod
    def _check(raw: dict[str, Any], i: int, names: dict[str, StoredTag],
               own: int | None = None) -> CorralError | None:
        name = raw.get("name")
        if name is None:
            return MandatoryNotFound(details=_path("tags", i, "name"))
        if not isinstance(name, str) or not name.strip():
            return InvalidData(details={**_path("tags", i, "name"),
                                        "expected_data_type": "string"})
        if len(name.strip()) > MAX_NAME:
            return InvalidData("the length of the name exceeds the limit",
                               {**_path("tags", i, "name"), "maximum_length": MAX_NAME})
        color = raw.get("color_code")
        if color is not None and color not in COLORS:
            return InvalidData("invalid color code", _path("tags", i, "color_code"))
        holder = names.get(name.strip().lower())
        if holder is not None and holder.id != own:
            return DuplicateData("tag name already exists",
                                 {"id": str(holder.id), "api_name": "name"})
        return None

    # ------------------------------------------------------------------ record changes
    def delete(self, tag: StoredTag, module: Module, ctx: WriteContext) -> None:
        """Remove the tag from every record carrying it (through the write path), then drop it."""

        def work(tx: Tx) -> None:
            self._rewrite(tx, tag, module, None, ctx)
            self.repo.delete(tx, tag.id)

        self.records.in_write_transaction(work)

    def merge(self, tag: StoredTag, into: StoredTag, module: Module, ctx: WriteContext) -> None:
        """`tag`'s records carry `into` instead (through the write path); `tag` is dropped."""

        def work(tx: Tx) -> None:
            self._rewrite(tx, tag, module, into, ctx)
            self.repo.delete(tx, tag.id)

        self.records.in_write_transaction(work)

    def _rewrite(self, tx: Tx, tag: StoredTag, module: Module, into: StoredTag | None,
                 ctx: WriteContext) -> None:
        ids = self.search.ids(tx, self._carrying(module.id, tag.id), limit=10**9)
        recs = self.records.load(tx, module, ids)
        plans: list[Planned] = []
        for i, rid in enumerate(ids):
            current = tag_ids(recs[rid].data) if rid in recs else []
            new = [into.id if t == tag.id and into is not None else t for t in current
                   if t != tag.id or into is not None]
            new = list(dict.fromkeys(new))
            plans.append(Planned(i, v.Checked(values={TAG_FIELD: [str(t) for t in new]}),
                                 target=rid, op="update"))
        if plans:
            self.records.write_batch(module, plans, replace(ctx, trigger=()), conn=tx)

    def tag_records(self, module: Module, raw_ids: Sequence[Any], wanted: Any, *,
                    add: bool, over_write: bool, ctx: WriteContext) -> list[Tagged]:
        """Add (or remove) the wanted tags — `[{"name"}|{"id"}]` — on each record."""
        if not raw_ids:
            raise RequiredParamMissing(details={"param": "ids"})
        if len(raw_ids) > MAX_RECORDS:
            raise LimitExceeded("ids limit exceeded", {"limit": MAX_RECORDS})
        if not isinstance(wanted, list) or not wanted or \
                not all(isinstance(x, dict) for x in wanted):
            raise MandatoryNotFound(details={"api_name": "tags", "json_path": "$.tags"})
        fresh_ids = self.db.new_ids(len(wanted)) if add else []

        def work(tx: Tx) -> list[Tagged]:
            tags = self._resolve(tx, module, wanted, fresh_ids, ctx.principal)
            return self._apply(tx, module, raw_ids, tags, add=add, over_write=over_write,
                               ctx=ctx)

        return self.records.in_write_transaction(work)

    def _resolve(self, tx: Tx, module: Module, wanted: list[dict[str, Any]],
                 fresh_ids: list[int], principal: Principal) -> list[StoredTag]:
        """The tags named by id or name; on add, names not yet defined become new tags."""
        existing = self.repo.of_module(tx, module.id)
        by_id = {t.id: t for t in existing}
        by_name = {t.name.lower(): t for t in existing}
        out: list[StoredTag] = []
        fresh: list[StoredTag] = []
        now = self.clock()
        for i, raw in enumerate(wanted):
            if raw.get("id") is not None:
                tag = by_id.get(v.parse_record_id(raw["id"]) or 0)
                if tag is None:
                    raise InvalidData("the id given seems to be invalid", _path("tags", i, "id"))
            else:
                name = raw.get("name")
                if not isinstance(name, str) or not name.strip():
                    raise MandatoryNotFound(details=_path("tags", i, "name"))
                tag = by_name.get(name.strip().lower())
                if tag is None and fresh_ids:
                    err = self._check(raw, i, by_name)
                    if err is None and len(existing) + len(fresh) >= MAX_PER_MODULE:
                        err = LimitExceeded("tags limit exceeded for the module",
                                            {"limit": MAX_PER_MODULE})
                    if err is not None:
                        raise err
                    tag = StoredTag(fresh_ids[i], module.id, name.strip(),
                                    raw.get("color_code") or "#969696", principal.user.id, now,
                                    principal.user.id, now)
                    by_name[tag.name.lower()] = tag
                    fresh.append(tag)
                if tag is None:
                    raise InvalidData("the tag name given seems to be invalid",
                                      _path("tags", i, "name"))
            out.append(tag)
        self.repo.insert_many(tx, fresh)
        return list({t.id: t for t in out}.values())

    def _apply(self, tx: Tx, module: Module, raw_ids: Sequence[Any], tags: list[StoredTag], *,
               add: bool, over_write: bool, ctx: WriteContext) -> list[Tagged]:
        rids = [v.parse_record_id(x) for x in raw_ids]
        recs = self.records.load(tx, module, [r for r in rids if r is not None])
        known = {t.id: t for t in self.repo.of_module(tx, module.id)} | {t.id: t for t in tags}
        wanted = [t.id for t in tags]
        plans: list[Planned] = []
        results: dict[int, Tagged] = {}
        for i, (raw, rid) in enumerate(zip(raw_ids, rids, strict=True)):
            rec = recs.get(rid) if rid is not None else None
            if rec is None:
                results[i] = Tagged(str(raw), error=InvalidData(
                    "the id given seems to be invalid", {"id": str(raw)}))
                continue
            current = tag_ids(rec.data)
            if not add:
                new = [t for t in current if t not in wanted]
            else:
                new = list(dict.fromkeys(wanted if over_write else [*current, *wanted]))
            if len(new) > MAX_PER_RECORD:
                results[i] = Tagged(str(raw), error=LimitExceeded(
                    "tags limit exceeded for the record", {"id": str(raw),
                                                           "limit": MAX_PER_RECORD}))
                continue
            results[i] = Tagged(str(rid), tuple(known[t] for t in new if t in known))
            plans.append(Planned(i, v.Checked(values={TAG_FIELD: [str(t) for t in new]}),
                                 target=rid, op="update"))
        outcomes = self.records.write_batch(module, plans, replace(ctx, trigger=()), conn=tx) \
            if plans else []
        for o in outcomes:
            if o.error is not None:
                results[o.index] = Tagged(results[o.index].record_id, error=o.error)
        return [results[i] for i in range(len(raw_ids))]


class RecordTags(Step):
    """A `Tag` value given on insert or update names tags of the module (by name or id); the
    record stores their ids. Unknown names → `INVALID_DATA` (use `add_tags` to create tags on the
    fly), more than 10 → `LIMIT_EXCEEDED`."""

    name = "record_tags"

    def prepare(self, tx: Tx, batch: Batch) -> None:
        if any(TAG_FIELD in p.checked.values for p in batch.plans):
            batch.memo[self.name] = TagRepository().of_module(tx, batch.module.id)

    def active(self, batch: Batch) -> bool:
        return self.name in batch.memo

    def check(self, item: Item, batch: Batch) -> Decision | None:
        given = item.values.get(TAG_FIELD)
        if given is None:
            return None
        tags: list[StoredTag] = batch.memo.get(self.name, [])
        by_id = {str(t.id): t for t in tags}
        by_name = {t.name.lower(): t for t in tags}
        ids: list[str] = []
        for raw in given:
            ref = raw if isinstance(raw, str) else raw.get("id") or raw.get("name")
            tag = by_id.get(str(ref).strip()) or by_name.get(str(ref).strip().lower())
            if tag is None:
                return Decision(error=InvalidData(details={
                    "api_name": TAG_FIELD, "json_path": f"$.data[{item.index}].{TAG_FIELD}"}))
            ids.append(str(tag.id))
        ids = list(dict.fromkeys(ids))
        if len(ids) > MAX_PER_RECORD:
            return Decision(error=LimitExceeded("tags limit exceeded for the record",
                                                {"api_name": TAG_FIELD,
                                                 "limit": MAX_PER_RECORD}))
        return Decision(set_values={TAG_FIELD: ids})
