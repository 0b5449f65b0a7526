"""Zoho's merge API (find_and_merge.json): up to two records merged into a master, as a job.

`POST /{module}/{master}/actions/merge` schedules a job of kind `merge`; the worker runs it in
one transaction, every change through the one write path with the job's id (so the merge can be
reverted like any job): the master takes the values of the fields chosen from each child (and
the children's tags); every record that points at a child — lookups of any module, notes'
`Parent_Id`, activities' `What_Id` — is re-pointed at the master; the children's attachments
move to the master (each side's `$attachments` change-logged, so a revert gives them back); the
children go to the recycle bin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from corral.auth.service import Principal
from corral.errors import CorralError, InvalidData, LimitExceeded, MandatoryNotFound
from corral.jobs.runner import JobCannotRun
from corral.metadata.model import Field, Module
from corral.records import plans
from corral.records import validate as v
from corral.records.attachments import log_lists
from corral.records.query import Filters, RecordQuery
from corral.records.service import RecordService
from corral.records.writes import Planned, WriteContext
from corral.storage.database import Tx
from corral.storage.filters import And, Cond, Filter, JsonField, Op
from corral.storage.repositories.attachments import AttachmentRepository
from corral.storage.repositories.jobs import Job, JobItem, JobRepository

MAX_CHILDREN = 2  # Zoho: up to three records, the master and two others
MAX_POINTING = 50_000


@dataclass(frozen=True)
class MergeSpec:
    master: int
    children: tuple[tuple[int, tuple[str, ...]], ...]  # (child id, fields taken from it)


@dataclass(frozen=True)
class MergeStatus:
    job_id: int
    status: str  # SCHEDULED, RUNNING, COMPLETED, FAILURE
    children: tuple[tuple[int, tuple[str, ...]], ...]  # (child id, fields taken from it)


def _bad(path: str, message: str | None = None) -> InvalidData:
    return InvalidData(message, {"json_path": path})


def parse_merge(module: Module, master: int, body: Any) -> MergeSpec:
    items = body.get("merge") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise MandatoryNotFound(details={"api_name": "merge", "json_path": "$.merge"})
    if len(items) > 1 or not isinstance(items[0], dict):
        raise LimitExceeded("merge can have only one entry", {"json_path": "$.merge",
                                                              "limit": 1})
    data = items[0].get("data")
    if not isinstance(data, list) or not data:
        raise MandatoryNotFound(details={"api_name": "data", "json_path": "$.merge[0].data"})
    if len(data) > MAX_CHILDREN:
        raise LimitExceeded("at most two records can be merged into the master",
                            {"json_path": "$.merge[0].data", "limit": MAX_CHILDREN})
    children: list[tuple[int, tuple[str, ...]]] = []
    for i, item in enumerate(data):
        path = f"$.merge[0].data[{i}]"
        rid = v.parse_record_id(item.get("id")) if isinstance(item, dict) else None
        if rid is None or rid == master or rid in {c for c, _f in children}:
            raise _bad(f"{path}.id", "the id given seems to be invalid")
        names: list[str] = []
        for j, raw in enumerate(item.get("_fields") or []):
            name = raw.get("api_name") if isinstance(raw, dict) else None
            f = module.by_name.get(name) if isinstance(name, str) else None
            if f is None or f.read_only or f.system:
                raise _bad(f"{path}._fields[{j}].api_name")
            names.append(f.api_name)
        children.append((rid, tuple(dict.fromkeys(names))))
    return MergeSpec(master, tuple(children))


class _Undo(Exception):
    def __init__(self, error: CorralError) -> None:
        super().__init__(error.message)
        self.error = error


class MergeService:
    def __init__(self, records: RecordService, query: RecordQuery) -> None:
        self.records = records
        self.query = query
        self.db = records.db
        self.clock = records.clock
        self.jobs = JobRepository()
        self.attachments = AttachmentRepository()

    def schedule(self, module: Module, spec: MergeSpec, ctx: WriteContext) -> int:
        job_id = self.db.new_id()
        with self.db.write() as tx:
            ids = [spec.master, *(c for c, _f in spec.children)]
            live = self.records.load(tx, module, ids)
            for n, rid in enumerate(ids):
                if rid not in live or live[rid].converted:
                    path = f"$.merge[0].data[{n - 1}].id"
                    raise InvalidData("the id given seems to be invalid",
                                      {"json_path": path} if n else {"resource_path_index": 1})
            if plans.is_recording():  # a dry run or If-Match: what the job will do, now
                with plans.as_job():
                    self.run(tx, module, spec, job_context(ctx.principal, ctx.request_id,
                                                           job_id), keep=False)
            self.jobs.create(tx, Job(
                id=job_id, kind="merge", module_id=module.id, status="SCHEDULED", cvid=None,
                payload={"master": spec.master,
                         "children": [[c, list(f)] for c, f in spec.children]},
                total=1, created_by=ctx.user.id, created_time=self.clock(), started_time=None,
                finished_time=None, request_id=ctx.request_id), [spec.master])
        return job_id

    def status(self, module: Module, master: int,
               raw_job_id: str | None) -> MergeStatus | None:
        """The merge job named (it must be of this master), else the master's latest one:
        its Zoho status and what it merges; None when the master has none."""
        with self.db.read() as tx:
            if raw_job_id is not None:
                job_id = v.parse_record_id(raw_job_id)
                job = self.jobs.get(tx, job_id, module_id=module.id) if job_id else None
                if job is None or job.kind != "merge" or job.payload.get("master") != master:
                    raise InvalidData(details={"param_name": "job_id"})
            else:
                jobs = [j for j in self.jobs.of_kind(tx, "merge", module.id)
                        if j.payload.get("master") == master]
                if not jobs and master not in self.records.load(tx, module, [master],
                                                                  live_only=False):
                    raise InvalidData("the id given seems to be invalid",
                                      {"resource_path_index": 1})
                job = jobs[-1] if jobs else None
            if job is None:
                return None
            failed = self.jobs.item_counts(tx, job.id).get("failed", 0)
        status = "FAILURE" if job.status == "FAILED" or failed else job.status
        children = tuple((int(c), tuple(str(f) for f in fields))
                         for c, fields in job.payload.get("children") or [])
        return MergeStatus(job.id, status, children)

    # ------------------------------------------------------------------ running
    def pointing(self, module: Module) -> list[tuple[Module, Field, Filter | None]]:
        """Every lookup field of any module that can point at a record of `module`."""
        out: list[tuple[Module, Field, Filter | None]] = []
        for other in self.records.registry.modules():
            for f in other.fields:
                if f.data_type != "lookup":
                    continue
                if f.api_name in v.POLYMORPHIC:
                    out.append((other, f, Cond(JsonField("$se_module"), Op.EQ,
                                               (module.api_name,))))
                elif f.lookup_module == module.api_name:
                    out.append((other, f, None))
        return out

    def run(self, tx: Tx, module: Module, spec: MergeSpec, ctx: WriteContext,
            *, keep: bool = True) -> CorralError | None:
        """The whole merge, or (on any refused write, or when not `keep`: a plan) nothing."""
        try:
            with self.db.savepoint(tx):
                err = self._merge(tx, module, spec, ctx)
                if err is not None or not keep:
                    raise _Undo(err or InvalidData())
        except _Undo as undo:
            return undo.error if keep else None
        return None

    def _merge(self, tx: Tx, module: Module, spec: MergeSpec,
               ctx: WriteContext) -> CorralError | None:
        ids = [spec.master, *(c for c, _f in spec.children)]
        live = self.records.load(tx, module, ids)
        if any(rid not in live for rid in ids):
            return InvalidData("a record of the merge is gone", {"id": str(spec.master)})
        master = live[spec.master]
        values: dict[str, Any] = {}
        tags = list(master.data.get("Tag") or [])
        for child, names in spec.children:
            values.update({n: live[child].data.get(n) for n in names})
            tags += [t for t in live[child].data.get("Tag") or [] if t not in tags]
        if tags != list(master.data.get("Tag") or []):
            values["Tag"] = [str(t) for t in tags]
        err = self._write(tx, module, [Planned(0, v.Checked(values=values), target=master.id,
                                               op="update")], ctx)
        if err is None:
            err = self._repoint(tx, module, spec, ctx)
        if err is None:
            err = self._move_attachments(tx, module, spec, ctx)
        if err is None:
            err = self._write(tx, module, [Planned(i, v.Checked(values={}), target=c, op="delete")
                                           for i, (c, _f) in enumerate(spec.children)], ctx)
        return err

    def _repoint(self, tx: Tx, module: Module, spec: MergeSpec,
                 ctx: WriteContext) -> CorralError | None:
        children = tuple(str(c) for c, _f in spec.children)
        for other, f, extra in self.pointing(module):
            where: list[Filter] = [*self.query.base_where(other, Filters(converted="both",
                                                                         approved="both")),
                                   Cond(JsonField(f.api_name), Op.IN, children)]
            if extra is not None:
                where.append(extra)
            found = self.query.search.ids(tx, And(tuple(where)), limit=MAX_POINTING)
            values = {f.api_name: str(spec.master)}
            if extra is not None:  # a polymorphic lookup names its module beside the id
                values["$se_module"] = module.api_name
            plans = [Planned(i, v.Checked(values=dict(values)), target=rid, op="update")
                     for i, rid in enumerate(found)]
            err = self._write(tx, other, plans, ctx) if plans else None
            if err is not None:
                return err
        return None

    def _move_attachments(self, tx: Tx, module: Module, spec: MergeSpec,
                          ctx: WriteContext) -> CorralError | None:
        """The children's attachments become the master's (as a Lead's become its Contact's)."""
        losers = [c for c, _f in spec.children
                  if self.attachments.move(tx, c, module.id, spec.master)]
        if not losers:
            return None
        return log_lists(self.records, tx, module, [*losers, spec.master], ctx)

    def _write(self, tx: Tx, module: Module, plans: Sequence[Planned],
               ctx: WriteContext) -> CorralError | None:
        for outcome in self.records.write_batch(module, plans, ctx, conn=tx, ids=[]):
            if outcome.error is not None:
                return outcome.error
        return None


def job_context(principal: Principal, request_id: str | None, job_id: int) -> WriteContext:
    """How a merge job writes: under its id, no automation (as the worker runs it)."""
    return WriteContext(principal, request_id=request_id, trigger=(), job_id=job_id,
                        source="merge")


class MergeJobs:
    """The job handler of kind `merge`: one item, the master; the whole merge in one chunk."""

    def __init__(self, service: MergeService,
                 principal_of: Callable[[int], Principal | None]) -> None:
        self.service = service
        self.principal_of = principal_of

    def run_items(self, tx: Tx, job: Job, items: list[JobItem]) -> list[CorralError | None]:
        module = self.service.records.registry.by_id(job.module_id)
        principal = self.principal_of(job.created_by)
        if module is None or principal is None:
            raise JobCannotRun("module or user gone")
        payload = job.payload
        spec = MergeSpec(int(payload["master"]), tuple(
            (int(c), tuple(f)) for c, f in payload["children"]))
        ctx = job_context(principal, job.request_id, job.id)
        return [self.service.run(tx, module, spec, ctx) for _item in items]
