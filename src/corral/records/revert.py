"""Revert (issue 14, item 3): put back what one job or one API call wrote, record by record.

The change log holds every write's full before and after values, so a revert needs nothing
else: per record, the writer's first entry says whether the record existed before and its last
whether it existed after; per field, the first entry's old value is the before-image. Each
record goes back through the one write path (`RecordService.write_batch`, automation off):
an inserted record is deleted, a deleted one restored from the recycle bin (`restore`), an
updated one gets its fields' before-values back, and the attachments it held before (its
`$attachments` before-image: a merge moved them to the master) come back to it. A record
written again after the reverted write (a later change of a field the writer changed, a later
delete or restore) is skipped with the reason unless `force`. A revert is itself a job of
kind `revert`, logged with its own job id, so it can be reverted in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from corral.auth.service import Principal
from corral.errors import (
    CorralError,
    InvalidData,
    MandatoryNotFound,
    NoPermission,
    NotFound,
    RecordChanged,
)
from corral.jobs.runner import JobCannotRun
from corral.records import validate as v
from corral.records.attachments import FIELD as ATTACHMENTS
from corral.records.attachments import log_lists
from corral.records.service import RecordService
from corral.records.writes import Op, Planned, WriteContext
from corral.storage.database import Tx
from corral.storage.repositories.attachments import AttachmentRepository
from corral.storage.repositories.change_log import ChangeEntry, ChangeLogRepository
from corral.storage.repositories.jobs import ACTIVE, Job, JobItem, JobRepository

# Jobs whose writes are logged under their id (a bulk write / import logs the same way).
REVERTIBLE_KINDS = frozenset({"mass_update", "revert", "merge", "bulk_write", "import"})
MAX_SKIPPED_SHOWN = 1000
APPROVAL = "$approval_state"
NOTHING = "nothing to revert: no write was logged for that id"


def nothing_to_revert(name: str) -> InvalidData:
    """The job or request id names no write Corral logged."""
    return InvalidData(NOTHING, {"api_name": name, "json_path": f"$.{name}"})


@dataclass(frozen=True)
class Target:
    """What to revert: one job's writes, or the writes one API call made itself."""

    job_id: int | None = None
    request_id: str | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "request_id": self.request_id}

    @staticmethod
    def parse(body: Any) -> Target:
        """`{"job_id": ID}` or `{"request_id": ID}` (a CLI argument is tried as both)."""
        if not isinstance(body, dict):
            raise MandatoryNotFound(details={"api_name": "job_id", "json_path": "$.job_id"})
        raw_job, raw_req = body.get("job_id"), body.get("request_id")
        if raw_job is None and raw_req is None:
            raise MandatoryNotFound(details={"api_name": "job_id", "json_path": "$.job_id"})
        if raw_job is not None and raw_req is not None:
            raise InvalidData("give either job_id or request_id",
                              {"api_name": "request_id", "json_path": "$.request_id"})
        if raw_job is not None:
            job_id = v.parse_record_id(raw_job)
            if job_id is None:
                raise InvalidData(details={"api_name": "job_id", "json_path": "$.job_id"})
            return Target(job_id=job_id)
        if not isinstance(raw_req, str) or not raw_req or len(raw_req) > 64:
            raise InvalidData(details={"api_name": "request_id", "json_path": "$.request_id"})
        return Target(request_id=raw_req)


@dataclass(frozen=True)
class RecordRevert:
    """What reverting one record does: writes in order, or why it is skipped."""

    record_id: int
    module_id: int
    writes: tuple[tuple[Op, dict[str, Any]], ...] = ()
    skipped: str | None = None
    attachments: tuple[int, ...] | None = None  # the ids it held before (None: untouched)
    approval_state: str | None = None  # its `$approval_state` before (None: untouched)

    def steps(self) -> list[str]:
        """What `RevertService.apply` does to the record, in its order."""
        ops = [op for op, _values in self.writes]
        back = ["attachments back"] if self.attachments is not None else []
        first = ("restore", "unconvert")
        return ([op for op in ops if op in first] + back
                + [op for op in ops if op not in (*first, "delete")]
                + [op for op in ops if op == "delete"])


class _Undo(Exception):
    def __init__(self, error: CorralError) -> None:
        super().__init__(error.message)
        self.error = error


