"""Bulk Write: a zipped CSV applied to a module as a durable job, row by row through the one
write path.

Creating a job reads the uploaded file once, checks the mapping and stores one `job_items` row
per CSV row (its cells) with the job, in one transaction. The worker (`jobs.runner`) then claims
chunks of rows; `BulkWriteJobs.run_items` turns a chunk into planned writes and applies them
with `RecordService.write_batch` joined to the chunk's transaction, so the records, their
change log (carrying the job id) and the rows' outcomes commit together: after a crash the
same rows are pending again and nothing is applied twice. Each row's outcome (record id,
ADDED / UPDATED / SKIPPED, errors) is kept on its item for the result file.

Zoho's bulk write runs no workflow, approval or blueprint automation on the rows (as its
import); Corral does the same (`WriteContext.trigger=()`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from corral.auth.service import Principal
from corral.errors import (
    CorralError,
    InvalidCallbackMethod,
    InvalidCallbackUrl,
    InvalidData,
    InvalidFileFormat,
    InvalidFileId,
    LimitExceeded,
    MandatoryFieldsNotMapped,
    MandatoryNotFound,
    ModuleNotAvailable,
    ResourceNotFound,
)
from corral.jobs.runner import CHUNK, ItemDone, ItemOutcome, JobCannotRun
from corral.metadata.model import Field, Module
from corral.records import bulk_files as bf
from corral.records import plans
from corral.records import validate as v
from corral.records.dedup import check_order
from corral.records.query import Filters, RecordQuery
from corral.records.service import RecordService
from corral.records.writes import Planned, WriteContext
from corral.storage.database import Tx
from corral.storage.filters import And, Cond, JsonField, Op
from corral.storage.repositories.bulk import BulkFile, BulkRepository
from corral.storage.repositories.jobs import Job, JobItem, JobRepository
from corral.storage.repositories.outbox import OutboxRepository, OutboxRow

MAX_ZIP = 25 * 1024 * 1024  # Zoho: one CSV in a zip of at most 25 MB
MAX_ROWS = 25_000  # Zoho: at most 25,000 records per file
OPERATIONS = ("insert", "update", "upsert")
INT_RE = re.compile(r"-?[0-9]+")
URL_RE = re.compile(r"^https?://[^\s/]+(/\S*)?$")
LIVE = Filters(converted="false", approved="both")
STATES = {"SCHEDULED": "ADDED", "RUNNING": "IN PROGRESS", "COMPLETED": "COMPLETED",
          "FAILED": "FAILED"}


@dataclass(frozen=True)
class Mapping:
    """A field fed from a CSV column (`index`) and/or a default; lookups found by `find_by`."""

    api_name: str
    index: int | None
    find_by: str | None = None
    default: Any = None


@dataclass(frozen=True)
class WriteSpec:
    operation: str
    mappings: tuple[Mapping, ...]
    find_by: str | None = None
    ignore_empty: bool = False

    def as_payload(self) -> dict[str, Any]:
        return {"operation": self.operation, "find_by": self.find_by,
                "ignore_empty": self.ignore_empty,
                "mappings": [m.__dict__ for m in self.mappings]}

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> WriteSpec:
        return cls(operation=p["operation"], find_by=p.get("find_by"),
                   ignore_empty=bool(p.get("ignore_empty")),
                   mappings=tuple(Mapping(**m) for m in p["mappings"]))


def iso(dt: datetime | None) -> str | None:
    return None if dt is None else dt.replace(microsecond=0).isoformat() + "+00:00"


# ----------------------------------------------------------------------------- request parsing
def callback_of(raw: Any) -> dict[str, str] | None:
    """A job's `callback`: `{url, method: post}` (Zoho's only method)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidData(details={"api_name": "callback", "expected_data_type": "jsonobject"})
    method = raw.get("method")
    if method is None or str(method).lower() != "post":
        raise InvalidCallbackMethod(details={"supported_callback_methods": ["post"]})
    url = raw.get("url")
    if not isinstance(url, str) or not URL_RE.match(url):
        raise InvalidCallbackUrl(details={"api_name": "url"})
    return {"url": url, "method": "post"}


