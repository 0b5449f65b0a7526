"""What a request's writes do, as plans: recorded per request, rendered, fingerprinted.

The API turns recording on around one request (`recording()`); every batch that goes through
`RecordService.write_batch` (real or plan-only) is kept with its outcomes. A dry run shows them
per record (`plan_json`), and `fingerprint` condenses all of them into one value that a later
real call sends back as `If-Match`: it applies only when it would do exactly the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from corral.records.writes import Outcome

# Values the write path stamps itself, which differ between a dry run and the real call
# even when both do the same thing.
# Write times (a lead's conversion time included): a dry run and its real call a second apart
# plan the same writes.
VOLATILE = frozenset({"id", "Created_Time", "Modified_Time", "Last_Activity_Time",
                      "Converted_Date_Time"})
# A job's dry run lists the plans of its first records only; its counts cover all of them.
JOB_PLANS_SHOWN = 100


@dataclass(frozen=True)
class RecordedBatch:
    module: str
    outcomes: tuple[Outcome, ...]
    job: bool = False  # the records a scheduled job will write (planned, not written yet)


@dataclass
class PlanRecorder:
    batches: list[RecordedBatch] = field(default_factory=list)


_current: ContextVar[PlanRecorder | None] = ContextVar("corral_plan_recorder", default=None)


@contextmanager
def recording() -> Iterator[PlanRecorder]:
    """Keep every write batch of this request (thread / context) until the block ends."""
    recorder = PlanRecorder()
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)


def is_recording() -> bool:
    return _current.get() is not None


@contextmanager
def as_job() -> Iterator[None]:
    """Batches written inside the block (a scheduled job's writes, simulated now and rolled
    back by the caller) are kept as that job's plan; nothing happens when not recording."""
    outer = _current.get()
    if outer is None:
        yield
        return
    inner = PlanRecorder()
    token = _current.set(inner)
    try:
        yield
    finally:
        _current.reset(token)
        outer.batches.extend(replace(b, job=True) for b in inner.batches)


def record(module: str, outcomes: Sequence[Outcome], *, job: bool = False) -> None:
    recorder = _current.get()
    if recorder is not None:
        recorder.batches.append(RecordedBatch(module, tuple(outcomes), job))


def plan_json(o: Outcome) -> dict[str, Any]:
    """`{"action", "matched_by", "changes": {api_name: {"old", "new"}}}` of one record."""
    p = o.plan
    return {"action": p.action, "matched_by": p.matched_by,
            "changes": {k: {"old": c.old, "new": c.new} for k, c in p.changes.items()}}


def job_plan_json(outcomes: Sequence[Outcome],
                  modules: Sequence[str] | None = None) -> dict[str, Any]:
    """A job's plan: counts per action over all its records and the first records' plans
    (each with its module when `modules`, one per outcome, is given: a merge writes several)."""
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.plan.action] = counts.get(o.plan.action, 0) + 1
    shown = [{**({"module": modules[n]} if modules is not None else {}),
              "id": str(o.record.id) if o.record is not None else None, **plan_json(o)}
             for n, o in enumerate(outcomes[:JOB_PLANS_SHOWN])]
    return {"action": "job", "matched_by": None, "changes": {}, "counts": counts,
            "total": len(outcomes), "plans": shown}


def _fresh_ids(batches: Sequence[RecordedBatch]) -> dict[int, str]:
    """Ids of records the request inserts, by order of insertion: a dry run's placeholders
    and the real call's ids name the same records."""
    out: dict[int, str] = {}
    for b in batches:
        for o in b.outcomes:
            if o.action == "insert" and o.record is not None:
                out[o.record.id] = f"new:{len(out)}"
    return out


def _neutral(value: Any, fresh: dict[int, str]) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return fresh.get(value, value)
    if isinstance(value, str):
        if value.lstrip("-").isdigit() and int(value) in fresh:
            return fresh[int(value)]
        return value
    if isinstance(value, dict):
        return {k: _neutral(v, fresh) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_neutral(v, fresh) for v in value]
    return value


def _entry(o: Outcome, fresh: dict[int, str]) -> list[Any]:
    p = o.plan
    target = None
    if o.record is not None:
        target = fresh.get(o.record.id, str(o.record.id))
    changes = {k: [_neutral(c.old, fresh), _neutral(c.new, fresh)]
               for k, c in p.changes.items() if k not in VOLATILE}
    return [o.index, p.action, p.matched_by, target, changes,
            o.error.code if o.error is not None else None]


def fingerprint(batches: Sequence[RecordedBatch]) -> str:
    """One value for everything the request's writes do (records, actions, matched fields,
    field changes, per-record error codes), blind to ids of new records and write times."""
    fresh = _fresh_ids(batches)
    doc = [[b.module, b.job, [_entry(o, fresh) for o in b.outcomes]] for b in batches]
    raw = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(raw).hexdigest()[:32]
