"""Values of the one write path: what is asked, what a pipeline step sees, what it decides.

Steps (validation, unique keys, preferences, blueprints, automation ...) receive an `Item` and
the batch's prefetched `Batch` as values and return a `Decision`, or follow-up work as a
`FollowUp`; they never call the write service. `records.pipeline` runs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from corral.auth.service import Principal, User
from corral.errors import CorralError
from corral.metadata.model import Field, Module
from corral.records import validate as v
from corral.records.keys import keys_of
from corral.storage.database import Tx
from corral.storage.repositories.records import StoredRecord

# restore: a deleted record comes back from the recycle bin (a revert of its delete).
Op = Literal["insert", "update", "delete", "convert", "restore", "unconvert"]
AfterCommit = Callable[[Any], None]


@dataclass(frozen=True)
class WriteContext:
    principal: Principal
    request_id: str | None = None
    trigger: tuple[str, ...] | None = None  # None: all automation; () : none
    job_id: int | None = None
    blueprint_transition: bool = False  # the write is a blueprint transition
    layout_rules: bool = False  # apply_feature_execution: [{"name": "layout_rules"}]
    approval_action: bool = False  # an approve/reject decision (may touch a locked record)
    automation_tags: dict[int, str] | None = None  # plan index -> rule that made the record
    # Called once with the service's result after its transaction committed (never on a
    # rolled-back attempt, never for a plan): e.g. the API storing a response under a key.
    after_commit: tuple[AfterCommit, ...] = ()
    # What makes the write, logged with each change: "api" (None), or the job kind
    # ("mass_update", "revert", "merge") or "conversion".
    source: str | None = None

    def runs(self, automation: str) -> bool:
        """`trigger` absent: everything runs; a list: only those named; []: nothing."""
        return self.trigger is None or automation in self.trigger

    @property
    def user(self) -> User:
        return self.principal.user


@dataclass(slots=True)
class Planned:
    """One requested write: insert (target None), update, delete or conversion of `target`."""

    index: int
    checked: v.Checked
    target: int | None = None
    duplicate_field: str | None = None  # upsert: the field that matched
    op: Op | None = None  # None: insert without target, update with one
    approval_state: str | None = None  # an approval decision sets the record's state

    def copy(self) -> Planned:
        """A shallow copy (dataclasses.replace, without its per-call introspection)."""
        return Planned(self.index, self.checked, self.target, self.duplicate_field, self.op,
                       self.approval_state)

    @property
    def operation(self) -> Op:
        if self.op is not None:
            return self.op
        return "insert" if self.target is None else "update"


@dataclass(frozen=True, slots=True)
class Change:
    old: Any
    new: Any


@dataclass(frozen=True)
class PlanEntry:
    """What a write does or would do to one record (the plan-only answer)."""

    action: Literal["insert", "update", "delete", "convert", "restore", "noop", "error"]
    matched_by: str | None
    changes: dict[str, Change]


def changes_of(old: StoredRecord | None, new: StoredRecord) -> dict[str, Change]:
    """Every field (and owner / approval state) whose value differs, with both full values."""
    if old is None:
        return {name: Change(None, value) for name, value in new.data.items()}
    out: dict[str, Change] = {}
    if old.approval_state != new.approval_state:
        out["$approval_state"] = Change(old.approval_state, new.approval_state)
    if old.owner_id != new.owner_id:
        out["Owner"] = Change(str(old.owner_id), str(new.owner_id))
    for name in sorted(set(old.data) | set(new.data)):
        if old.data.get(name) != new.data.get(name):
            out[name] = Change(old.data.get(name), new.data.get(name))
    return out


@dataclass(slots=True)
class Outcome:
    index: int
    error: CorralError | None = None
    record: StoredRecord | None = None
    action: str | None = None  # insert | update | delete | convert
    duplicate_field: str | None = None
    before: StoredRecord | None = None
    known_changes: dict[str, Change] | None = None  # None: not computed yet

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def changes(self) -> dict[str, Change]:
        """The record's changed fields with old and new values (every field of an insert);
        computed on first use, as most callers never ask for an insert's."""
        if self.known_changes is None:
            self.known_changes = ({} if self.record is None or self.action == "delete"
                                  else changes_of(self.before, self.record))
        return self.known_changes

    @property
    def plan(self) -> PlanEntry:
        if self.error is not None or self.action is None:
            return PlanEntry("error", None, {})
        noop = self.action == "update" and not self.changes
        return PlanEntry("noop" if noop else self.action,  # type: ignore[arg-type]
                         self.duplicate_field, dict(self.changes))