def _attachments_before(mine: Sequence[ChangeEntry]) -> tuple[int, ...] | None:
    """The attachment ids the record held before the writer first changed them."""
    for e in mine:
        if e.operation == "update" and e.field == ATTACHMENTS:
            return tuple(int(x) for x in e.old_value or [])
    return None


def _images(mine: Sequence[ChangeEntry]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per field the writer changed: its value before the first and after the last change."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for e in mine:
        # `$se_module` travels with a polymorphic lookup (a note moved to another module);
        # `$approval_state` goes back through the approval decision context.
        if e.operation == "update" and e.field is not None and (
                not e.field.startswith("$") or e.field in ("$se_module", APPROVAL)):
            before.setdefault(e.field, e.old_value)
            after[e.field] = e.new_value
    return before, after


def _conflict(existed: bool, exists: bool, after: dict[str, Any],
              later: Sequence[ChangeEntry], force: bool) -> str | None:
    """Why the record cannot go back (None: it can)."""
    ops = [e.operation for e in later]
    if exists and "delete" in ops and not force:
        return "the record was deleted after the reverted write"
    if not exists and "restore" in ops:
        return "the record was restored after the reverted write"
    if force:
        return None
    touched = sorted({e.field or e.operation for e in later
                      if not existed or e.field in after})
    if touched:
        return "the record changed after the reverted write: " + ", ".join(touched)
    return None


def plan_record(rid: int, module_id: int, mine: Sequence[ChangeEntry],
                later: Sequence[ChangeEntry], force: bool) -> RecordRevert:
    """The writes that take one record back to before `mine` (the reverted writer's log
    entries for it); `later` are the record's entries logged after them."""
    converted = any(e.operation == "convert" for e in mine)
    existed = mine[0].operation not in ("insert", "restore")
    exists = mine[-1].operation != "delete"
    before, after = _images(mine)
    reason = _conflict(existed, exists, after, later, force)
    if reason is not None:
        return RecordRevert(rid, module_id, skipped=reason)
    back = {f: value for f, value in before.items() if after.get(f) != value}
    approval = back.pop(APPROVAL, None)
    writes: list[tuple[Op, dict[str, Any]]] = []
    moves = [e.operation for e in later if e.operation in ("delete", "restore")]
    if exists and moves and moves[-1] == "delete":  # deleted since (only under force)
        if not existed:
            return RecordRevert(rid, module_id)  # inserted, and in the recycle bin already
        writes.append(("restore", {}))  # back from the recycle bin, then reverted
    if existed and not exists:
        writes.append(("restore", {}))
    if converted:  # the Lead goes back to live, its keys to the unique checks
        writes.append(("unconvert", back))
    elif existed and (back or approval is not None):
        writes.append(("update", back))
    if not existed and exists:
        writes.append(("delete", {}))
    return RecordRevert(rid, module_id, tuple(writes),
                        attachments=_attachments_before(mine) if existed else None,
                        approval_state=approval if existed else None)


class RevertService:
    def __init__(self, records: RecordService) -> None:
        self.records = records
        self.db = records.db
        self.clock = records.clock
        self.log = ChangeLogRepository()
        self.jobs = JobRepository()
        self.attachments = AttachmentRepository()

    # ------------------------------------------------------------------ scheduling
    def _records(self, tx: Tx, target: Target, principal: Principal) -> list[tuple[int, int, int]]:
        if target.job_id is not None:
            job = self.jobs.get(tx, target.job_id)
            if job is None or job.kind not in REVERTIBLE_KINDS:
                raise nothing_to_revert("job_id")
            if job.status in ACTIVE:
                raise InvalidData("the job is still running; revert it once it has finished",
                                  {"api_name": "job_id", "json_path": "$.job_id"})
            owners = {job.created_by}
        found = self.log.records_of_writer(tx, job_id=target.job_id,
                                           request_id=target.request_id)
        if not found:
            name = "job_id" if target.job_id is not None else "request_id"
            raise nothing_to_revert(name)
        if target.job_id is None:
            owners = {e.user_id for e in self.log.of_writer(
                tx, request_id=target.request_id, record_ids=[found[0][0]])}
        if not principal.is_admin and owners != {principal.user.id}:
            raise NoPermission("only an administrator or the user who made the writes may "
                               "revert them")
        return found

    def schedule(self, target: Target, force: bool, ctx: WriteContext) -> int:
        """Fix the records to revert now and store the revert job in the same transaction."""
        job_id = self.db.new_id()
        with self.db.write() as tx:
            found = self._records(tx, target, ctx.principal)
            self.jobs.create(tx, Job(
                id=job_id, kind="revert", module_id=found[0][1], status="SCHEDULED", cvid=None,
                payload={**target.payload, "force": force}, total=len(found),
                created_by=ctx.user.id, created_time=self.clock(), started_time=None,
                finished_time=None, request_id=ctx.request_id), [rid for rid, _m, _l in found])
        return job_id

    def preview(self, target: Target, force: bool, principal: Principal) -> list[RecordRevert]:
        """What a revert would do now, record by record (`corral revert --dry-run`)."""
        with self.db.read() as tx:
            found = self._records(tx, target, principal)
            return self.analyse(tx, target, [rid for rid, _m, _l in found], force)

    def status(self, raw_job_id: Any, principal: Principal | None = None,
               ) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """A revert job's counts and skipped records; with `principal` (an API caller), only
        to an administrator or the user who scheduled it (None: the operator's CLI)."""
        job_id = v.parse_record_id(raw_job_id)
        with self.db.read() as tx:
            job = self.jobs.get(tx, job_id) if job_id is not None else None
            if job is None or job.kind != "revert":
                raise NotFound("Empty response", {"param_name": "job_id"})
            if (principal is not None and not principal.is_admin
                    and job.created_by != principal.user.id):
                raise NoPermission("only an administrator or the user who scheduled the "
                                   "revert may see it")
            counts = self.jobs.item_counts(tx, job.id)
            skipped = self.jobs.items_in_state(tx, job.id, "skipped", MAX_SKIPPED_SHOWN)
        return ({"Status": job.status, "Total_Count": job.total,
                 "Reverted_Count": counts.get("updated", 0),
                 "Skipped_Count": counts.get("skipped", 0),
                 "Failed_Count": counts.get("failed", 0)},
                [{"id": str(rid), "reason": str((err or {}).get("message", ""))}
                 for rid, err in skipped])

    # ------------------------------------------------------------------ running
    def analyse(self, tx: Tx, target: Target, record_ids: Sequence[int],
                force: bool) -> list[RecordRevert]:
        mine: dict[int, list[ChangeEntry]] = {}
        for e in self.log.of_writer(tx, job_id=target.job_id, request_id=target.request_id,
                                    record_ids=record_ids):
            mine.setdefault(e.record_id, []).append(e)
        if not mine:
            return []
        first_last = min(entries[-1].id or 0 for entries in mine.values())
        later: dict[int, list[ChangeEntry]] = {}
        for e in self.log.after(tx, list(mine), first_last):
            if e.id is not None and e.id > (mine[e.record_id][-1].id or 0):
                later.setdefault(e.record_id, []).append(e)
        return [plan_record(rid, mine[rid][0].module_id, mine[rid], later.get(rid, []), force)
                for rid in record_ids if rid in mine]

    def _with_se_module(self, tx: Tx, r: RecordRevert) -> list[tuple[Op, dict[str, Any]]]:
        """A polymorphic lookup (notes' Parent_Id, What_Id) is checked against the module
        `$se_module` names, so a value put back travels with the record's module name."""
        if not any(n in values for _op, values in r.writes for n in v.POLYMORPHIC):
            return list(r.writes)
        rec = self.records.repo.load_any(tx, [r.record_id]).get(r.record_id)
        se_module = rec.data.get("$se_module") if rec is not None else None
        return [(op, {"$se_module": se_module, **values}
                 if se_module and any(n in values for n in v.POLYMORPHIC) else values)
                for op, values in r.writes]

    def apply(self, tx: Tx, reverts: Sequence[RecordRevert],
              ctx: WriteContext) -> list[CorralError | None]:
        """Run the reverts' writes: restores and un-conversions first, then attachments go
        back (to live records), then updates, then deletes; consecutive ones of a module as
        one batch."""
        errors: list[CorralError | None] = [
            RecordChanged(r.skipped, {"id": str(r.record_id)}) if r.skipped else None
            for r in reverts]
        flat = [(i, r.module_id, op, values) for i, r in enumerate(reverts)
                for op, values in self._with_se_module(tx, r)]
        first = ("restore", "unconvert")  # live again before anything is moved back to it
        self._run(tx, reverts, [w for w in flat if w[2] in first], errors, ctx)
        for i, r in enumerate(reverts):
            if r.attachments is not None and errors[i] is None:
                errors[i] = self._attachments_back(tx, r, ctx)
        # Deletes last: deleting a record takes its notes with it, and a note moved to it
        # (a conversion moved the Lead's notes to the Contact) goes back first.
        self._run(tx, reverts, [w for w in flat if w[2] not in (*first, "delete")], errors,
                  ctx)
        self._run(tx, reverts, [w for w in flat if w[2] == "delete"], errors, ctx)
        return errors

    def _run(self, tx: Tx, reverts: Sequence[RecordRevert],
             flat: Sequence[tuple[int, int, Op, dict[str, Any]]],
             errors: list[CorralError | None], ctx: WriteContext) -> None:
        start = 0
        while start < len(flat):
            end = start
            while end < len(flat) and flat[end][1] == flat[start][1]:
                end += 1
            run = [w for w in flat[start:end] if errors[w[0]] is None]
            start = end
            # A record whose approval state goes back is written as an approval decision
            # (which may touch a record locked for approval), the others as plain writes.
            for decided in (False, True):
                part = [w for w in run if (w[2] != "delete"
                                           and reverts[w[0]].approval_state is not None)
                        is decided]
                if part:
                    self._batch(tx, reverts, part, errors,
                                replace(ctx, approval_action=True) if decided else ctx)

    def _batch(self, tx: Tx, reverts: Sequence[RecordRevert],
               run: Sequence[tuple[int, int, Op, dict[str, Any]]],
               errors: list[CorralError | None], ctx: WriteContext) -> None:
        module = self.records.registry.by_id(run[0][1])
        plans = [Planned(n, v.Checked(values=dict(values)), target=reverts[i].record_id, op=op,
                         approval_state=reverts[i].approval_state if op != "delete" else None)
                 for n, (i, _m, op, values) in enumerate(run)]
        outcomes = ([] if module is None else
                    self.records.write_batch(module, plans, ctx, conn=tx, ids=[]))
        for n, (i, _m, _op, _values) in enumerate(run):
            err = outcomes[n].error if outcomes else InvalidData("module gone")
            if err is not None and errors[i] is None:
                errors[i] = err

    def _attachments_back(self, tx: Tx, r: RecordRevert,
                          ctx: WriteContext) -> CorralError | None:
        """Give the record back the attachments it held before (those that still exist),
        and log `$attachments` of it and of the records they leave; all or nothing."""
        owners = self.attachments.owners(tx, r.attachments or ())
        stray = {a: owner for a, owner in owners.items() if owner[1] != r.record_id}
        touched: dict[int, list[int]] = {r.module_id: [r.record_id]}
        for module_id, record_id in stray.values():
            touched.setdefault(module_id, []).append(record_id)
        try:
            with self.db.savepoint(tx):
                self.attachments.move_ids(tx, list(stray), r.module_id, r.record_id)
                for module_id, record_ids in touched.items():
                    module = self.records.registry.by_id(module_id)
                    err = (InvalidData("module gone") if module is None else
                           log_lists(self.records, tx, module, record_ids, ctx))
                    if err is not None:
                        raise _Undo(err)
        except _Undo as undo:
            return undo.error
        return None


class RevertJobs:
    """The job handler of kind `revert`: each item is one record to take back."""

    def __init__(self, service: RevertService,
                 principal_of: Callable[[int], Principal | None]) -> None:
        self.service = service
        self.principal_of = principal_of

    def run_items(self, tx: Tx, job: Job, items: list[JobItem]) -> list[CorralError | None]:
        principal = self.principal_of(job.created_by)
        if principal is None:
            raise JobCannotRun("user gone")
        payload = job.payload
        target = Target(job_id=payload.get("job_id"), request_id=payload.get("request_id"))
        ids = [item.record_id for item in items]
        by_id = {r.record_id: r for r in self.service.analyse(
            tx, target, ids, bool(payload.get("force")))}
        ctx = WriteContext(principal, request_id=job.request_id, trigger=(), job_id=job.id,
                           source="revert")
        reverts = [by_id.get(rid, RecordRevert(rid, job.module_id)) for rid in ids]
        return self.service.apply(tx, reverts, ctx)
