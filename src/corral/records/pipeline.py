"""The one record-write pipeline: prepare → resolve → compose → registered steps → stage → flush
→ effects.

Every change to a record (insert, update, upsert, delete, mass update, lead conversion,
approval decisions, automation's follow-up writes) runs through `WritePipeline.run` inside one
transaction. The pipeline owns only what every write needs — finding the target record,
building its new state, moving keys in the batch's view, staging rows — and runs the ordered
list of steps registered in `corral.services` for everything else. All checks of a record run
before anything is written; a record that fails leaves no trace while the others commit.

`prepare` works out what no database state decides (each plan's normalised keys) before the
write transaction, so outside the write lock; `run` decides everything else on the state it
reads under the lock, whatever happened in between.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import count
from zoneinfo import ZoneInfo

from corral.errors import ConvertedRecord, CorralError, InvalidData
from corral.metadata.model import Field, Module
from corral.metadata.registry import Registry
from corral.records import validate as v
from corral.records.duplicates import duplicate_error
from corral.records.keys import normalise
from corral.records.staging import Staged
from corral.records.writes import (
    Batch,
    Clash,
    FollowUp,
    Item,
    Outcome,
    Planned,
    Step,
    WriteContext,
)
from corral.storage.database import Database, Tx
from corral.storage.repositories.keys import KeyRepository
from corral.storage.repositories.outbox import OutboxRepository, OutboxRow
from corral.storage.repositories.owners import OwnerRepository
from corral.storage.repositories.records import RecordRepository, StoredRecord

Checker = Callable[[Module, object, int, WriteContext], v.Checked]
KEYED_OPS = frozenset({"insert", "update"})  # ops whose keys come from the request's values


@dataclass(frozen=True)
class Prepared:
    """What a batch needs that no database state decides, worked out before its transaction:
    plan index -> field id -> normalised key, of the key fields the plan's values give."""

    keys: dict[int, dict[int, str]]


def prepare(module: Module, plans: Sequence[Planned]) -> Prepared:
    """The batch's pre-lock work (pure): normalised keys of the inserts' and updates' values."""
    fields = module.key_fields
    keys: dict[int, dict[int, str]] = {}
    for p in plans:
        if p.checked.error is None and p.operation in KEYED_OPS:
            values = p.checked.values
            mine: dict[int, str] = {}
            for f in fields:
                key = normalise(f, values.get(f.api_name))
                if key is not None:
                    mine[f.id] = key
            keys[p.index] = mine
    return Prepared(keys)