def _mapping(module: Module, raw: Any, i: int, width: int) -> Mapping:
    if not isinstance(raw, dict) or not isinstance(raw.get("api_name"), str):
        raise MandatoryNotFound(details={"api_name": "api_name",
                                         "json_path": f"$.resource[0].field_mappings[{i}]"})
    name = raw["api_name"]
    f = module.field(name)
    if name == "id" and isinstance(raw.get("index"), int):
        return Mapping("id", raw["index"])
    if f is None:
        raise InvalidData(f"invalid mapping. invalid api_name {name}.", {"api_name": name})
    index, default = raw.get("index"), raw.get("default_value")
    if index is None and not isinstance(default, dict):
        raise MandatoryNotFound(f"required key index for field {name} is not found in "
                                "request body.", {"api_name": name})
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)
                              or not 0 <= index < width):
        raise InvalidData("column index not found", {"api_name": name, "index": index})
    find_by = raw.get("find_by")
    if find_by is not None and (f.data_type not in ("lookup", "ownerlookup")
                                or not isinstance(find_by, str)):
        raise InvalidData("find_by is only for lookup fields", {"api_name": name})
    return Mapping(name, index, find_by, default.get("value") if isinstance(default, dict)
                   else None)


def mappings_of(module: Module, raw: Any, header: Sequence[str]) -> tuple[Mapping, ...]:
    """The mappings given, or the header's own: `api_name` columns, and `Lookup.Field`
    columns for lookups found by a field of the looked-up module (Zoho's header form)."""
    if raw is not None:
        if not isinstance(raw, list) or not raw:
            raise InvalidData(details={"api_name": "field_mappings",
                                       "expected_data_type": "jsonarray"})
        return tuple(_mapping(module, m, i, len(header)) for i, m in enumerate(raw))
    out: list[Mapping] = []
    for i, column in enumerate(header):
        name, _, by = column.partition(".")
        f = module.field(name)
        if column == "id":
            out.append(Mapping("id", i))
            continue
        if f is None:
            raise InvalidData(f"invalid mapping. invalid api_name {column}.",
                              {"api_name": column, "index": i})
        out.append(Mapping(name, i, (by or None) if f.data_type in ("lookup", "ownerlookup")
                           else None))
    return tuple(out)


def check_spec(module: Module, spec: WriteSpec) -> None:
    """Refuse a job whose mapping cannot work, before anything is stored."""
    names = {m.api_name for m in spec.mappings}
    if spec.operation == "insert":
        missing = [f.api_name for f in module.fields
                   if f.mandatory and f.api_name not in names and f.api_name != "Owner"]
        if missing:
            raise MandatoryFieldsNotMapped(details={"api_names": missing})
    if spec.operation == "update":
        if spec.find_by is None:
            raise MandatoryNotFound("required key find_by is not found in request body.",
                                    {"api_name": "find_by"})
        if spec.find_by != "id" and spec.find_by not in names:
            raise InvalidData("the find_by field is not mapped", {"api_name": spec.find_by})
    if spec.operation in ("update", "upsert") and spec.find_by not in (None, "id"):
        f = module.field(spec.find_by)
        if f is None or not (f.unique or f.api_name == module.dup_check_field):
            raise InvalidData("find_by must be id, a unique field or the duplicate check field",
                              {"api_name": spec.find_by})
    if spec.operation == "upsert" and spec.find_by == "id":
        raise InvalidData("find_by must be a unique field for upsert",
                          {"api_name": "find_by"})


# ----------------------------------------------------------------------------- cells -> values
def cell_value(f: Field, text: str) -> Any:
    """A CSV cell as the JSON value the write path validates (bad text stays text and is
    refused there with INVALID_DATA)."""
    t = f.data_type
    s = text.strip()
    if t == "integer" and INT_RE.fullmatch(s):
        return int(s)
    if t in ("double", "currency", "decimal", "percent"):
        try:
            return float(s) if "." in s or "e" in s.lower() else int(s)
        except ValueError:
            return text
    if t == "boolean" and s.lower() in ("true", "false"):
        return s.lower() == "true"
    if t == "multiselectpicklist":
        return [p.strip() for p in s.split(";") if p.strip()]
    if t in ("lookup", "ownerlookup"):
        return {"id": s}
    return text


@dataclass
class Row:
    """One CSV row on its way to a planned write."""

    values: dict[str, Any]
    error: CorralError | None = None
    target: int | None = None


