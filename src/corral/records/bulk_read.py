"""Bulk Read: a module's records (criteria, fields, custom view) exported as a durable job.

Creating a job fixes its record set: the ids of the requested page (Zoho's 200,000 records a
page; `Settings.bulk_read_page_size`) are stored as `job_items` in the creating transaction,
by the database itself (`INSERT ... SELECT`), never as a list in Python.
The worker renders chunks of them as CSV text, one `bulk_result_parts` row per chunk,
committed with the items' progress; the download streams the parts into a zip, so no result
is ever held whole in memory. A record deleted before its chunk runs is left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from corral.auth.service import Principal
from corral.errors import (
    InvalidCriteria,
    InvalidData,
    InvalidQuery,
    MandatoryNotFound,
    ModuleNotAvailable,
    NotSupported,
    ResourceNotFound,
)
from corral.jobs.runner import ItemDone, ItemOutcome, JobCannotRun
from corral.metadata.model import Module
from corral.records import bulk_files as bf
from corral.records import criteria as cr
from corral.records import validate as v
from corral.records.bulk_write import STATES, callback_of, iso
from corral.records.query import Filters, RecordQuery
from corral.records.writes import WriteContext
from corral.storage.database import Tx
from corral.storage.filters import And, Filter
from corral.storage.repositories.bulk import BulkRepository
from corral.storage.repositories.jobs import Job, JobItem, JobRepository
from corral.storage.repositories.outbox import OutboxRepository, OutboxRow
from corral.storage.repositories.records import StoredRecord

MAX_PAGE = 10_000  # Corral's bound on `page` (Zoho is silent)
COLUMNS = {"Owner": "owner_id", "Created_By": "created_by", "Modified_By": "modified_by",
           "Created_Time": "created_time", "Modified_Time": "modified_time"}
READ_STATES = {**STATES, "FAILED": "FAILURE"}


def v8_criteria(obj: Any, depth: int = 0) -> Any:
    """Bulk read names a condition's field `api_name` (Zoho's Bulk Read samples) where other
    v8 criteria say `field: {api_name}`; both are read."""
    if not isinstance(obj, dict) or depth > 40:
        return obj
    out = dict(obj)
    if "field" not in out and isinstance(out.get("api_name"), str):
        out["field"] = {"api_name": out.pop("api_name")}
    if isinstance(out.get("group"), list):
        out["group"] = [v8_criteria(g, depth + 1) for g in out["group"]]
    return out


def cell_value(value: Any) -> Any:
    """A stored value as a CSV cell: ids for lookups and users, `;`-joined lists."""
    if isinstance(value, list):
        return ";".join(str(x.get("name", x.get("id")) if isinstance(x, dict) else x)
                        for x in value)
    if isinstance(value, dict):
        return value.get("id", orjson.dumps(value).decode())
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def column_reader(name: str) -> Callable[[StoredRecord], Any]:
    """The function giving a record's cell in column `name`, chosen once per chunk (a
    200,000-row export reads millions of cells)."""
    if name == "Id":
        return lambda rec: rec.id
    column = COLUMNS.get(name)
    if column is not None:
        if name.endswith("_Time"):
            return lambda rec: iso(getattr(rec, column))
        return lambda rec: getattr(rec, column)

    def read(rec: StoredRecord) -> Any:
        value = rec.data.get(name)
        return value if value is None or type(value) is str else cell_value(value)

    return read


class BulkReadService:
    def __init__(self, query: RecordQuery, page_size: int) -> None:
        self.query = query
        self.db = query.db
        self.clock = query.service.clock
        self.page_size = page_size
        self.jobs = JobRepository()
        self.bulk = BulkRepository()

    def _module(self, raw: Any) -> Module:
        name = raw.get("api_name") if isinstance(raw, dict) else raw
        if not isinstance(name, str) or not name:
            raise MandatoryNotFound(details={"api_name": "module",
                                             "json_path": "$.query.module"})
        self.query.registry.refresh()
        module = self.query.registry.get(name)
        if module is None:
            raise ModuleNotAvailable(f"Requested module '{name}' is not available.",
                                     {"api_name": "module"})
        return module

    def module_of(self, body: Any) -> Module:
        q = body.get("query") if isinstance(body, dict) else None
        if not isinstance(q, dict):
            raise MandatoryNotFound(details={"api_name": "query", "json_path": "$.query"})
        return self._module(q.get("module"))

    def fields_of(self, module: Module, raw: Any) -> list[str]:
        if raw is None or raw == []:
            return [f.api_name for f in module.fields if f.data_type != "subform"]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise InvalidData(details={"api_name": "fields", "expected_data_type": "jsonarray"})
        for name in raw:
            if name != "id" and module.field(name) is None:
                raise InvalidData("invalid field", {"api_name": name})
        return [n for n in dict.fromkeys(raw) if n != "id"]

    def where(self, module: Module, criteria: cr.Criteria | None, cvid: Any,
              principal: Principal) -> list[Filter]:
        where = self.query.base_where(module, Filters(converted="false", approved="both"))
        tz = ZoneInfo(principal.user.time_zone)
        if criteria is not None:
            try:
                where.append(self.query.compile(module, criteria, tz=tz))
            except InvalidQuery as exc:
                raise InvalidCriteria(details=exc.details) from None
        if cvid is not None:
            view = self.query.visible_view(module, cvid, principal)
            if view is None:
                raise InvalidData("invalid cvid", {"api_name": "cvid"})
            where.append(self.query.view_condition(module, view, principal))
        return where

    def create(self, body: Any, principal: Principal, meta: dict[str, Any],
               request_id: str | None) -> Job:
        """Parse a Create Bulk Read Job body and schedule the job."""
        module = self.module_of(body)
        q = body["query"]
        file_type = body.get("file_type", "csv")
        if file_type not in ("csv", None):
            raise NotSupported("only csv export is supported", {"api_name": "file_type"})
        criteria = None
        if q.get("criteria") is not None:
            if not isinstance(q["criteria"], dict):
                raise InvalidCriteria(details={"api_name": "criteria"})
            try:
                criteria = cr.criteria_from_v8(v8_criteria(q["criteria"]))
            except cr.CriteriaError as exc:
                raise InvalidCriteria(str(exc)) from None
        page = q.get("page", 1)
        if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
            raise InvalidData(details={"api_name": "page", "json_path": "$.query.page"})
        fields = self.fields_of(module, q.get("fields"))
        where = self.where(module, criteria, q.get("cvid"), principal)
        callback = callback_of(body.get("callback"))
        query = {"module": {"api_name": module.api_name, "id": str(module.id)}, "page": page,
                 **({"fields": fields} if q.get("fields") else {}),
                 **({"criteria": q["criteria"]} if criteria is not None else {}),
                 **({"cvid": str(q["cvid"])} if q.get("cvid") is not None else {})}
        return self.schedule(module, where, fields, page, WriteContext(
            principal, request_id=request_id), {**meta, "query": query, "callback": callback})

    def plan_export(self, module_name: str, criteria: str | None, fields: list[str] | None,
                    principal: Principal) -> tuple[Module, list[Filter], list[str]]:
        """`corral export`: the module, the records' filter and the columns, checked."""
        module = self._module(module_name)
        parsed = None
        if criteria:
            try:
                parsed = cr.parse_criteria(criteria)
            except cr.CriteriaError as exc:
                raise InvalidCriteria(str(exc)) from None
        return (module, self.where(module, parsed, None, principal),
                self.fields_of(module, fields or None))

    def counts(self, job_id: int) -> dict[str, int]:
        with self.db.read() as tx:
            return self.jobs.item_counts(tx, job_id)

    def schedule(self, module: Module, where: list[Filter], fields: list[str], page: int,
                 ctx: WriteContext, meta: dict[str, Any], *, size: int | None = None) -> Job:
        """Fix the page's records now: the job and one item per record, in one transaction.
        `size`: records a page (default the configured page size)."""
        job_id = self.db.new_id()
        size = size or self.page_size
        with self.db.write() as tx:
            # The database numbers the items itself; one more than a page tells more_records.
            n = self.jobs.add_selected_items(tx, job_id, And(tuple(where)),
                                             offset=(page - 1) * size, limit=size + 1)
            if n > size:
                self.jobs.drop_items_from(tx, job_id, size)
            job = Job(id=job_id, kind="bulk_read", module_id=module.id, status="SCHEDULED",
                      cvid=None, payload={**meta, "fields": fields, "page": page,
                                          "per_page": size, "more_records": n > size},
                      total=min(n, size), created_by=ctx.user.id,
                      created_time=self.clock(), started_time=None, finished_time=None,
                      request_id=ctx.request_id)
            self.jobs.create(tx, job, [])
        return job

    def job(self, raw_job_id: Any, *, status: int = 404) -> Job:
        """The bulk read job; unknown → RESOURCE_NOT_FOUND (404 for its details, 400 for its
        result, as bulk_read.json documents each)."""
        job_id = v.parse_record_id(raw_job_id)
        with self.db.read() as tx:
            job = self.jobs.get(tx, job_id) if job_id is not None else None
        if job is None or job.kind != "bulk_read":
            raise ResourceNotFound(details={"resource": "job_id"}, status=status)
        return job

    def details(self, job: Job) -> dict[str, Any]:
        with self.db.read() as tx:
            counts = self.jobs.item_counts(tx, job.id)
        return read_details(job, counts, self.query.users().get(job.created_by))

    def result_chunks(self, job: Job, parts_per_read: int = 20) -> Iterator[bytes]:
        """The CSV: a header (`Id` and the fields), then each processed chunk in order, read
        `parts_per_read` parts (of the runner's 500 rows) at a time as the consumer asks."""
        yield bf.csv_text([["Id", *job.payload["fields"]]]).encode()
        after = -1
        while True:
            with self.db.read() as tx:
                parts = self.bulk.parts(tx, job.id, after, parts_per_read)
            if not parts:
                return
            for part in parts:
                yield part.content.encode()
            after = parts[-1].seq