@dataclass(frozen=True)
class Clash:
    """A key value the record may not take: held by `holders` (earliest first) of `module`."""

    api_name: str
    module: Module
    holders: tuple[int, ...]


@dataclass(slots=True)
class Decision:
    """A step's verdict on one record. Changes apply before the next step runs."""

    error: CorralError | None = None
    clashes: list[Clash] = field(default_factory=list)
    set_values: dict[str, Any] = field(default_factory=dict)
    approval_state: str | None = None
    tags: dict[str, str] = field(default_factory=dict)  # field -> "workflow:<id>" ...


@dataclass(slots=True)
class Item:
    """One record on its way through the pipeline."""

    plan: Planned
    old: StoredRecord | None
    new: StoredRecord
    tags: dict[str, str] = field(default_factory=dict)
    op: Op = field(init=False)

    def __post_init__(self) -> None:
        self.op = self.plan.operation

    @property
    def index(self) -> int:
        return self.plan.index

    @property
    def values(self) -> dict[str, Any]:
        """The values the request gave (before any step changed the record)."""
        return self.plan.checked.values

    @property
    def event(self) -> str:
        return "create" if self.old is None else "edit"


@dataclass
class Batch:
    """What every step may read about the batch: prefetched once, kept current as records
    are accepted in input order. `memo` holds what steps loaded for themselves."""

    module: Module
    ctx: WriteContext
    now: datetime
    tz: ZoneInfo
    plans: list[Planned]
    current: dict[int, StoredRecord] = field(default_factory=dict)
    holders: dict[tuple[int, str], set[int]] = field(default_factory=dict)
    ranks: dict[int, tuple[datetime, int]] = field(default_factory=dict)
    keys: dict[int, dict[int, str]] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)

    def keys_of(self, rec: StoredRecord) -> dict[int, str]:
        return keys_of(self.module, rec)

    def earliest(self, ids: set[int]) -> tuple[int, ...]:
        return tuple(sorted(ids, key=lambda rid: self.ranks.get(rid, (self.now, rid))))


@dataclass(frozen=True)
class OutboxEntry:
    """A webhook or notification call to make once the batch commits (the worker delivers)."""

    rule_id: int  # the workflow rule, or the notification channel's row
    record_id: int
    url: str
    payload: dict[str, Any]
    channel_key: str | None = None  # a notification channel: delivered in order per channel


@dataclass(frozen=True)
class FollowUpWrite:
    """Records a step wants inserted (e.g. a workflow's tasks) or deleted (e.g. the notes of
    a deleted record) in the same transaction."""

    module: str
    items: list[dict[str, Any]]
    tags: dict[int, str]  # item index -> the rule that made it
    deletes: tuple[int, ...] = ()  # ids of records of `module` to delete


@dataclass
class FollowUp:
    outbox: list[OutboxEntry] = field(default_factory=list)
    writes: list[FollowUpWrite] = field(default_factory=list)


class Step:
    """A check or effect of the write path. Subclasses override what they need."""

    name = "step"
    ops: frozenset[str] = frozenset({"insert", "update"})

    def prepare(self, tx: Tx, batch: Batch) -> None:
        """Prefetch what the step needs for the whole batch into `batch.memo`."""

    def check(self, item: Item, batch: Batch) -> Decision | None:
        return None

    def effects(self, accepted: list[Item], batch: Batch) -> FollowUp | None:
        return None

    def active(self, batch: Batch) -> bool:
        """After `prepare`: whether `check` can decide anything in this batch. A step with
        nothing to do (no rules, no blueprints, no currencies ...) leaves the per-record loop."""
        return type(self).check is not Step.check


def lookup_target(f: Field, values: dict[str, Any]) -> str:
    """What_Id of activities and Parent_Id of notes point at the module named by
    `$se_module` (Zoho's rule)."""
    if f.api_name in v.POLYMORPHIC and isinstance(values.get("$se_module"), str):
        return str(values["$se_module"])
    return f.lookup_module or ""