@dataclass(frozen=True)
class ImportPlan:
    module: Module
    spec: WriteSpec
    header: list[str]
    rows: Iterator[list[str]]  # read from the file as they are consumed, once


class BulkWriter:
    """Turns rows into planned writes and applies them (a job's chunk, or a dry run)."""

    def __init__(self, records: RecordService, query: RecordQuery) -> None:
        self.records = records
        self.query = query

    def rows(self, module: Module, spec: WriteSpec, cells: Sequence[Sequence[str]],
             ) -> list[Row]:
        out: list[Row] = []
        for row in cells:
            values: dict[str, Any] = {}
            for m in spec.mappings:
                text = row[m.index] if m.index is not None and m.index < len(row) else ""
                if text.strip() == "":
                    if m.default is not None:
                        values[m.api_name] = m.default
                    elif spec.operation != "insert" and not spec.ignore_empty:
                        values[m.api_name] = None
                    continue
                f = module.field(m.api_name)
                values[m.api_name] = (text.strip() if f is None or m.find_by not in (None, "id")
                                      else cell_value(f, text))
            out.append(Row(values))
        return out

    def find(self, tx: Tx, module: Module, field: str, values: set[str]) -> dict[str, int]:
        """Live records of `module` by `field` value (case-insensitive): value -> the
        earliest created record's id."""
        if not values:
            return {}
        where = [*self.query.base_where(module, LIVE), Cond(JsonField(field), Op.I_IN,
                                                             tuple(sorted(values)))]
        recs, _ = self.query.search.fetch(tx, And(tuple(where)), sort_by="created_time",
                                          sort_order="asc", offset=0, limit=len(values) * 20)
        found: dict[str, int] = {}
        for rec in recs:
            key = str(rec.data.get(field, "")).strip().lower()
            found.setdefault(key, rec.id)
        return found

    def users_by(self, find_by: str) -> dict[str, int]:
        """Users by `email` or full name (`Owner.email`, `Owner.full_name` columns)."""
        users = self.query.users().values()
        if find_by == "email":
            return {u.email.strip().lower(): u.id for u in users}
        return {u.full_name.strip().lower(): u.id for u in users}

    def resolve_lookups(self, tx: Tx, module: Module, spec: WriteSpec,
                        rows: list[Row]) -> None:
        for m in spec.mappings:
            if m.find_by in (None, "id"):
                continue
            f = module.by_name[m.api_name]
            target = self.records.registry.get(f.lookup_module or "") if f.lookup_module \
                else None
            wanted = {str(r.values[m.api_name]) for r in rows if r.values.get(m.api_name)}
            if f.data_type == "ownerlookup":
                found: dict[str, int] = self.users_by(m.find_by or "")
            elif target is None or target.field(m.find_by or "") is None:
                found = {}
            else:
                found = self.find(tx, target, m.find_by or "", wanted)
            for r in rows:
                name = r.values.get(m.api_name)
                if not name:
                    continue
                rid = found.get(str(name).strip().lower())
                if rid is None and r.error is None:
                    r.error = InvalidData("the related record is not found",
                                          {"api_name": m.api_name})
                r.values[m.api_name] = {"id": str(rid)} if rid is not None else None

    def resolve_targets(self, tx: Tx, module: Module, spec: WriteSpec, rows: list[Row]) -> None:
        """Update: each row's record by `find_by` (id or a unique field)."""
        by = spec.find_by or "id"
        if by == "id":
            for r in rows:
                r.target = v.parse_record_id(r.values.pop("id", None))
        else:
            wanted = {str(r.values.get(by)).strip() for r in rows if r.values.get(by)}
            found = self.find(tx, module, by, wanted)
            for r in rows:  # the key finds the record; it is not rewritten
                r.target = found.get(str(r.values.pop(by, "") or "").strip().lower())
        for r in rows:
            if r.target is None and r.error is None:
                r.error = ResourceNotFound("the record to update is not found",
                                           {"api_name": by})

    def apply(self, tx: Tx, module: Module, spec: WriteSpec, cells: Sequence[Sequence[str]],
              ctx: WriteContext, *, plan_only: bool = False) -> list[ItemOutcome]:
        """Apply rows in the caller's transaction; one outcome per row."""
        rows = self.rows(module, spec, cells)
        self.resolve_lookups(tx, module, spec, rows)
        if spec.operation == "update":
            self.resolve_targets(tx, module, spec, rows)
        plans: list[Planned] = []
        for i, r in enumerate(rows):
            checked = self.records.check(module, r.values, i, ctx.principal)
            checked.error = r.error or checked.error
            plans.append(Planned(i, checked, target=r.target,
                                 op="update" if spec.operation == "update" else None))
        order = (check_order(module, [spec.find_by] if spec.find_by else None)
                 if spec.operation == "upsert" else None)
        ids = [] if plan_only else self.records.db.reserve_in(
            tx, sum(1 for p in plans if p.target is None))
        outcomes = self.records.write_batch(module, plans, ctx, match_order=order, conn=tx,
                                            ids=ids, plan_only=plan_only)
        out: list[ItemOutcome] = []
        for o in outcomes:
            if o.error is not None and o.error.code == "INVALID_DATA" and "id" in o.error.details:
                out.append(ResourceNotFound("the record to update is not found",
                                            {"api_name": "id"}))
            elif o.error is not None or o.record is None:
                out.append(o.error or InvalidData())
            else:
                out.append(ItemDone("added" if o.action == "insert" else "updated",
                                    o.record.id))
        return out