def read_details(job: Job, counts: dict[str, int], creator: Any) -> dict[str, Any]:
    """The job as Zoho's Get Bulk Read Job Details shows it (and its callback)."""
    p = job.payload
    out: dict[str, Any] = {
        "id": str(job.id), "operation": "read",
        "state": READ_STATES.get(job.status, job.status), "query": p["query"],
        "created_by": {"id": str(job.created_by), "name": getattr(creator, "full_name", None)},
        "created_time": iso(job.created_time), "file_type": "csv"}
    if job.status == "COMPLETED":
        out["result"] = {"page": p["page"], "count": counts.get("exported", 0),
                         "download_url": f"/crm/bulk/{p.get('version', 'v8')}/read/"
                                         f"{job.id}/result",
                         "per_page": p["per_page"], "more_records": p["more_records"]}
    if p.get("callback"):
        out["callback"] = p["callback"]
    return out


class BulkReadJobs:
    """The job handler of kind `bulk_read`: each item is one record to export."""

    def __init__(self, query: RecordQuery, users: Callable[[], dict[int, Any]]) -> None:
        self.query = query
        self.users = users
        self.jobs = JobRepository()
        self.bulk = BulkRepository()
        self.outbox = OutboxRepository()

    def run_items(self, tx: Tx, job: Job, items: list[JobItem]) -> list[ItemOutcome]:
        module = self.query.registry.by_id(job.module_id)
        if module is None:
            raise JobCannotRun("module gone")
        recs = self.query.service.load(tx, module, [i.record_id for i in items])
        readers = [column_reader(f) for f in ["Id", *job.payload["fields"]]]
        rows = [[read(recs[i.record_id]) for read in readers]
                for i in items if i.record_id in recs]
        if rows:
            self.bulk.add_part(tx, job.id, items[0].seq, bf.csv_text(rows))
        out: list[ItemOutcome] = []
        for i in items:
            out.append(ItemDone("exported" if i.record_id in recs else "skipped", i.record_id))
        return out

    def finished(self, tx: Tx, job: Job) -> None:
        callback = job.payload.get("callback")
        if not callback:
            return
        counts = self.jobs.item_counts(tx, job.id)
        body = read_details(job, counts, self.users().get(job.created_by))
        (oid,) = self.query.db.reserve_in(tx, 1)
        self.outbox.add(tx, [OutboxRow(id=oid, rule_id=0, module_id=job.module_id,
                                       record_id=job.id, url=callback["url"],
                                       payload={"job_id": str(job.id), **body},
                                       attempts=0)], self.query.service.clock())

