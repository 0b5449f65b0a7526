"""Record writes' entry points: insert, update, upsert, delete, and the transaction they run in.

Each entry point turns a request into `Planned` writes and hands them to the one write pipeline
(`records.pipeline`), in a write transaction that is run again from the start when a concurrent
writer got in the way. Other doors (mass update, conversion, blueprints, approvals, automation's
follow-up writes) call `write_batch` too, joined to their own transaction where they have one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from corral.auth.service import Principal
from corral.errors import CorralError, DuplicateData, InvalidData, MandatoryNotFound
from corral.metadata.model import Field, Module
from corral.metadata.registry import Registry
from corral.records import plans as recorded_plans
from corral.records import validate as v
from corral.records.dedup import check_order
from corral.records.keys import normalise
from corral.records.pipeline import WritePipeline, prepare
from corral.records.writes import Outcome, Planned, Step, WriteContext
from corral.storage.database import Database, Tx
from corral.storage.errors import StorageConflict
from corral.storage.repositories.keys import KeyRepository, KeyRow
from corral.storage.repositories.records import RecordRepository, StoredRecord

__all__ = ["Outcome", "Planned", "RecordService", "Retry", "StoredRecord", "WriteContext"]

MAX_WRITE_RETRIES = 8
T = TypeVar("T")


class Retry(Exception):
    """A concurrent writer took a key between our check and our write: run the batch again."""


class RecordService:
    def __init__(self, db: Database, registry: Registry,
                 clock: Callable[[], datetime] | None = None,
                 steps: Sequence[Step] = ()) -> None:
        self.db = db
        self.registry = registry
        self.clock = clock or (lambda: datetime.now(UTC).replace(tzinfo=None))
        self.repo = RecordRepository()
        self.pipeline = WritePipeline(db, registry, steps, self.clock,
                                      lambda m, raw, i, ctx: self.check(m, raw, i,
                                                                        ctx.principal))

    def use_steps(self, steps: Sequence[Step]) -> None:
        """Register the write path's ordered steps (done once, in `corral.services`)."""
        self.pipeline.steps = list(steps)

    def load(self, tx: Tx, module: Module, ids: Sequence[int],
             *, live_only: bool = True) -> dict[int, StoredRecord]:
        return self.repo.load(tx, module.id, ids, live_only=live_only)

    def check(self, module: Module, raw: Any, index: int, principal: Principal) -> v.Checked:
        tz = ZoneInfo(principal.user.time_zone)
        return v.check_record(module, raw, index, tz=tz,
                              read_only=principal.read_only_fields(module.api_name))

    # ------------------------------------------------------------------ the write path
    def write_batch(self, module: Module, plans: Sequence[Planned], ctx: WriteContext,
                    *, match_order: Sequence[Field] | None = None,
                    conn: Tx | None = None, ids: list[int] | None = None,
                    plan_only: bool = False) -> list[Outcome]:
        """Apply planned writes in input order; one outcome per plan.

        With `match_order` (upsert), each plan first looks for an existing record by those
        fields in order, and becomes an update of the first match or an insert. With `conn`,
        the batch joins the caller's transaction (which then owns retries and after-commit
        hooks) and uses `ids`, reserved beforehand, for new records. With `plan_only`, every
        check runs and nothing is written (no record, key, log, outbox row or id).
        """
        outcomes = self._write_batch(module, plans, ctx, match_order=match_order, conn=conn,
                                     ids=ids, plan_only=plan_only)
        recorded_plans.record(module.api_name, outcomes)
        return outcomes

    def _write_batch(self, module: Module, plans: Sequence[Planned], ctx: WriteContext,
                     *, match_order: Sequence[Field] | None, conn: Tx | None,
                     ids: list[int] | None, plan_only: bool) -> list[Outcome]:
        if conn is not None:
            return self.pipeline.run(conn, module, plans, ctx, ids=list(ids or []),
                                     match_order=match_order, plan_only=plan_only)
        if plan_only:
            with self.db.read() as tx:
                return self.pipeline.run(tx, module, plans, ctx, ids=[],
                                         match_order=match_order, plan_only=True)
        inserts = sum(1 for p in plans if p.target is None and p.op is None)
        fresh = self.db.new_ids(inserts) if inserts else []
        prepared = prepare(module, plans)  # before the write lock: it reads no state
        return self.in_write_transaction(lambda tx: self.pipeline.run(
            tx, module, plans, ctx, ids=list(fresh), match_order=match_order,
            prepared=prepared), ctx)

    def in_request_transaction(self, *, dry: bool = False) -> AbstractContextManager[Tx]:
        """One transaction for everything a request writes (see `Database.ambient`): what the
        caller adds in it (an idempotency key's answer) commits with the writes; with `dry`,
        nothing at all is kept (a dry run of the real call)."""
        return self.db.ambient(dry=dry)

    def in_write_transaction(self, work: Callable[[Tx], T], ctx: WriteContext | None = None,
                             ) -> T:
        """Run `work` in a write transaction, again from the start when a concurrent writer
        got in the way; `work` must be re-runnable. After the commit, `ctx.after_commit`
        hooks get the result (once, whatever the number of attempts)."""
        for attempt in range(MAX_WRITE_RETRIES):
            try:
                with self.db.write() as tx:
                    result = work(tx)
            except (Retry, StorageConflict):
                time.sleep(0.005 * (attempt + 1))
                continue
            for hook in ctx.after_commit if ctx is not None else ():
                # Inside an ambient (request-wide) transaction the commit is still to come.
                self.db.after_commit(partial(hook, result))
            return result
        raise CorralError("could not complete the write under contention")

    # ------------------------------------------------------------------ entry points
    def insert(self, module: Module, items: Sequence[Any], ctx: WriteContext, *,
               plan_only: bool = False) -> list[Outcome]:
        plans = [Planned(i, self.check(module, raw, i, ctx.principal))
                 for i, raw in enumerate(items)]
        return self.write_batch(module, plans, ctx, plan_only=plan_only)

    def update(self, module: Module, items: Sequence[Any], ctx: WriteContext,
               *, path_id: int | None = None, plan_only: bool = False) -> list[Outcome]:
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
            plans.append(Planned(i, checked, target=target, op="update"))
        return self.write_batch(module, plans, ctx, plan_only=plan_only)

    def upsert(self, module: Module, items: Sequence[Any], ctx: WriteContext,
               *, duplicate_check_fields: Any = None, plan_only: bool = False) -> list[Outcome]:
        """Insert or update each record by the first field of the check order that matches.

        Several existing records sharing a non-unique system value: the earliest created one is
        updated. Records of one call apply in order, so a later one matches an earlier insert.
        """
        order = check_order(module, duplicate_check_fields)
        plans = [Planned(i, self.check(module, raw, i, ctx.principal))
                 for i, raw in enumerate(items)]
        return self.write_batch(module, plans, ctx, match_order=order, plan_only=plan_only)

    def delete(self, module: Module, raw_ids: Sequence[str], ctx: WriteContext, *,
               plan_only: bool = False) -> list[Outcome]:
        """Soft delete (to the recycle bin); keys are released at once."""
        plans: list[Planned] = []
        for i, raw in enumerate(raw_ids):
            rid = v.parse_record_id(raw)
            checked = v.Checked(values={})
            if rid is None:
                checked.error = InvalidData("record not deleted", {"id": str(raw)})
            plans.append(Planned(i, checked, target=rid, op="delete"))
        outcomes = self.write_batch(module, plans, ctx, plan_only=plan_only)
        for o, raw in zip(outcomes, raw_ids, strict=True):  # name the id as the caller gave it
            if o.error is not None and o.error.message == "record not deleted":
                o.error = InvalidData("record not deleted", {"id": str(raw)})
        return outcomes

    # ------------------------------------------------------------------ key maintenance
    def rebuild_keys(self, tx: Tx, module: Module, f: Field, unique: bool) -> None:
        """Keys of one field after its "Do not allow duplicate values" flag changed; refuses
        (DUPLICATE_DATA naming a pair) while two live records share a value."""
        keys = KeyRepository()
        if not unique:
            if module.dup_check_field == f.api_name:
                keys.set_field_unique(tx, f.id, False)
            else:
                keys.drop_field(tx, f.id)
            return
        seen: dict[str, StoredRecord] = {}
        rows: list[KeyRow] = []
        for rec in self.repo.of_module(tx, module.id):  # earliest created first
            if rec.converted:
                continue  # its keys serve only the converted_records preference
            key = normalise(f, rec.data.get(f.api_name))
            if key is None:
                continue
            if key in seen:
                raise DuplicateData(
                    "duplicate values exist for this field; make them unique first",
                    {"api_name": f.api_name, "duplicate_records": [
                        {"id": str(seen[key].id)}, {"id": str(rec.id)}],
                     "value": rec.data.get(f.api_name)})
            seen[key] = rec
            rows.append(KeyRow(f.id, key, rec.id, True))
        keys.replace_field(tx, f.id, rows)
