"""The write pipeline's hooks: plan only, after commit, registered steps; delete and
conversion through the one path (before-images in the change log, keys released/marked)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import sqlalchemy as sa

from corral.errors import InvalidData
from corral.records.dedup import check_order
from corral.records.pipeline import prepare
from corral.records.service import Retry
from corral.records.writes import Batch, Decision, Item, Planned, Step, WriteContext
from corral.services import Corral, write_steps
from corral.storage import tables as t


def ctx(corral: Corral, **kw: Any) -> WriteContext:
    user = corral.auth.user_by_email(None)
    principal = corral.auth.principal_for_user(user.id)
    assert principal is not None
    return WriteContext(principal, **kw)


def checksum(corral: Corral) -> str:
    """Every row of every table, in a stable order: equal checksums mean nothing changed."""
    digest = hashlib.sha256()
    with corral.db.read() as conn:
        for table in t.metadata.sorted_tables:
            for line in sorted(repr(tuple(row)) for row in conn.execute(sa.select(table))):
                digest.update(line.encode())
    return digest.hexdigest()


def leads(corral: Corral) -> Any:
    return corral.registry.require("Leads")


def test_plan_only_writes_nothing_and_says_what_would_happen(corral: Corral) -> None:
    module = leads(corral)
    (first,) = corral.records.insert(module, [{"Last_Name": "Daly", "Email": "p@z.com",
                                               "City": "Austin"}], ctx(corral))
    assert first.record is not None
    before = checksum(corral)
    plan = corral.records.upsert(module, [
        {"Last_Name": "Daly", "Email": "P@Z.com", "City": "Dallas"},  # update by Email
        {"Last_Name": "Daly", "Email": "p@z.com", "City": "Austin"},  # same values: noop
        {"Last_Name": "New", "Email": "new@z.com"},                    # insert
        {"Email": "x@z.com"},                                          # Last_Name missing
    ], ctx(corral), plan_only=True)
    assert checksum(corral) == before  # no record, key, log, outbox row or id consumed
    update, noop, insert, error = (o.plan for o in plan)
    assert update.action == "update" and update.matched_by == "Email"
    assert {k: (c.old, c.new) for k, c in update.changes.items()} == {
        "City": ("Austin", "Dallas"), "Email": ("p@z.com", "P@Z.com")}
    # In input order: the second record sees the first one's planned change.
    assert noop.action == "update" and set(noop.changes) == {"City", "Email"}
    assert insert.action == "insert" and insert.changes["Last_Name"].new == "New"
    assert error.action == "error" and plan[3].error is not None
    real = corral.records.upsert(module, [{"Last_Name": "Daly", "Email": "p@z.com",
                                           "City": "Austin"}], ctx(corral))
    assert real[0].plan.action == "noop"


def test_plan_only_finds_duplicates_like_the_real_call(corral: Corral) -> None:
    module = leads(corral)
    corral.records.insert(module, [{"Last_Name": "A", "Email": "dup@z.com"}], ctx(corral))
    before = checksum(corral)
    planned = corral.records.insert(module, [{"Last_Name": "B", "Email": "DUP@z.com"}],
                                    ctx(corral), plan_only=True)
    assert checksum(corral) == before
    real = corral.records.insert(module, [{"Last_Name": "B", "Email": "DUP@z.com"}],
                                 ctx(corral))
    assert planned[0].error is not None and real[0].error is not None
    assert (planned[0].error.code, planned[0].error.details) == (real[0].error.code,
                                                                 real[0].error.details)


def test_after_commit_runs_once_after_the_commit(corral: Corral) -> None:
    module = leads(corral)
    seen: list[Any] = []

    def hook(result: Any) -> None:
        with corral.db.read() as conn:  # the write is visible: the transaction committed
            n = conn.execute(sa.select(sa.func.count()).select_from(t.records).where(
                t.records.c.module_id == module.id)).scalar_one()
        seen.append((len(result), n))

    c = ctx(corral, after_commit=(hook,))
    corral.records.insert(module, [{"Last_Name": "A"}, {"Last_Name": "B"}], c)
    assert seen == [(2, 2)]
    corral.records.insert(module, [{"Last_Name": "C"}], c, plan_only=True)
    assert seen == [(2, 2)]  # a plan commits nothing, so no hook


class _RetryOnce(Step):
    """Gets in the way of the first attempt, as a concurrent writer would."""

    name = "retry_once"

    def __init__(self) -> None:
        self.calls = 0

    def check(self, item: Item, batch: Batch) -> Decision | None:
        self.calls += 1
        if self.calls == 1:
            raise Retry()
        return None


def test_after_commit_once_whatever_the_attempts(corral: Corral) -> None:
    module = leads(corral)
    step = _RetryOnce()
    corral.records.use_steps([*write_steps(corral.registry), step])
    seen: list[Any] = []
    outcomes = corral.records.insert(module, [{"Last_Name": "A", "Email": "r@z.com"}],
                                     ctx(corral, after_commit=(seen.append,)))
    assert step.calls == 2 and len(seen) == 1 and outcomes[0].ok
    with corral.db.read() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(t.records).where(
            t.records.c.module_id == module.id)).scalar_one()
    assert n == 1  # the rolled-back attempt left nothing


class _RefuseCity(Step):
    name = "refuse_city"

    def check(self, item: Item, batch: Batch) -> Decision | None:
        if item.new.data.get("City") == "Nowhere":
            return Decision(error=InvalidData("no such city", {"api_name": "City"}))
        return None


def test_a_registered_step_runs_for_every_door(corral: Corral) -> None:
    """A step added to the list applies to insert, update, upsert and mass update alike."""
    module = leads(corral)
    corral.records.use_steps([*write_steps(corral.registry), _RefuseCity()])
    c = ctx(corral)
    (ok,) = corral.records.insert(module, [{"Last_Name": "A", "City": "Austin"}], c)
    assert ok.record is not None
    rid = str(ok.record.id)
    assert corral.records.insert(module, [{"Last_Name": "B", "City": "Nowhere"}],
                                 c)[0].error is not None
    assert corral.records.update(module, [{"id": rid, "City": "Nowhere"}],
                                 c)[0].error is not None
    assert corral.records.upsert(module, [{"Last_Name": "A", "City": "Nowhere"}],
                                 c)[0].error is not None
    spec = corral.mass_update.prepare(module, {"data": [{"City": "Nowhere"}]}, c.principal)
    assert corral.mass_update.update_ids(module, [rid], spec, c)[0].error is not None


def test_delete_logs_the_before_image_and_releases_keys(corral: Corral) -> None:
    module = leads(corral)
    c = ctx(corral)
    (ins,) = corral.records.insert(module, [{"Last_Name": "A", "Email": "d@z.com",
                                             "City": "Austin"}], c)
    assert ins.record is not None
    rid = ins.record.id
    (out,) = corral.records.delete(module, [str(rid)], c)
    assert out.ok and out.action == "delete"
    with corral.db.read() as conn:
        log = conn.execute(sa.select(t.change_log).where(
            t.change_log.c.record_id == rid, t.change_log.c.operation == "delete")).one()
        keys = conn.execute(sa.select(t.record_keys).where(
            t.record_keys.c.record_id == rid)).all()
    assert log.old_value["City"] == "Austin" and log.old_value["Email"] == "d@z.com"
    assert keys == []
    # The value is free again, and a second delete of the same id fails cleanly.
    assert corral.records.insert(module, [{"Last_Name": "B", "Email": "d@z.com"}], c)[0].ok
    (again,) = corral.records.delete(module, [str(rid)], c)
    assert again.error is not None and again.error.details == {"id": str(rid)}


def test_conversion_writes_the_lead_through_the_pipeline(corral: Corral) -> None:
    module = leads(corral)
    c = ctx(corral)
    (ins,) = corral.records.insert(module, [{"Last_Name": "A", "Email": "c@z.com",
                                             "Company": "Zylker"}], c)
    assert ins.record is not None
    rid = ins.record.id
    corral.conversion.convert(rid, {}, c)
    with corral.db.read() as conn:
        keys = conn.execute(sa.select(t.record_keys).where(
            t.record_keys.c.record_id == rid)).all()
        fields = {r.field: r.new_value for r in conn.execute(sa.select(t.change_log).where(
            t.change_log.c.record_id == rid, t.change_log.c.operation == "update"))}
    assert keys and all(k.converted and not k.is_unique for k in keys)
    assert fields["Converted__s"] is True and fields["Converted_Contact"]


@pytest.mark.parametrize("kind", ["echo"])
def test_the_worker_dispatches_jobs_by_kind(corral: Corral, kind: str) -> None:
    from datetime import datetime

    from corral.jobs.runner import JobRunner
    from corral.storage.repositories.jobs import Job, JobRepository

    seen: list[list[int]] = []

    class Echo:
        def run_items(self, tx: Any, job: Job, items: list[Any]) -> list[Any]:
            seen.append([i.record_id for i in items])
            return [None if i.record_id != 2 else InvalidData("two") for i in items]

    runner = JobRunner(corral.db, corral.registry, corral.clock, {kind: Echo()}, chunk=2)
    repo = JobRepository()
    now = datetime(2026, 1, 1)
    user = corral.auth.user_by_email(None)
    with corral.db.write() as tx:
        for job_id, job_kind in ((11, kind), (12, "nobody_runs_this")):
            repo.create(tx, Job(id=job_id, kind=job_kind, module_id=leads(corral).id,
                                status="SCHEDULED", cvid=None, payload={}, total=3,
                                created_by=user.id, created_time=now, started_time=None,
                                finished_time=None, request_id=None), [1, 2, 3])
    runner.run_until_idle()
    assert seen == [[1, 2], [3]]
    with corral.db.read() as tx:
        echo, orphan = repo.get(tx, 11), repo.get(tx, 12)
        assert echo is not None and orphan is not None
        assert echo.status == "COMPLETED"
        assert repo.item_counts(tx, 11) == {"updated": 2, "failed": 1}
        assert orphan.status == "FAILED" and repo.item_counts(tx, 12) == {"failed": 3}


def test_a_plan_copy_keeps_every_field() -> None:
    import dataclasses

    from corral.records import validate as v
    from corral.records.writes import Planned
    plan = Planned(3, v.Checked(values={"A": 1}), target=7, duplicate_field="Email",
                   op="delete", approval_state="approved")
    assert all(getattr(plan, f.name) not in (None, 0) for f in dataclasses.fields(Planned))
    assert plan.copy() == plan and plan.copy() is not plan


def test_a_batch_prepared_before_the_lock_is_decided_on_the_state_under_it(
        corral: Corral) -> None:
    """`prepare` (keys, before the write transaction) decides nothing: a Lead inserted by
    someone else after it, with the same Email in another case, is the one the upsert
    updates — no duplicate."""
    module = leads(corral)
    c = ctx(corral)
    records = corral.records
    plans = [Planned(0, records.check(module, {"Last_Name": "Late", "Email": "Race@Example.com",
                                               "City": "Austin"}, 0, c.principal))]
    prepared = prepare(module, plans)
    (first,) = records.insert(module, [{"Last_Name": "First", "Email": "race@example.com"}], c)
    assert first.record is not None
    (out,) = records.in_write_transaction(lambda tx: records.pipeline.run(
        tx, module, plans, c, ids=[corral.db.new_id()], match_order=check_order(module, None),
        prepared=prepared))
    assert out.action == "update" and out.record is not None
    assert out.record.id == first.record.id and out.duplicate_field == "Email"
    with corral.db.read() as conn:
        emails = conn.execute(sa.select(t.records.c.id).where(
            t.records.c.module_id == module.id)).all()
    assert len(emails) == 1


class _ForwardEmail(Step):
    """Rewrites the Email the request gave (as a workflow field update would)."""

    name = "forward_email"

    def check(self, item: Item, batch: Batch) -> Decision | None:
        if item.values.get("Email") == "old@z.com":
            return Decision(set_values={"Email": "New@Z.com"})
        return None


def test_a_key_a_step_changed_is_kept_from_the_new_value(corral: Corral) -> None:
    """The key `prepare` made of the request's Email is not used once a step changed it."""
    module = leads(corral)
    corral.records.use_steps([*write_steps(corral.registry), _ForwardEmail()])
    c = ctx(corral)
    (ins,) = corral.records.insert(module, [{"Last_Name": "A", "Email": "old@z.com"}], c)
    assert ins.record is not None and ins.record.data["Email"] == "New@Z.com"
    (by_new,) = corral.records.upsert(module, [{"Last_Name": "B", "Email": "new@z.com"}], c)
    assert by_new.action == "update" and by_new.record is not None
    assert by_new.record.id == ins.record.id
    (by_old,) = corral.records.upsert(module, [{"Last_Name": "C", "Email": "OLD@z.com"}], c)
    assert by_old.action == "insert"  # nothing holds the value the step replaced
