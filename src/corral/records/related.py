"""Related records: list, link and unlink the records of a module's related list.

Every link and unlink is an ordinary record write through the one write path: a lookup is set
or cleared on the related record; a many-to-many link is a record of the linking module,
inserted, updated or deleted; a note is a Notes record. So each is validated, change-logged and
runs automation like any other write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from corral.errors import CorralError, DuplicateData, InvalidData, NotSupported
from corral.metadata.model import Module
from corral.metadata.registry import Registry
from corral.metadata.related_lists import (
    ACTIVITY_MODULES,
    RelatedList,
    linking_pairs,
    related_list,
)
from corral.records.notes import notes_filter
from corral.records.query import Filters, RecordQuery
from corral.records.service import RecordService, StoredRecord, WriteContext
from corral.records.validate import format_utc
from corral.records.writes import Batch, Clash, Decision, Item, Step
from corral.storage.database import Tx
from corral.storage.filters import And, Column, Cond, Filter, JsonField, Not, Op, Or
from corral.storage.repositories.record_search import RecordSearch

BAD_RELATION = "The relation name given seems to be invalid"
BAD_RELATED_ID = "the related id given seems to be invalid"
# Linking records read per listing page: a page shows at most 200 related records.
MAX_LINKS = 100_000


@dataclass(frozen=True)
class Relation:
    """One record's related list: `parent` record `parent_id`, records of `related`."""

    parent: Module
    parent_id: int
    rl: RelatedList
    related: Module
    linking: Module | None = None
    # activities: the modules whose records the list gathers (Tasks, Events, Calls)
    members: tuple[Module, ...] = ()


@dataclass(frozen=True)
class Linked:
    """The answer for one related id of a link or unlink request."""

    related_id: str
    error: CorralError | None = None