def error_text(err: dict[str, Any] | None, header: Sequence[str],
               mappings: Sequence[Mapping]) -> str:
    """Zoho's ERRORS cell: `<CODE>-<column header>` (the code alone when no field is named)."""
    if not err:
        return ""
    details = err.get("details") or {}
    name = details.get("api_name") if isinstance(details, dict) else None
    if not name:
        return str(err.get("code"))
    column = next((header[m.index] for m in mappings
                   if m.api_name == name and m.index is not None and m.index < len(header)),
                  name)
    return f"{err.get('code')}-{column}"


class _Planned(Exception):
    """Rolls a simulated job back once its plan is recorded."""


def job_context(principal: Principal, request_id: str | None, job_id: int) -> WriteContext:
    """How a bulk write job writes: under its id, no automation (as Zoho's import)."""
    return WriteContext(principal, request_id=request_id, trigger=(), job_id=job_id)


# ----------------------------------------------------------------------------- the service
class BulkWriteService:
    def __init__(self, writer: BulkWriter, users: Callable[[], dict[int, Any]]) -> None:
        self.writer = writer
        self.records = writer.records
        self.db = writer.records.db
        self.clock = writer.records.clock
        self.bulk = BulkRepository()
        self.jobs = JobRepository()
        self.users = users

    def upload(self, content: bytes, file_name: str | None, principal: Principal) -> int:
        if not bf.is_zip(content):
            raise InvalidFileFormat()
        file_id = self.db.new_id()
        with self.db.write() as tx:
            self.bulk.add_file(tx, BulkFile(file_id, file_name, content, principal.user.id,
                                            self.clock()))
        return file_id

    def file_rows(self, raw_file_id: Any, encoding: str | None,
                  ) -> tuple[str, list[str], list[list[str]]]:
        """The uploaded file's CSV: name, header and rows (read from the zip line by line)."""
        file_id = v.parse_record_id(raw_file_id)
        with self.db.read() as tx:
            f = self.bulk.file(tx, file_id) if file_id is not None else None
        if f is None:
            raise InvalidFileId(details={"api_name": "file_id"})
        return bf.rows_of_zip(f.content, encoding)

    def schedule(self, module: Module, spec: WriteSpec, header: list[str],
                 rows: list[list[str]], ctx: WriteContext, meta: dict[str, Any],
                 *, max_rows: int | None = MAX_ROWS) -> int:
        """Store the job and one item per row in one transaction; returns the job id."""
        check_spec(module, spec)
        if max_rows is not None and len(rows) > max_rows:
            raise LimitExceeded("the file has more than the allowed number of records",
                                {"limit": max_rows})
        job_id = self.db.new_id()
        with self.db.write() as tx:
            if plans.is_recording():  # a dry run or If-Match: what the job will do, now
                self._plan_job(tx, module, spec, rows, job_context(ctx.principal,
                                                                   ctx.request_id, job_id))
            self.jobs.create(tx, Job(
                id=job_id, kind="bulk_write", module_id=module.id, status="SCHEDULED",
                cvid=None, payload={**meta, **spec.as_payload(), "header": header},
                total=len(rows), created_by=ctx.user.id, created_time=self.clock(),
                started_time=None, finished_time=None, request_id=ctx.request_id),
                [], rows=rows)
        return job_id

    def _plan_job(self, tx: Tx, module: Module, spec: WriteSpec, rows: list[list[str]],
                  ctx: WriteContext) -> None:
        """Apply the rows as the worker will (chunk by chunk, each seeing the ones before)
        and roll all of it back: the writes become the job's plan."""
        try:
            with plans.as_job(), self.db.savepoint(tx):
                for start in range(0, len(rows), CHUNK):
                    self.writer.apply(tx, module, spec, rows[start:start + CHUNK], ctx)
                raise _Planned()
        except _Planned:
            pass

    def plan_import(self, module_name: str, stream: BinaryIO, *, mode: str,
                    find_by: str | None, renames: dict[str, str],
                    encoding: str | None = None) -> ImportPlan:
        """`corral import`: the file's header and mapping, checked before anything is
        written; its rows are read as the job is scheduled (or dry-run), never all at once.
        Columns are api_names (or `Lookup.Field`), renamed by `renames` (column -> api_name)."""
        self.records.registry.refresh()
        module = self.records.registry.get(module_name)
        if module is None:
            raise ModuleNotAvailable(f"Requested module '{module_name}' is not available.",
                                     {"api_name": "module"})
        header, rows = bf.read_csv(bf.text_lines(stream, encoding))
        unknown = [k for k in renames if k not in header]
        if unknown:
            raise InvalidData(f"--map names columns the file does not have: {unknown}")
        named = [renames.get(h, h) for h in header]
        bad = [h for h, n in zip(header, named, strict=True) if n != "id"
               and module.field(n.partition(".")[0]) is None]
        if bad:
            raise InvalidData(f"unknown column(s) for {module.api_name}: {bad} "
                              "(name a field's api_name, or use --map COLUMN=API_NAME)")
        spec = WriteSpec(mode, mappings_of(module, None, named), find_by=find_by,
                         ignore_empty=False)
        check_spec(module, spec)
        return ImportPlan(module, spec, header, rows)

    def schedule_import(self, plan: ImportPlan, ctx: WriteContext, meta: dict[str, Any],
                        batch: int = 5000) -> tuple[int, int]:
        """Store the job and one item per row of the plan's file, read `batch` rows at a
        time, in one transaction (a bad byte late in the file writes nothing); returns the
        job id and its row count."""
        job_id = self.db.new_id()
        n = 0
        with self.db.write() as tx:
            while rows := list(itertools.islice(plan.rows, batch)):
                self.jobs.add_row_items(tx, job_id, n, rows)
                n += len(rows)
            self.jobs.create(tx, Job(
                id=job_id, kind="bulk_write", module_id=plan.module.id, status="SCHEDULED",
                cvid=None, payload={**meta, **plan.spec.as_payload(), "header": plan.header},
                total=n, created_by=ctx.user.id, created_time=self.clock(),
                started_time=None, finished_time=None, request_id=ctx.request_id), [])
        return job_id, n

    def dry_run(self, plan: ImportPlan, principal: Principal, chunk: int = 500,
                ) -> Iterator[tuple[list[str], ItemOutcome]]:
        """What an import would do, row by row (as the rows are read), writing nothing."""
        ctx = WriteContext(principal, trigger=())
        while rows := list(itertools.islice(plan.rows, chunk)):
            with self.db.read() as tx:
                part = self.writer.apply(tx, plan.module, plan.spec, rows, ctx, plan_only=True)
            yield from zip(rows, part, strict=True)

    def counts(self, job_id: int) -> dict[str, int]:
        with self.db.read() as tx:
            return self.jobs.item_counts(tx, job_id)

    def job(self, raw_job_id: Any) -> Job:
        job_id = v.parse_record_id(raw_job_id)
        with self.db.read() as tx:
            job = self.jobs.get(tx, job_id) if job_id is not None else None
        if job is None or job.kind != "bulk_write":
            raise ResourceNotFound(details={"resource": "job_id"})
        return job

    def details(self, job: Job, base_url: str | None = None) -> dict[str, Any]:
        """The job as Zoho's Get Bulk Write Job Details shows it (and its callback); the
        download URL on `base_url` (default: where the job was created)."""
        with self.db.read() as tx:
            counts = self.jobs.item_counts(tx, job.id)
        return job_details(job, counts, self.records.registry.by_id(job.module_id),
                           self.users().get(job.created_by), base_url)

    def result_chunks(self, job: Job) -> Iterator[bytes]:
        """The result CSV: the file's columns, then RECORD_ID, STATUS and ERRORS per row."""
        p = job.payload
        header = list(p["header"])
        mappings = WriteSpec.from_payload(p).mappings
        yield bf.csv_text([[*header, "RECORD_ID", "STATUS", "ERRORS"]]).encode()
        after = -1
        while True:
            with self.db.read() as tx:
                page = self.jobs.results(tx, job.id, after, 2000)
            if not page:
                return
            yield bf.csv_text([[*(item.data or []), item.record_id or "",
                                ROW_STATUS.get(item.state, "SKIPPED"),
                                error_text(item.error, header, mappings)]
                               for item in page]).encode()
            after = page[-1].seq