class WritePipeline:
    def __init__(self, db: Database, registry: Registry, steps: Sequence[Step],
                 clock: Callable[[], datetime], check: Checker) -> None:
        self.db = db
        self.registry = registry
        self.steps = list(steps)
        self.clock = clock
        self.check = check
        self.records = RecordRepository()
        self.keys = KeyRepository()
        self.owners = OwnerRepository()
        self.outbox = OutboxRepository()

    def run(self, tx: Tx, module: Module, plans: Sequence[Planned], ctx: WriteContext, *,
            ids: list[int], match_order: Sequence[Field] | None = None,
            plan_only: bool = False, prepared: Prepared | None = None) -> list[Outcome]:
        """Apply the plans in input order; one outcome per plan. With `plan_only`, run every
        check and return what would happen, writing nothing and consuming no id. `prepared`:
        `prepare(module, plans)` done before the transaction (else done here)."""
        if prepared is None:
            prepared = prepare(module, plans)
        work = [p.copy() for p in plans]  # the pipeline sets target and duplicate_field
        batch = Batch(module=module, ctx=ctx, now=self.clock(), tz=ZoneInfo(ctx.user.time_zone),
                      plans=work)
        outcomes = {p.index: Outcome(p.index, error=p.checked.error)
                    for p in work if p.checked.error is not None}
        live = [p for p in work if p.checked.error is None]
        self._prefetch(tx, batch, live, prepared)
        checks = self._checks(batch)
        fresh_ids: Iterator[int] = iter(ids) if not plan_only else (-n for n in count(1))
        staged = Staged(module, ctx, batch.now)
        accepted: list[Item] = []
        for p in live:
            given = prepared.keys.get(p.index)
            item_or_error = self._resolve(p, batch, match_order, fresh_ids, given)
            if isinstance(item_or_error, CorralError):
                outcomes[p.index] = Outcome(p.index, error=item_or_error)
                continue
            item = item_or_error
            err = self._judge(tx, item, batch, checks[item.op])
            if err is not None:
                outcomes[p.index] = Outcome(p.index, error=err)
                continue
            outcomes[p.index] = staged.add(item, self._accept(item, batch, given), batch)
            accepted.append(item)
        if not plan_only:
            staged.flush(tx, self.records, self.keys)
            self._effects(tx, batch, accepted)
        return [outcomes[p.index] for p in work]

    # ------------------------------------------------------------------ prefetch
    def _prefetch(self, tx: Tx, batch: Batch, live: list[Planned], prepared: Prepared) -> None:
        """Who holds each candidate key (one query per key field), the records the batch
        touches, and whatever each step loads for itself."""
        module = batch.module
        binned = self._binned(tx, module, live)
        # A Lead un-converted (a revert of its conversion) takes its keys back like a restore.
        unconverted = self.records.load(tx, module.id, {
            p.target for p in live if p.target is not None and p.operation == "unconvert"})
        candidates: dict[int, set[str]] = {}
        for p in live:
            if p.operation in KEYED_OPS:
                given = prepared.keys.get(p.index)
                if given is None:  # a plan `prepared` was not made from
                    given = prepare(module, [p]).keys.get(p.index, {})
                for fid, key in given.items():
                    candidates.setdefault(fid, set()).add(key)
            elif p.operation in ("restore", "unconvert"):
                values = (binned[p.target].data if p.target in binned
                          else {**unconverted[p.target].data, **p.checked.values}
                          if p.target in unconverted else {})
                for f in module.key_fields:
                    norm = normalise(f, values.get(f.api_name))
                    if norm is not None:
                        candidates.setdefault(f.id, set()).add(norm)
        self.db.lock_keys(tx, [(fid, k) for fid, ks in candidates.items() for k in ks])
        batch.holders = self.keys.holders(tx, candidates)
        batch.memo["candidates"] = candidates
        wanted = {p.target for p in live if p.target is not None and p.operation != "restore"}
        wanted |= {rid for rids in batch.holders.values() for rid in rids}
        batch.current = self.records.load(tx, module.id, wanted)
        batch.current.update(binned)
        batch.ranks = {rid: (r.created_time, rid) for rid, r in batch.current.items()}
        # A record in the recycle bin holds no key (its delete released them).
        batch.keys = {rid: batch.keys_of(r) if r.deleted_time is None and rid not in
                      unconverted else {} for rid, r in batch.current.items()}
        for step in self.steps:
            step.prepare(tx, batch)

    def _checks(self, batch: Batch) -> dict[str, list[Step]]:
        """Per operation, the steps whose `check` can decide something in this batch."""
        active = [s for s in self.steps if s.active(batch)]
        checks = {op: [s for s in active if op in s.ops]
                  for op in ("insert", "update", "delete", "convert", "restore")}
        # Un-converting a Lead is an update that also takes its keys back (unique checks).
        checks["unconvert"] = [s for s in active if {"update", "restore"} & s.ops]
        return checks

    def _binned(self, tx: Tx, module: Module, live: list[Planned]) -> dict[int, StoredRecord]:
        """The records in the recycle bin that the batch restores (their keys come back)."""
        wanted = {p.target for p in live if p.target is not None and p.operation == "restore"}
        return {rid: r for rid, r in self.records.load(
            tx, module.id, wanted, live_only=False).items() if r.deleted_time is not None}

    # ------------------------------------------------------------------ one record
    def _resolve(self, p: Planned, batch: Batch, match_order: Sequence[Field] | None,
                 fresh_ids: Iterator[int], given: dict[int, str] | None) -> Item | CorralError:
        """The record the plan writes (its upsert match or target) and its new state."""
        if match_order is not None:
            p.target, p.duplicate_field = None, None
            for f in match_order:
                key = (given.get(f.id) if given is not None
                       else normalise(f, p.checked.values.get(f.api_name)))
                found = batch.holders.get((f.id, key)) if key is not None else None
                if found:
                    p.target = batch.earliest(found)[0]
                    p.duplicate_field = f.api_name
                    break
        old = None
        if p.target is not None:
            old = batch.current.get(p.target)
            if old is not None and (old.deleted_time is not None) != (p.operation == "restore"):
                old = None  # only a restore reaches a record in the recycle bin
            if old is None and p.operation == "restore":
                return InvalidData("record not in the recycle bin", {"id": str(p.target)})
            if old is None:
                message = ("record not deleted" if p.operation == "delete"
                           else "the id given seems to be invalid")
                return InvalidData(message, {"id": str(p.target)})
            if old.converted != (p.operation == "unconvert"):
                if p.operation == "unconvert":
                    return InvalidData("record not converted", {"id": str(old.id)})
                return ConvertedRecord(details={"id": str(old.id)})
        new = self._compose(p, old, batch, fresh_ids)
        return Item(plan=p, old=old, new=new)

    @staticmethod
    def _compose(p: Planned, old: StoredRecord | None, batch: Batch,
                 fresh_ids: Iterator[int]) -> StoredRecord:
        """The record as the plan would leave it (checks come after)."""
        ctx, now, module = batch.ctx, batch.now, batch.module
        if old is None:
            new = StoredRecord(id=next(fresh_ids), module_id=module.id, data={},
                               owner_id=ctx.user.id, created_by=ctx.user.id,
                               modified_by=ctx.user.id, created_time=now, modified_time=now)
        else:
            new = old.modified(ctx.user.id, now)
        if p.operation == "delete":
            new.deleted_time, new.deleted_by = now, ctx.user.id
            return new
        if p.operation == "restore":
            new.deleted_time, new.deleted_by = None, None
            return new
        if p.operation in ("convert", "unconvert"):
            new.converted = p.operation == "convert"
        if p.approval_state is not None:
            new.approval_state = p.approval_state
        values = dict(p.checked.values)
        owner = values.pop("Owner", None)
        if owner is not None:
            new.owner_id = int(owner)
        if not p.checked.append:
            new.data.update(values)
        for name, value in values.items() if p.checked.append else ():
            if name in p.checked.append and isinstance(value, list):
                value = list(dict.fromkeys([*(new.data.get(name) or []), *value]))
            new.data[name] = value
        if "Full_Name" in module.by_name and (old is None
                                              or {"First_Name", "Last_Name"} & values.keys()):
            new.data["Full_Name"] = v.full_name(new.data)
        return new

    def _judge(self, tx: Tx, item: Item, batch: Batch,
               steps: list[Step]) -> CorralError | None:
        """Run the batch's active steps in order; the first error, or the duplicate clashes."""
        clashes: list[Clash] = []
        for step in steps:
            decision = step.check(item, batch)
            if decision is None:
                continue
            if decision.error is not None:
                return decision.error
            clashes += decision.clashes
            item.new.data.update(decision.set_values)
            if decision.approval_state is not None:
                item.new.approval_state = decision.approval_state
            item.tags.update(decision.tags)
        if not clashes:
            return None
        owner_of = {rid: r.owner_id for rid, r in batch.current.items()}
        owner_of.update(batch.memo.get("owners_of_holders", {}))
        firsts = {owner_of[c.holders[0]] for c in clashes if c.holders[0] in owner_of}
        return duplicate_error(clashes, item.index, owner_of, self.owners.names(tx, firsts))

    @staticmethod
    def _new_keys(item: Item, batch: Batch, given: dict[int, str] | None) -> dict[int, str]:
        """The record's keys as it now stands: a value still the one the request gave keeps
        the key `prepare` made of it; one a step or the stored record gave is normalised."""
        data, values = item.new.data, item.values
        out: dict[int, str] = {}
        for f in batch.module.key_fields:
            value = data.get(f.api_name)
            if given is not None and f.api_name in values and values[f.api_name] is value:
                key = given.get(f.id)
            else:
                key = normalise(f, value)
            if key is not None:
                out[f.id] = key
        return out

    @classmethod
    def _accept(cls, item: Item, batch: Batch, given: dict[int, str] | None) -> dict[int, str]:
        """Move the record's keys in the batch's view, so later records see it; its keys."""
        new = item.new
        old_keys = batch.keys.get(new.id, {})
        new_keys = {} if item.op == "delete" else cls._new_keys(item, batch, given)
        for fid, key in old_keys.items():
            if new_keys.get(fid) != key:
                batch.holders.get((fid, key), set()).discard(new.id)
        for fid, key in new_keys.items():
            batch.holders.setdefault((fid, key), set()).add(new.id)
        batch.memo.setdefault("orig_keys", {}).setdefault(new.id, old_keys)
        batch.keys[new.id] = new_keys
        batch.ranks.setdefault(new.id, (new.created_time, new.id))
        if item.op == "delete":
            batch.current.pop(new.id, None)
        else:
            batch.current[new.id] = new
        return new_keys

    # ------------------------------------------------------------------ after the batch
    def _effects(self, tx: Tx, batch: Batch, accepted: list[Item]) -> None:
        """Outbox rows and follow-up writes the steps asked for, in this transaction."""
        follow = FollowUp()
        for step in self.steps:
            if type(step).effects is Step.effects:
                continue  # a check only
            mine = [i for i in accepted if i.op in step.ops]
            result = step.effects(mine, batch) if mine else None
            if result is not None:
                follow.outbox += result.outbox
                follow.writes += result.writes
        need = len(follow.outbox) + sum(len(w.items) for w in follow.writes)
        ids = self.db.reserve_in(tx, need)
        # Outbox rows take the lowest ids in the order the steps gave them: a channel's
        # callbacks are delivered in id order.
        box_ids, ids = ids[:len(follow.outbox)], ids[len(follow.outbox):]
        self.outbox.add(tx, [OutboxRow(id=i, rule_id=o.rule_id, module_id=batch.module.id,
                                       record_id=o.record_id, url=o.url, payload=o.payload,
                                       attempts=0, channel_key=o.channel_key)
                             for i, o in zip(box_ids, follow.outbox, strict=True)], batch.now)
        for write in follow.writes:
            module = self.registry.require(write.module)
            ctx = replace(batch.ctx, trigger=(), layout_rules=False, automation_tags=write.tags)
            plans = [Planned(i, self.check(module, raw, i, ctx))
                     for i, raw in enumerate(write.items)]
            mine_ids = [ids.pop() for _ in plans]
            plans += [Planned(len(plans) + i, v.Checked(values={}), target=rid, op="delete")
                      for i, rid in enumerate(write.deletes)]
            for outcome in self.run(tx, module, plans, ctx, ids=mine_ids):
                if outcome.error is not None:
                    raise outcome.error