class RelatedRecords:
    def __init__(self, registry: Registry, query: RecordQuery, records: RecordService) -> None:
        self.registry = registry
        self.query = query
        self.records = records

    # ------------------------------------------------------------------ resolving
    def relation(self, parent: Module, parent_id: int, name: str) -> Relation:
        """The related list `name` of a live `parent` record; Zoho's errors otherwise."""
        rl = related_list(parent.api_name, name)
        if rl is not None and rl.kind == "activities":
            return self._activities(parent, parent_id, rl)
        related = self.registry.get(rl.module) if rl is not None else None
        if rl is None or (related is None and rl.kind != "unsupported"):
            raise InvalidData(BAD_RELATION, {"resource_path_index": 2})
        if rl.kind == "unsupported" or related is None:
            raise NotSupported(f"the related list {rl.api_name} is not supported by Corral",
                               {"resource_path_index": 2})
        linking = self.registry.get(rl.linkingmodule) if rl.linkingmodule else None
        if rl.kind == "linking" and linking is None:
            raise InvalidData(BAD_RELATION, {"resource_path_index": 2})
        if self.query.get_one(parent, parent_id) is None:
            raise InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
        return Relation(parent, parent_id, rl, related, linking)

    def _activities(self, parent: Module, parent_id: int, rl: RelatedList) -> Relation:
        members = tuple(m for name in ACTIVITY_MODULES if (m := self.registry.get(name)))
        if not members:
            raise NotSupported(f"the related list {rl.api_name} is not supported by Corral",
                               {"resource_path_index": 2})
        if self.query.get_one(parent, parent_id) is None:
            raise InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
        return Relation(parent, parent_id, rl, members[0], members=members)

    def _activity_where(self, rel: Relation, module: Module) -> list[Filter]:
        """Activities of `module` related to the parent record, open or closed as the list
        says. What_Id names its module in `$se_module` (none: Accounts, the field's default);
        a Contact's activities are also those whose Who_Id names it."""
        pid = (str(rel.parent_id),)
        se_module: Filter = Cond(JsonField("$se_module"), Op.EQ, (rel.parent.api_name,))
        if rel.parent.api_name == "Accounts":
            se_module = Or((se_module, Cond(JsonField("$se_module"), Op.IS_NULL)))
        related: Filter = And((Cond(JsonField("What_Id"), Op.EQ, pid), se_module))
        if rel.parent.api_name == "Contacts":
            related = Or((related, Cond(JsonField("Who_Id"), Op.EQ, pid)))
        now = (format_utc(self.records.clock()),)
        if module.api_name == "Tasks":
            field, closed = "Status", Cond(JsonField("Status"), Op.EQ, ("Completed",))
        elif module.api_name == "Events":
            field, closed = "End_DateTime", Cond(JsonField("End_DateTime"), Op.LE, now)
        else:  # Calls: scheduled (start ahead) are open, logged ones closed
            field, closed = "Call_Start_Time", Cond(JsonField("Call_Start_Time"), Op.LE, now)
        # A value-less activity is open (a comparison with NULL selects nothing either way).
        is_open = Or((Not(closed), Cond(JsonField(field), Op.IS_NULL)))
        return [*self.query.base_where(module, Filters(converted="both", approved="both")),
                related, closed if rel.rl.closed else is_open]

    def _activity_page(self, rel: Relation, *, offset: int, limit: int,
                       related_id: int | None) -> tuple[list[StoredRecord], bool]:
        """A page over the three modules, newest first: each module gives its first
        offset + limit + 1 rows, and the merge is cut to the page."""
        rows: list[StoredRecord] = []
        for module in rel.members:
            where = self._activity_where(rel, module)
            if related_id is not None:
                where.append(self.query.ids_where([related_id]))
            recs, _ = self.query.fetch(module, where, offset=0, limit=offset + limit + 1)
            rows.extend(recs)
        rows.sort(key=lambda r: r.id, reverse=True)
        return rows[offset:offset + limit], len(rows) > offset + limit

    # ------------------------------------------------------------------ reading
    def page(self, rel: Relation, *, offset: int, limit: int, related_id: int | None = None,
             ) -> tuple[list[StoredRecord], bool, dict[int, StoredRecord]]:
        """A page of the related records (newest first), whether more follow, and for a
        many-to-many list the linking record of each related id."""
        if rel.rl.kind == "activities":
            recs, more = self._activity_page(rel, offset=offset, limit=limit,
                                             related_id=related_id)
            return recs, more, {}
        if rel.linking is None:
            where = self._where(rel)
            if related_id is not None:
                where.append(self.query.ids_where([related_id]))
            recs, more = self.query.fetch(rel.related, where, offset=offset, limit=limit)
            return recs, more, {}
        links = self._links(rel, None if related_id is None else [related_id])
        by_related = {int(r.data[rel.rl.connected_field or ""]): r for r in links}
        if not by_related:
            return [], False, {}
        live = self.query.fetch(rel.related, [
            *self.query.base_where(rel.related, Filters(converted="both", approved="both")),
            self.query.ids_where(sorted(by_related))], offset=offset, limit=limit)
        return live[0], live[1], by_related

    def _where(self, rel: Relation) -> list[Filter]:
        base = self.query.base_where(rel.related, Filters(converted="both", approved="both"))
        if rel.rl.kind == "notes":
            return [notes_filter(rel.related, rel.parent, [rel.parent_id])]
        return [*base, Cond(JsonField(rel.rl.field or ""), Op.EQ, (str(rel.parent_id),))]

    def _links(self, rel: Relation, related_ids: Sequence[int] | None) -> list[StoredRecord]:
        """Live linking records of the parent (to these related ids only, when given)."""
        assert rel.linking is not None
        where = [*self.query.base_where(rel.linking, Filters(converted="both", approved="both")),
                 Cond(JsonField(rel.rl.field or ""), Op.EQ, (str(rel.parent_id),))]
        if related_ids is not None:
            where.append(Cond(JsonField(rel.rl.connected_field or ""), Op.IN,
                              tuple(str(i) for i in related_ids)))
        recs, _ = self.query.fetch(rel.linking, where, offset=0, limit=MAX_LINKS,
                                   sort_order="asc")
        return recs

    # ------------------------------------------------------------------ writing
    def link(self, rel: Relation, items: Sequence[tuple[int, dict[str, Any]]],
             ctx: WriteContext) -> list[Linked]:
        """Relate each (related id, values of the link) to the parent record."""
        if rel.rl.kind == "lookup":
            field = rel.rl.field or ""
            return self._answers([str(rid) for rid, _ in items], self.records.update(
                rel.related, [{"id": str(rid), field: str(rel.parent_id)} for rid, _ in items],
                ctx))
        if rel.rl.kind != "linking" or rel.linking is None:
            raise NotSupported(details={"resource_path_index": 2})
        existing = {int(r.data[rel.rl.connected_field or ""]): r
                    for r in self._links(rel, [rid for rid, _ in items])}
        updates = [(rid, {**values, "id": str(existing[rid].id)})
                   for rid, values in items if rid in existing]
        inserts = [(rid, {**values, rel.rl.field or "": str(rel.parent_id),
                          rel.rl.connected_field or "": str(rid)})
                   for rid, values in items if rid not in existing]
        answers: dict[int, Linked] = {}
        if updates:
            for (rid, _), o in zip(updates, self.records.update(
                    rel.linking, [v for _, v in updates], ctx), strict=True):
                answers[rid] = Linked(str(rid), o.error)
        raced: list[tuple[int, dict[str, Any]]] = []
        if inserts:
            for (rid, values), o in zip(inserts, self.records.insert(
                    rel.linking, [v for _, v in inserts], ctx), strict=True):
                if isinstance(o.error, DuplicateData):  # linked meanwhile: update that link
                    raced.append((rid, {k: v for k, v in values.items()
                                        if k not in (rel.rl.field, rel.rl.connected_field)}))
                answers[rid] = Linked(str(rid), self._link_error(o.error, rel, rid))
        if raced:
            won = {int(r.data[rel.rl.connected_field or ""]): r
                   for r in self._links(rel, [rid for rid, _ in raced])}
            again = [(rid, {**values, "id": str(won[rid].id)})
                     for rid, values in raced if rid in won]
            for (rid, _), o in zip(again, self.records.update(
                    rel.linking, [v for _, v in again], ctx), strict=True):
                answers[rid] = Linked(str(rid), o.error)
        return [answers[rid] for rid, _ in items]

    def unlink(self, rel: Relation, ids: Sequence[int], ctx: WriteContext) -> list[Linked]:
        """Remove the relation of each related id (cleared lookup, deleted link or note)."""
        if rel.rl.kind == "activities":
            raise NotSupported(details={"resource_path_index": 2})
        if rel.rl.kind == "linking":
            links = {int(r.data[rel.rl.connected_field or ""]): r for r in self._links(rel, ids)}
            found = [rid for rid in ids if rid in links]
            outcomes = self.records.delete(rel.linking or rel.related,
                                           [str(links[rid].id) for rid in found], ctx)
            done = {rid: o.error for rid, o in zip(found, outcomes, strict=True)}
        else:
            recs, _ = self.query.fetch(rel.related, [*self._where(rel),
                                                      self.query.ids_where(list(ids))],
                                       offset=0, limit=len(ids))
            linked = {r.id for r in recs}
            found = [rid for rid in ids if rid in linked]
            if rel.rl.kind == "notes":
                outcomes = self.records.delete(rel.related, [str(i) for i in found], ctx)
            else:
                outcomes = self.records.update(
                    rel.related, [{"id": str(i), rel.rl.field or "": None} for i in found], ctx)
            done = {rid: o.error for rid, o in zip(found, outcomes, strict=True)}
        return [Linked(str(rid), done[rid]) if rid in done
                else Linked(str(rid), InvalidData(BAD_RELATED_ID, {"id": str(rid)}))
                for rid in ids]

    def add_notes(self, rel: Relation, items: Sequence[Any], ctx: WriteContext,
                  ) -> list[Any]:
        """Notes of the parent record (`POST /{module}/{id}/Notes`): their parent is the
        record of the URL, whatever the body says."""
        parent = {"Parent_Id": str(rel.parent_id), "$se_module": rel.parent.api_name}
        rows = [{k: v for k, v in item.items() if k != "se_module"} | parent
                if isinstance(item, dict) else item for item in items]
        return self.records.insert(rel.related, rows, ctx)

    def update_note(self, rel: Relation, note_id: int, values: Any,
                    ctx: WriteContext) -> list[Any]:
        """`PUT /{module}/{id}/Notes/{note_id}`: a note of this parent, changed."""
        recs, _, _ = self.page(rel, offset=0, limit=1, related_id=note_id)
        if not recs:
            raise InvalidData(BAD_RELATED_ID, {"resource_path_index": 3})
        return self.records.update(rel.related, [values], ctx, path_id=note_id)

    @staticmethod
    def _answers(ids: list[str], outcomes: Sequence[Any]) -> list[Linked]:
        out = []
        for rid, o in zip(ids, outcomes, strict=True):
            err = o.error
            if isinstance(err, InvalidData) and err.details.get("id") == rid:
                err = InvalidData(BAD_RELATED_ID, {"id": rid})  # no such related record
            out.append(Linked(rid, err))
        return out

    @staticmethod
    def _link_error(err: CorralError | None, rel: Relation, rid: int) -> CorralError | None:
        """A missing or deleted related record is Zoho's "related id" error, not a field's."""
        if err is not None and err.details.get("api_name") == rel.rl.connected_field:
            return InvalidData(BAD_RELATED_ID, {"id": str(rid)})
        return err