ROW_STATUS = {"added": "ADDED", "updated": "UPDATED", "failed": "SKIPPED",
              "pending": "UNPROCESSED"}


def job_details(job: Job, counts: dict[str, int], module: Module | None,
                creator: Any, base_url: str | None = None) -> dict[str, Any]:
    p = job.payload
    base = base_url if base_url is not None else p.get("base_url", "")
    state = STATES.get(job.status, job.status)
    file: dict[str, Any] = {"status": state, "name": p.get("file_name"),
                            "added_count": counts.get("added", 0),
                            "skipped_count": counts.get("failed", 0),
                            "updated_count": counts.get("updated", 0),
                            "total_count": job.total}
    resource: dict[str, Any] = {
        "status": state, "type": "data",
        "module": {"api_name": module.api_name if module else None,
                   "id": str(job.module_id)},
        "field_mappings": p.get("field_mappings") or [
            {"api_name": m["api_name"], "index": m["index"]} for m in p["mappings"]],
        "file": file}
    if p.get("file_id"):
        resource["file_id"] = p["file_id"]
    if p.get("find_by"):
        resource["find_by"] = p["find_by"]
    out: dict[str, Any] = {
        "status": state, "character_encoding": p.get("character_encoding") or "UTF-8",
        "resource": [resource], "id": str(job.id),
        "created_by": {"id": str(job.created_by),
                       "name": getattr(creator, "full_name", None)},
        "operation": p["operation"], "created_time": iso(job.created_time)}
    if p.get("callback"):
        out["callback"] = p["callback"]
    if job.status == "COMPLETED":
        out["result"] = {"download_url": f"{base}/crm/bulk/"
                                         f"{p.get('version', 'v8')}/write/{job.id}/result"}
    return out


