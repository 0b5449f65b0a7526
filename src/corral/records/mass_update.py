"""Mass update (facts §5): instantly by ids, or as a durable background job over a custom view.

Both modes change records only through `RecordService.write_batch`, so validation, unique
fields, duplicate-check preferences and the change log apply to every record. A job's records
are fixed when it is scheduled (one `job_items` row each, written in the scheduling
transaction); `jobs.runner` processes them in chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from corral.auth.service import Principal
from corral.errors import (
    AlreadyScheduled,
    CorralError,
    InvalidData,
    LimitExceeded,
    MandatoryNotFound,
    NoPermission,
    NoRecordsFound,
    NotFound,
)
from corral.jobs.runner import CHUNK, JobCannotRun
from corral.metadata.model import Module
from corral.records import plans
from corral.records import validate as v
from corral.records.query import Filters, RecordQuery
from corral.records.service import RecordService
from corral.records.writes import Outcome, Planned, WriteContext
from corral.storage.database import Tx
from corral.storage.filters import And, Filter, InTerritories
from corral.storage.repositories.jobs import Job, JobItem, JobRepository

MAX_IDS = 500
MAX_JOB_RECORDS = 50_000
# Automation runs for scheduled jobs only when they cover fewer records than this (facts §5).
JOB_AUTOMATION_LIMIT = 1000



def _wrapped(err: CorralError) -> CorralError:
    # Mass-update body errors travel inside `data`, as in Zoho's Kaizen #57 samples; the
    # handler says so when it renders them (see api/actions.py).
    return err


@dataclass(frozen=True)
class MassSpec:
    values: dict[str, Any]
    append: frozenset[str]


def build_checked(spec: MassSpec) -> v.Checked:
    return v.Checked(values=dict(spec.values), append=spec.append)


class MassUpdateService:
    def __init__(self, records: RecordService, query: RecordQuery) -> None:
        self.records = records
        self.query = query
        self.db = records.db
        self.clock = records.clock
        self.jobs = JobRepository()

    # ------------------------------------------------------------------ parsing
    def prepare(self, module: Module, body: dict[str, Any], principal: Principal) -> MassSpec:
        data = body.get("data")
        if not isinstance(data, list) or len(data) != 1 or not isinstance(data[0], dict):
            raise _wrapped(InvalidData("No field found", {"api_name": "data",
                                                          "json_path": "$.data"}))
        raw = data[0]
        names = [k for k in raw if module.field(k) is not None]
        if not names:
            raise _wrapped(InvalidData("No field found", {"json_path": "$.data[0]"}))
        limit = 3 if module.api_name == "Deals" else 1
        if len(names) > limit:
            raise _wrapped(InvalidData("Max field limit exceeded",
                                       {"limit": limit, "json_path": "$.data[0]"}))
        denied = principal.read_only_fields(module.api_name)
        for name in names:
            f = module.by_name[name]
            if name in denied:
                raise _wrapped(NoPermission("Field Edit Permission not given",
                                            {"api_name": name}))
            if not f.mass_update:
                raise _wrapped(InvalidData("This field cannot be updated in the Mass Update",
                                           {"api_name": name, "json_path": f"$.data[0].{name}"}))
        checked = self.records.check(module, {k: raw[k] for k in names}, 0, principal)
        if checked.error is not None:
            raise _wrapped(checked.error)
        over_write = body.get("over_write")
        if over_write is not None and not isinstance(over_write, bool):
            raise _wrapped(InvalidData(details={"api_name": "over_write",
                                                "json_path": "$.over_write",
                                                "expected_data_type": "boolean"}))
        append = frozenset() if over_write else frozenset(
            n for n in names if module.by_name[n].data_type == "multiselectpicklist")
        return MassSpec(values=checked.values, append=append)

    # ------------------------------------------------------------------ instant mode
    def update_ids(self, module: Module, raw_ids: Any, spec: MassSpec,
                   ctx: WriteContext) -> list[Outcome]:
        if not isinstance(raw_ids, list) or not raw_ids:
            raise _wrapped(MandatoryNotFound(details={"api_name": "ids",
                                                      "json_path": "$.ids"}))
        if len(raw_ids) > MAX_IDS:
            raise _wrapped(LimitExceeded("Record count exceeded", {"limit": MAX_IDS}))
        plans: list[Planned] = []
        for i, raw in enumerate(raw_ids):
            rid = v.parse_record_id(raw)
            checked = build_checked(spec)
            if rid is None:
                checked.error = InvalidData("the id given seems to be invalid", {"id": str(raw)})
            plans.append(Planned(i, checked, target=rid))
        outcomes = self.records.write_batch(module, plans, ctx)
        for o in outcomes:  # Zoho's mass-update sample: unknown ids say just {"id": ...}
            if o.error is not None and o.error.code == "INVALID_DATA" and "id" in o.error.details:
                o.error = InvalidData("the id given seems to be invalid",
                                      {"id": o.error.details["id"]})
        return outcomes

    # ------------------------------------------------------------------ scheduled mode
    def _where(self, module: Module, cvid: Any, territory: Any,
               principal: Principal) -> tuple[int, list[Filter]]:
        try:
            view = self.query.visible_view(module, cvid, principal)
        except NoPermission as exc:
            raise _wrapped(exc) from None
        if view is None:
            raise _wrapped(InvalidData("invalid cvid", {"api_name": "cvid",
                                                        "json_path": "$.cvid"}))
        filters = Filters(converted="true" if view.system_name == "CONVERTEDVIEWS" else "false")
        where = self.query.base_where(module, filters)
        where.append(self.query.view_condition(module, view, principal))
        if territory is not None:
            where.append(self._territory_condition(territory))
        return int(view.id), where

    def _territory_condition(self, territory: Any) -> Filter:
        raw = territory.get("id") if isinstance(territory, dict) else None
        tid = v.parse_record_id(raw)
        with self.db.read() as tx:
            known = self.query.search.territory_parents(tx)
        if tid is None or tid not in known:
            raise _wrapped(InvalidData(details={"api_name": "territory",
                                                "json_path": "$.territory.id"}))
        wanted = {tid}
        if isinstance(territory, dict) and territory.get("include_child") is True:
            changed = True
            while changed:
                extra = {k for k, parent in known.items() if parent in wanted} - wanted
                wanted |= extra
                changed = bool(extra)
        return InTerritories(frozenset(wanted))

    def schedule(self, module: Module, cvid: Any, territory: Any, spec: MassSpec,
                 ctx: WriteContext) -> int:
        """Fix the view's records now and store the job in the same transaction."""
        vid, where = self._where(module, cvid, territory, ctx.principal)
        job_id = self.db.new_id()
        with self.db.write() as conn:
            # One active job per view: serialise schedulers of the same view (PostgreSQL).
            self.db.lock_keys(conn, [(0, f"mass_update:{vid}")])
            if self.jobs.active_for_view(conn, module.id, vid) is not None:
                raise _wrapped(AlreadyScheduled())
            ids = self.query.search.ids(conn, And(tuple(where)), limit=MAX_JOB_RECORDS + 1)
            if len(ids) > MAX_JOB_RECORDS:
                raise _wrapped(LimitExceeded("Record count exceeded",
                                             {"limit": MAX_JOB_RECORDS}))
            if not ids:
                raise _wrapped(NoRecordsFound())
            if plans.is_recording():  # a dry run or If-Match: what the job will do, now
                self._plan_job(conn, module, spec, ctx, ids)
            self.jobs.create(conn, Job(
                id=job_id, kind="mass_update", module_id=module.id, status="SCHEDULED",
                cvid=vid, payload={"values": spec.values, "append": sorted(spec.append),
                                   "trigger": list(ctx.trigger) if ctx.trigger is not None
                                   else None},
                total=len(ids), created_by=ctx.user.id, created_time=self.clock(),
                started_time=None, finished_time=None, request_id=ctx.request_id), ids)
        return job_id

    def _plan_job(self, tx: Tx, module: Module, spec: MassSpec, ctx: WriteContext,
                  ids: list[int]) -> None:
        """Plan every record the job will update, as the worker's chunks will (automation
        only under JOB_AUTOMATION_LIMIT records), and record it as the job's plan."""
        trigger = None if len(ids) < JOB_AUTOMATION_LIMIT else ()
        job_ctx = replace(ctx, trigger=trigger)
        outcomes: list[Outcome] = []
        for start in range(0, len(ids), CHUNK):
            chunk = [Planned(start + i, build_checked(spec), target=rid, op="update")
                     for i, rid in enumerate(ids[start:start + CHUNK])]
            outcomes += self.records.pipeline.run(tx, module, chunk, job_ctx, ids=[],
                                                  plan_only=True)
        plans.record(module.api_name, outcomes, job=True)

    def status(self, module: Module, raw_job_id: Any) -> dict[str, Any]:
        job_id = v.parse_record_id(raw_job_id)
        with self.db.read() as tx:
            job = self.jobs.get(tx, job_id, module_id=module.id) if job_id else None
            if job is None:
                raise NotFound("Empty response", {"param_name": "job_id"})
            counts = self.jobs.item_counts(tx, job.id)
        return {"Status": job.status, "Total_Count": job.total,
                "Updated_Count": counts.get("updated", 0),
                "Not_Updated_Count": counts.get("pending", 0),
                "Failed_Count": counts.get("failed", 0)}


    def job(self, raw_job_id: Any) -> Job | None:
        job_id = v.parse_record_id(raw_job_id)
        with self.db.read() as tx:
            return self.jobs.get(tx, job_id) if job_id else None

    def recent(self, limit: int = 50) -> list[Job]:
        with self.db.read() as tx:
            return self.jobs.recent(tx, limit)

    def recent_with_counts(self, limit: int = 50) -> list[tuple[Job, dict[str, int]]]:
        """The newest jobs of every kind with their item counts by state (the console)."""
        with self.db.read() as tx:
            jobs = self.jobs.recent(tx, limit)
            counts = self.jobs.item_counts_of(tx, [j.id for j in jobs])
        return [(j, counts.get(j.id, {})) for j in jobs]

    def progress(self, job: Job, failures: int = 100,
                 ) -> tuple[dict[str, int], list[tuple[int, dict[str, Any]]]]:
        """Item counts by state and the first failed items with their errors."""
        with self.db.read() as tx:
            return self.jobs.item_counts(tx, job.id), self.jobs.failures(tx, job.id, failures)


class MassUpdateJobs:
    """The job handler of kind `mass_update`: each item is one record to update."""

    def __init__(self, records: RecordService,
                 principal_of: Callable[[int], Principal | None]) -> None:
        self.records = records
        self.principal_of = principal_of

    def run_items(self, tx: Tx, job: Job, items: list[JobItem]) -> list[CorralError | None]:
        module = self.records.registry.by_id(job.module_id)
        principal = self.principal_of(job.created_by)
        if module is None or principal is None:  # module or user gone: nothing can be applied
            raise JobCannotRun("module or user gone")
        payload = job.payload
        spec = MassSpec(values=payload["values"], append=frozenset(payload.get("append", [])))
        # Scheduled jobs run automation only when they cover fewer than 1,000 records (facts §5).
        trigger = None if job.total < JOB_AUTOMATION_LIMIT else ()
        ctx = WriteContext(principal, request_id=job.request_id, trigger=trigger, job_id=job.id,
                           source="mass_update")
        plans = [Planned(i, build_checked(spec), target=item.record_id, op="update")
                 for i, item in enumerate(items)]
        outcomes = self.records.write_batch(module, plans, ctx, conn=tx, ids=[])
        return [o.error for o in outcomes]