LINKS_HELD = "links_held"


class UniqueLinks(Step):
    """A pair of records is linked once: a linking module (Campaigns_X_Leads, ...) holds at most
    one live record per pair of its two lookups. Race-free: the pairs of the batch are locked
    (PostgreSQL advisory locks until the transaction ends; SQLite serialises writers) before
    the live links holding them are read, so a concurrent link of the same pair waits and then
    sees this one. A second link of a pair is DUPLICATE_DATA on the related side's lookup."""

    name = "unique_links"

    def __init__(self, lock: Callable[[Tx, list[tuple[int, str]]], None]) -> None:
        self.lock = lock
        self.pairs = linking_pairs()
        self.search = RecordSearch()

    def _pair(self, module: Module, data: dict[str, Any]) -> str | None:
        a, b = self.pairs[module.api_name]
        if data.get(a) is None or data.get(b) is None:
            return None
        return f"{data[a]}:{data[b]}"

    def prepare(self, tx: Tx, batch: Batch) -> None:
        module = batch.module
        if module.api_name not in self.pairs:
            return
        a, b = self.pairs[module.api_name]
        wanted: dict[str, tuple[Any, Any]] = {}
        for p in batch.plans:
            if p.operation not in ("insert", "update"):
                continue
            old = batch.current.get(p.target) if p.target is not None else None
            data = {**(old.data if old is not None else {}), **p.checked.values}
            key = self._pair(module, data)
            if key is not None:
                wanted[key] = (data[a], data[b])
        held: dict[str, set[int]] = {}
        batch.memo[LINKS_HELD] = held
        if not wanted:
            return
        self.lock(tx, [(module.id, k) for k in sorted(wanted)])
        where = And((Cond(Column("module_id"), Op.EQ, (module.id,)),
                     Cond(Column("deleted_time"), Op.IS_NULL),
                     Or(tuple(And((Cond(JsonField(a), Op.EQ, (str(x),)),
                                   Cond(JsonField(b), Op.EQ, (str(y),))))
                              for x, y in wanted.values()))))
        found, _ = self.search.fetch(tx, where, sort_by="id", sort_order="asc", offset=0,
                                     limit=MAX_LINKS)
        for rec in found:
            key = self._pair(module, rec.data)
            if key is not None:
                held.setdefault(key, set()).add(rec.id)

    def active(self, batch: Batch) -> bool:
        return LINKS_HELD in batch.memo

    def check(self, item: Item, batch: Batch) -> Decision | None:
        held: dict[str, set[int]] | None = batch.memo.get(LINKS_HELD)
        if held is None:
            return None
        key = self._pair(batch.module, item.new.data)
        if key is None:
            return None
        others = held.get(key, set()) - {item.new.id}
        if others:
            side = self.pairs[batch.module.api_name][1]
            return Decision(clashes=[Clash(side, batch.module, tuple(sorted(others)))])
        held.setdefault(key, set()).add(item.new.id)  # a later record of the batch sees it
        return None