class BulkWriteJobs:
    """The job handler of kind `bulk_write`: each item is one CSV row."""

    def __init__(self, writer: BulkWriter, principal_of: Callable[[int], Principal | None],
                 users: Callable[[], dict[int, Any]]) -> None:
        self.writer = writer
        self.principal_of = principal_of
        self.users = users
        self.jobs = JobRepository()
        self.outbox = OutboxRepository()

    def run_items(self, tx: Tx, job: Job, items: list[JobItem]) -> list[ItemOutcome]:
        module = self.writer.records.registry.by_id(job.module_id)
        principal = self.principal_of(job.created_by)
        if module is None or principal is None:
            raise JobCannotRun("module or user gone")
        spec = WriteSpec.from_payload(job.payload)
        ctx = job_context(principal, job.request_id, job.id)
        return self.writer.apply(tx, module, spec, [list(i.data or []) for i in items], ctx)

    def finished(self, tx: Tx, job: Job) -> None:
        callback = job.payload.get("callback")
        if not callback or not callback.get("url"):
            return
        counts = self.jobs.item_counts(tx, job.id)
        body = job_details(job, counts, self.writer.records.registry.by_id(job.module_id),
                           self.users().get(job.created_by))
        (oid,) = self.writer.records.db.reserve_in(tx, 1)
        self.outbox.add(tx, [OutboxRow(id=oid, rule_id=0, module_id=job.module_id,
                                       record_id=job.id, url=callback["url"],
                                       payload={"job_id": str(job.id), **body},
                                       attempts=0)],
                        self.writer.records.clock())

