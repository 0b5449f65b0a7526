"""The storage repositories on SQLite and PostgreSQL: what each method writes and reads back,
and how driver errors are classified (storage/errors.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from corral.metadata.model import Module
from corral.records.writes import WriteContext
from corral.services import Corral
from corral.storage import tables as t
from corral.storage.database import Database
from corral.storage.errors import Contention, UniqueViolation, classify
from corral.storage.repositories.blueprints import BlueprintRepository, BlueprintRow
from corral.storage.repositories.change_log import ChangeEntry, ChangeLogRepository
from corral.storage.repositories.jobs import Job, JobItem, JobRepository
from corral.storage.repositories.keys import KeyRepository, KeyRow
from corral.storage.repositories.outbox import OutboxRepository, OutboxRow
from corral.storage.repositories.owners import OwnerName, OwnerRepository
from corral.storage.repositories.records import RecordRepository, StoredRecord

T0 = datetime(2026, 1, 5, 8, 0)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def rec(module: Module, rid: int, data: dict[str, Any], *, created: datetime = T0,
        owner: int = 7, **kw: Any) -> StoredRecord:
    return StoredRecord(id=rid, module_id=module.id, data=data, owner_id=owner,
                        created_by=owner, modified_by=owner, created_time=created,
                        modified_time=created, **kw)


@pytest.fixture
def db(corral: Corral) -> Database:
    return corral.db


@pytest.fixture
def leads(corral: Corral) -> Module:
    return corral.registry.require("Leads")


def key_rows(db: Database) -> set[tuple[int, str, int, bool, bool]]:
    with db.read() as tx:
        return {(r.field_id, r.value, r.record_id, r.is_unique, r.converted)
                for r in tx.execute(sa.select(t.record_keys))}


# ---------------------------------------------------------------------------------- records
def test_records_insert_update_and_load_round_trip(db: Database, leads: Module) -> None:
    repo = RecordRepository()
    a = rec(leads, 1, {"Last_Name": "Ä", "Tags": ["x", "y"], "Revenue": 1.5,
                       "Nested": {"n": [1, None, True]}, "Big": 4_876_876_000_000_000_001})
    b = rec(leads, 2, {"Last_Name": "B"}, created=at(1))
    with db.write() as tx:
        repo.insert_many(tx, [a, b])
        repo.insert_many(tx, [])  # nothing to do, no error
    with db.read() as tx:
        assert repo.load(tx, leads.id, [1, 2, 1]) == {1: a, 2: b}
        assert repo.load(tx, leads.id, []) == {}
        assert repo.load(tx, leads.id + 1, [1, 2]) == {}  # another module's ids
    changed = StoredRecord(
        id=2, module_id=leads.id, data={"Last_Name": "B2", "City": "Pune"}, owner_id=8,
        created_by=99, modified_by=8, created_time=at(50), modified_time=at(5),
        converted=True, approval_state="approval_process_pending")
    gone = replace(a, deleted_time=at(6), deleted_by=8, modified_time=at(6))
    with db.write() as tx:
        repo.update_many(tx, [changed, gone], with_state=True)
        repo.update_many(tx, [])
    with db.read() as tx:
        # Every mutable column is written; who created it and when are not.
        assert repo.load(tx, leads.id, [1, 2]) == {
            2: replace(changed, created_by=7, created_time=at(1))}
        assert repo.load(tx, leads.id, [1], live_only=False) == {1: gone}


def test_records_lookups_by_id(db: Database, leads: Module, corral: Corral) -> None:
    contacts = corral.registry.require("Contacts")
    repo = RecordRepository()
    with db.write() as tx:
        repo.insert_many(tx, [
            rec(leads, 1, {"Last_Name": "A"}, owner=11, created=at(3)),
            rec(leads, 2, {"Last_Name": "B"}, deleted_time=at(9), deleted_by=7),
            rec(contacts, 3, {"Last_Name": "C"}, owner=12, created=at(4)),
        ])
    with db.read() as tx:
        assert set(repo.load_any(tx, [1, 2, 3, 4])) == {1, 2, 3}
        assert repo.load_any(tx, [2])[2].deleted_time == at(9)
        assert repo.load_any(tx, []) == {}
        assert repo.live_ids(tx, leads.id, {1, 2, 3, 4}) == {1}
        assert repo.live_ids(tx, contacts.id, [3]) == {3}
        assert repo.live_ids(tx, leads.id, set()) == set()
        assert repo.created_and_owner(tx, [1, 3]) == {1: (at(3), 11), 3: (at(4), 12)}
        assert repo.created_and_owner(tx, []) == {}
        assert repo.display_values(tx, [1, 3]) == {1: {"Last_Name": "A"},
                                                   3: {"Last_Name": "C"}}
        assert repo.display_values(tx, []) == {}


def test_records_of_module_streams_live_records_earliest_first(db: Database,
                                                               leads: Module) -> None:
    repo = RecordRepository()
    with db.write() as tx:
        repo.insert_many(tx, [
            rec(leads, 5, {}, created=at(2)),
            rec(leads, 4, {}, created=at(2)),  # same time: id breaks the tie
            rec(leads, 9, {}, created=at(1)),
            rec(leads, 1, {}, created=at(3)),
            rec(leads, 2, {}, created=at(0), deleted_time=at(4), deleted_by=7),
            rec(leads, 3, {}, created=at(0)),
        ])
        repo.insert_many(tx, [StoredRecord(6, leads.id + 1, {}, 7, 7, 7, at(0), at(0))])
    with db.read() as tx:
        assert [r.id for r in repo.of_module(tx, leads.id)] == [3, 9, 4, 5, 1]


def test_records_earliest_by_key_skips_deleted_and_converted(db: Database,
                                                            leads: Module) -> None:
    email = leads.by_name["Email"].id
    records, keys = RecordRepository(), KeyRepository()
    with db.write() as tx:
        records.insert_many(tx, [
            rec(leads, 1, {"Email": "a@x.com"}, created=at(5)),
            rec(leads, 2, {"Email": "a@x.com"}, created=at(3)),
            rec(leads, 3, {"Email": "a@x.com"}, created=at(1), deleted_time=at(6),
                deleted_by=7),
            rec(leads, 4, {"Email": "a@x.com"}, created=at(0), converted=True),
        ])
        keys.apply(tx, [], [KeyRow(email, "a@x.com", rid, False) for rid in (1, 2, 3, 4)])
        keys.mark_converted(tx, [4])
    with db.read() as tx:
        found = records.earliest_by_key(tx, email, "a@x.com")
        assert found is not None and found.id == 2 and found.data == {"Email": "a@x.com"}
        assert records.earliest_by_key(tx, email, "b@x.com") is None
        assert records.earliest_by_key(tx, email + 1, "a@x.com") is None


# ---------------------------------------------------------------------------------- keys
@pytest.fixture
def fields(leads: Module) -> tuple[int, int]:
    return leads.by_name["Email"].id, leads.by_name["Phone"].id


def _seed_keys(db: Database, f1: int, f2: int) -> None:
    keys = KeyRepository()
    with db.write() as tx:
        keys.apply(tx, [], [KeyRow(f1, "a", 1, True), KeyRow(f1, "b", 2, True),
                            KeyRow(f2, "a", 1, False), KeyRow(f1, "c", 3, True)])
        keys.mark_converted(tx, [3])


def test_keys_holders_by_field_and_converted(db: Database, fields: tuple[int, int]) -> None:
    f1, f2 = fields
    _seed_keys(db, f1, f2)
    keys = KeyRepository()
    with db.write() as tx:  # a second, non-unique holder of "b"
        keys.apply(tx, [], [KeyRow(f1, "b", 4, False)])
    with db.read() as tx:
        assert keys.holders(tx, {f1: {"a", "b", "c", "z"}, f2: ["a"]}) == {
            (f1, "a"): {1}, (f1, "b"): {2, 4}, (f2, "a"): {1}}
        assert keys.holders(tx, {f1: {"a", "b", "c"}}, converted=True) == {(f1, "c"): {3}}
        assert keys.holders(tx, {}) == {}
    assert (f1, "c", 3, False, True) in key_rows(db)  # converted rows leave the unique checks


def test_keys_holders_asks_in_chunks(db: Database, fields: tuple[int, int]) -> None:
    f1, _ = fields
    values = [f"v{i:05d}" for i in range(1201)]  # three chunks of at most 500
    keys = KeyRepository()
    with db.write() as tx:
        keys.apply(tx, [], [KeyRow(f1, values[i], 100 + i, True) for i in (0, 499, 500, 1200)])
    with db.read() as tx:
        assert keys.holders(tx, {f1: set(values)}) == {
            (f1, values[i]): {100 + i} for i in (0, 499, 500, 1200)}


def test_keys_apply_removes_then_adds_and_release_drops_a_record(
        db: Database, fields: tuple[int, int]) -> None:
    f1, f2 = fields
    _seed_keys(db, f1, f2)
    keys = KeyRepository()
    with db.write() as tx:
        # Record 1 moves its f1 value from "a" to "b2"; "a" may then be taken by record 5.
        keys.apply(tx, [(1, f1, "a")], [KeyRow(f1, "b2", 1, True), KeyRow(f1, "a", 5, True)])
        keys.apply(tx, [], [])
    assert key_rows(db) == {(f1, "b2", 1, True, False), (f1, "a", 5, True, False),
                            (f1, "b", 2, True, False), (f2, "a", 1, False, False),
                            (f1, "c", 3, False, True)}
    with db.write() as tx:
        keys.release(tx, [1, 3])
        keys.release(tx, [])
    assert key_rows(db) == {(f1, "a", 5, True, False), (f1, "b", 2, True, False)}


def test_keys_replace_field_keeps_converted_rows(db: Database, fields: tuple[int, int]) -> None:
    f1, f2 = fields
    _seed_keys(db, f1, f2)
    keys = KeyRepository()
    rows = (KeyRow(f1, f"k{i}", 1000 + i, True) for i in range(5001))  # more than one batch
    with db.write() as tx:
        keys.replace_field(tx, f1, rows)
    after = key_rows(db)
    assert {r for r in after if r[0] == f1 and not r[4]} == {
        (f1, f"k{i}", 1000 + i, True, False) for i in range(5001)}
    assert (f1, "c", 3, False, True) in after and (f2, "a", 1, False, False) in after
    assert len(after) == 5003


def test_keys_set_field_unique_and_drop_field(db: Database, fields: tuple[int, int]) -> None:
    f1, f2 = fields
    _seed_keys(db, f1, f2)
    keys = KeyRepository()
    with db.write() as tx:
        keys.set_field_unique(tx, f1, False)
        keys.set_field_unique(tx, f2, True)
    assert key_rows(db) == {(f1, "a", 1, False, False), (f1, "b", 2, False, False),
                            (f1, "c", 3, False, True), (f2, "a", 1, True, False)}
    with db.write() as tx:
        keys.set_field_unique(tx, f1, True)  # converted rows stay out of the unique checks
        keys.drop_field(tx, f2)
    assert key_rows(db) == {(f1, "a", 1, True, False), (f1, "b", 2, True, False),
                            (f1, "c", 3, False, True)}


def test_keys_unique_index_refuses_a_second_unique_holder(
        db: Database, fields: tuple[int, int]) -> None:
    f1, f2 = fields
    _seed_keys(db, f1, f2)
    keys = KeyRepository()
    before = key_rows(db)
    with pytest.raises(UniqueViolation) as info, db.write() as tx:
        keys.apply(tx, [], [KeyRow(f2, "q", 9, False)])  # rolled back with the rest
        keys.apply(tx, [], [KeyRow(f1, "a", 9, True)])
    assert isinstance(info.value.__cause__, IntegrityError)
    assert key_rows(db) == before
    # Holders that are not unique (a converted Lead, a plain duplicate-check key) may share.
    with db.write() as tx:
        keys.apply(tx, [], [KeyRow(f1, "a", 9, False), KeyRow(f1, "c", 10, True)])
    assert {(f1, "a", 9, False, False), (f1, "c", 10, True, False)} <= key_rows(db)


# ---------------------------------------------------------------------------------- change log
def test_change_log_round_trips_full_json_values(db: Database, leads: Module) -> None:
    log = ChangeLogRepository()

    def entry(rid: int, operation: str, field: str | None, old: Any, new: Any,
              **kw: Any) -> ChangeEntry:
        return ChangeEntry(record_id=rid, module_id=leads.id, operation=operation, field=field,
                           old_value=old, new_value=new, user_id=7, at=at(1),
                           request_id=kw.get("request_id"), job_id=kw.get("job_id"),
                           automation=kw.get("automation"))

    entries = [
        entry(1, "insert", None, None, {"Last_Name": "Ä", "Tags": ["a", "b"], "Owner": "7"},
              request_id="req-1"),
        entry(1, "update", "Tags", ["a", "b"], ["a", "b", "c"], job_id=55),
        entry(1, "update", "Annual_Revenue", 10.5, 3, automation="workflow:9"),
        entry(1, "update", "Email_Opt_Out", False, True),
        entry(2, "update", "City", "Austin", None),
        entry(1, "delete", None, {"Last_Name": "Ä", "Nested": {"k": [1, None]}}, None),
    ]
    with db.write() as tx:
        log.append(tx, entries[:3])
        log.append(tx, [])
        log.append(tx, entries[3:])
    with db.read() as tx:
        # read back with the log's own order (`id`), otherwise as written
        got = log.of_record(tx, 1)
        assert [e.id for e in got] == sorted(e.id for e in got if e.id is not None)
        assert [e._replace(id=None) for e in got] == [e for e in entries if e.record_id == 1]
        assert [e._replace(id=None) for e in log.of_record(tx, 2)] == [entries[4]]
        assert log.of_record(tx, 3) == []


def test_change_log_of_a_numeric_field_reads_back(corral: Corral, leads: Module) -> None:
    """SQLite stores a bare JSON number as a number (numeric affinity); reading the log of a
    currency or integer field must still work."""
    user = corral.auth.user_by_email(None)
    principal = corral.auth.principal_for_user(user.id)
    assert principal is not None
    ctx = WriteContext(principal)
    (ins,) = corral.records.insert(leads, [{"Last_Name": "N", "Annual_Revenue": 10.5,
                                            "No_of_Employees": 3}], ctx)
    assert ins.record is not None
    corral.records.update(leads, [{"id": str(ins.record.id), "Annual_Revenue": 2000,
                                   "No_of_Employees": 4}], ctx)
    with corral.db.read() as tx:
        log = ChangeLogRepository().of_record(tx, ins.record.id)
    assert {(e.field, e.old_value, e.new_value) for e in log if e.operation == "update"} == {
        ("Annual_Revenue", 10.5, 2000), ("No_of_Employees", 3, 4)}


# ---------------------------------------------------------------------------------- jobs
def _job(job_id: int, module: Module, *, cvid: int | None = None,
         created: datetime = T0, status: str = "SCHEDULED") -> Job:
    return Job(id=job_id, kind="mass_update", module_id=module.id, status=status, cvid=cvid,
               payload={"data": {"City": "Pune"}, "ids": None}, total=0, created_by=7,
               created_time=created, started_time=None, finished_time=None,
               request_id="req-9")


def test_jobs_claim_pending_in_order_record_results_and_finish(db: Database,
                                                             leads: Module) -> None:
    jobs = JobRepository()
    job = _job(1, leads, cvid=77)
    with db.write() as tx:
        jobs.create(tx, job, [501, 502, 503, 504, 505])
    with db.read() as tx:
        assert jobs.get(tx, 1) == job and jobs.get(tx, 1, module_id=leads.id) == job
        assert jobs.get(tx, 1, module_id=leads.id + 1) is None and jobs.get(tx, 2) is None
    with db.write() as tx:
        jobs.start(tx, 1, at(1))
        jobs.start(tx, 1, at(2))  # only a scheduled job starts
        assert jobs.claim_pending(tx, 1, 2) == [JobItem(0, 501), JobItem(1, 502)]
        jobs.record_results(tx, 1, [0], [(1, {"code": "INVALID_DATA", "details": {"a": 1}})])
        assert jobs.finish_if_done(tx, 1, at(3)) is False
        assert jobs.claim_pending(tx, 1, 10) == [JobItem(2, 503), JobItem(3, 504),
                                                 JobItem(4, 505)]
        assert jobs.item_counts(tx, 1) == {"pending": 3, "updated": 1, "failed": 1}
        jobs.record_results(tx, 1, [2, 3, 4], [])
        jobs.record_results(tx, 1, [], [])
        assert jobs.finish_if_done(tx, 1, at(4)) is True
        assert jobs.finish_if_done(tx, 1, at(5)) is False  # finished once
    with db.read() as tx:
        done = jobs.get(tx, 1)
        assert done is not None
        assert (done.status, done.started_time, done.finished_time) == ("COMPLETED", at(1),
                                                                       at(4))
        assert jobs.item_counts(tx, 1) == {"updated": 4, "failed": 1}
        assert jobs.claim_pending(tx, 1, 10) == []
        errors = {r.seq: r.error for r in tx.execute(
            sa.select(t.job_items).where(t.job_items.c.job_id == 1))}
    assert errors == {0: None, 1: {"code": "INVALID_DATA", "details": {"a": 1}}, 2: None,
                      3: None, 4: None}


def test_jobs_fail_fails_every_pending_item(db: Database, leads: Module) -> None:
    jobs = JobRepository()
    with db.write() as tx:
        jobs.create(tx, _job(1, leads), [501, 502, 503])
        jobs.record_results(tx, 1, [0], [])
        jobs.fail(tx, 1, at(2), {"code": "INTERNAL_ERROR"})
    with db.read() as tx:
        failed = jobs.get(tx, 1)
        assert failed is not None and (failed.status, failed.finished_time) == ("FAILED", at(2))
        assert jobs.item_counts(tx, 1) == {"updated": 1, "failed": 2}
        errors = [r.error for r in tx.execute(sa.select(t.job_items).where(
            t.job_items.c.state == "failed").order_by(t.job_items.c.seq))]
    assert errors == [{"code": "INTERNAL_ERROR"}] * 2


def test_jobs_active_ones(db: Database, leads: Module, corral: Corral) -> None:
    jobs = JobRepository()
    contacts = corral.registry.require("Contacts")
    with db.read() as tx:
        assert jobs.any_active(tx) is False and jobs.active(tx, 10) == []
    with db.write() as tx:
        jobs.create(tx, _job(3, leads, cvid=77, created=at(2)), [1])
        jobs.create(tx, _job(2, leads, created=at(2), status="RUNNING"), [1])
        jobs.create(tx, _job(1, leads, created=at(3)), [1])
        jobs.create(tx, _job(4, leads, cvid=78, created=at(0), status="COMPLETED"), [1])
        jobs.create(tx, _job(5, contacts, cvid=77, created=at(1), status="FAILED"), [1])
    with db.read() as tx:
        assert jobs.any_active(tx) is True
        assert [j.id for j in jobs.active(tx, 10)] == [2, 3, 1]
        assert [j.id for j in jobs.active(tx, 2)] == [2, 3]
        assert jobs.active_for_view(tx, leads.id, 77) == 3
        assert jobs.active_for_view(tx, leads.id, 78) is None  # completed
        assert jobs.active_for_view(tx, contacts.id, 77) is None  # failed
    with db.write() as tx:
        for job_id in (1, 2, 3):
            jobs.record_results(tx, job_id, [0], [])
            assert jobs.finish_if_done(tx, job_id, at(9))
    with db.read() as tx:
        assert jobs.any_active(tx) is False and jobs.active_for_view(tx, leads.id, 77) is None


def test_jobs_create_writes_items_past_one_batch(db: Database, leads: Module) -> None:
    jobs = JobRepository()
    ids = list(range(10_000, 15_001))  # 5001 items: two inserts
    with db.write() as tx:
        jobs.create(tx, _job(1, leads), ids)
    with db.read() as tx:
        assert jobs.item_counts(tx, 1) == {"pending": 5001}
        last = tx.execute(sa.select(t.job_items).where(t.job_items.c.seq == 5000)).one()
    assert last.record_id == 15_000


# ---------------------------------------------------------------------------------- outbox
def _outbox(rid: int, *, rule: int = 70, url: str = "http://127.0.0.1:9/h") -> OutboxRow:
    return OutboxRow(id=rid, rule_id=rule, module_id=1, record_id=500 + rid, url=url,
                     payload={"id": str(500 + rid), "data": {"Last_Name": "Ä", "n": [1, 2]}},
                     attempts=0)


def test_outbox_claim_due_leases_the_earliest_due_row(db: Database) -> None:
    box = OutboxRepository()
    lease = at(1)
    with db.write() as tx:
        box.add(tx, [_outbox(1), _outbox(2), _outbox(3)], T0)
        box.add(tx, [], T0)
    claims = []
    for _ in range(4):
        with db.write() as tx:
            claims.append(box.claim_due(tx, T0, lease))
    assert claims[:3] == [_outbox(1), _outbox(2), _outbox(3)]  # attempts before this one
    assert claims[3] is None  # all leased
    with db.read() as tx:
        rows = {d.id: d for d in box.deliveries(tx, rule_id=None, status=None, limit=10)}
    assert {(d.attempts, d.next_attempt_time, d.status) for d in rows.values()} == {
        (1, lease, "pending")}
    with db.write() as tx:  # the lease ran out: claimed again, a second attempt counted
        again = box.claim_due(tx, lease, at(2))
        assert again is not None and (again.id, again.attempts) == (1, 1)
        assert box.claim_due(tx, T0, at(2)) is None  # not due yet at T0
    with db.read() as tx:
        (one,) = [d for d in box.deliveries(tx, rule_id=None, status=None, limit=10)
                  if d.id == 1]
    assert (one.attempts, one.next_attempt_time) == (2, at(2))


def test_outbox_record_attempt_and_due_order(db: Database) -> None:
    box = OutboxRepository()
    with db.write() as tx:
        box.add(tx, [_outbox(1), _outbox(2), _outbox(3)], at(5))
        box.record_attempt(tx, 3, status_code=500, error="HTTP 500",
                           next_attempt_time=at(1))  # due before the others
        box.record_attempt(tx, 1, status_code=200, error=None, status="delivered",
                           delivered_time=at(6))
    with db.write() as tx:
        first = box.claim_due(tx, at(5), at(9))
        second = box.claim_due(tx, at(5), at(9))
        assert box.claim_due(tx, at(5), at(9)) is None  # delivered rows are never claimed
    assert first is not None and second is not None and (first.id, second.id) == (3, 2)
    with db.write() as tx:
        box.record_attempt(tx, 3, status_code=None, error="connection refused",
                           status="failed")
    with db.read() as tx:
        got = {d.id: d for d in box.deliveries(tx, rule_id=None, status=None, limit=10)}
    assert (got[1].status, got[1].last_status_code, got[1].last_error,
            got[1].delivered_time, got[1].attempts) == ("delivered", 200, None, at(6), 0)
    assert (got[3].status, got[3].last_status_code, got[3].last_error,
            got[3].next_attempt_time, got[3].attempts) == ("failed", None,
                                                           "connection refused", at(9), 1)
    assert got[2].payload == _outbox(2).payload and got[2].created_time == at(5)


def test_outbox_deliveries_filters_newest_first(db: Database) -> None:
    box = OutboxRepository()
    with db.write() as tx:
        box.add(tx, [_outbox(1, rule=70), _outbox(2, rule=71), _outbox(3, rule=70),
                     _outbox(4, rule=70)], T0)
        box.record_attempt(tx, 3, status_code=200, error=None, status="delivered",
                           delivered_time=at(1))
    with db.read() as tx:
        def ids(**kw: Any) -> list[int]:
            args: dict[str, Any] = {"rule_id": None, "status": None, "limit": 10, **kw}
            return [d.id for d in box.deliveries(tx, **args)]

        assert ids() == [4, 3, 2, 1]
        assert ids(rule_id=70) == [4, 3, 1]
        assert ids(status="pending") == [4, 2, 1]
        assert ids(rule_id=70, status="delivered") == [3]
        assert ids(limit=2) == [4, 3]
        assert ids(rule_id=99) == []


# ---------------------------------------------------------------------------------- owners
def test_owners_active_ids_and_names(db: Database, corral: Corral) -> None:
    admin = corral.auth.user_by_email(None)
    rep = corral.auth.create_user("rep@x.com", "Rep", first_name="Ann")
    solo = corral.auth.create_user("solo@x.com", "Solo")
    gone = corral.auth.create_user("gone@x.com", "Gone")
    with db.write() as tx:
        tx.execute(sa.update(t.users).where(t.users.c.id == gone.id).values(status="inactive"))
    owners = OwnerRepository()
    with db.read() as tx:
        assert owners.active_ids(tx) == {admin.id, rep.id, solo.id}
        assert owners.names(tx, [rep.id, solo.id, gone.id, 12345]) == {
            rep.id: OwnerName(rep.id, "Ann Rep", rep.zuid),
            solo.id: OwnerName(solo.id, "Solo", solo.zuid),
            gone.id: OwnerName(gone.id, "Gone", gone.zuid)}
        assert owners.names(tx, []) == {}


# ---------------------------------------------------------------------------------- blueprints
def test_blueprints_active_of_a_module_in_id_order(db: Database, leads: Module,
                                                   corral: Corral) -> None:
    repo = BlueprintRepository()
    contacts = corral.registry.require("Contacts")
    status = leads.by_name["Lead_Status"].id
    definition = {"states": ["A", "B"], "transitions": [{"id": "1", "name": "Go", "from": "A",
                                                         "to": "B"}], "criteria": None}
    with db.write() as tx:
        for bp_id, module, name in ((3, leads, "Second"), (1, leads, "First"),
                                    (2, contacts, "Other"), (4, leads, "Retired")):
            repo.add(tx, id=bp_id, module_id=module.id, field_id=status, name=name,
                     definition=definition, created_by=7, created_time=T0)
        tx.execute(sa.update(t.blueprints).where(t.blueprints.c.id == 4).values(active=False))
    with db.read() as tx:
        assert repo.active(tx, leads.id) == [BlueprintRow(1, "First", status, definition),
                                             BlueprintRow(3, "Second", status, definition)]
        assert [b.name for b in repo.active(tx, contacts.id)] == ["Other"]
        assert repo.active(tx, leads.id + 1) == []


# ---------------------------------------------------------------------------------- errors
def _driver_error(db: Database, *statements: Any) -> DBAPIError:
    """The driver's own error, caught before `Database.write()` could classify it."""
    with pytest.raises(DBAPIError) as info, db.write_engine.begin() as conn:
        for stmt in statements:
            conn.execute(stmt)
    return info.value


def test_classify_a_real_unique_violation(db: Database) -> None:
    row = {"field_id": 1, "value": "u", "is_unique": True}
    err = _driver_error(db, sa.insert(t.record_keys).values(record_id=1, **row),
                        sa.insert(t.record_keys).values(record_id=2, **row))
    assert isinstance(err, IntegrityError) and isinstance(classify(err), UniqueViolation)
    pk = _driver_error(db, sa.insert(t.counters).values(name="id", value=1))  # primary key
    assert isinstance(classify(pk), UniqueViolation)


def test_classify_lets_other_errors_through(db: Database) -> None:
    not_null = _driver_error(db, sa.insert(t.counters).values(name="x", value=None))
    assert isinstance(not_null, IntegrityError) and classify(not_null) is None
    no_table = _driver_error(db, sa.text("SELECT * FROM no_such_table"))
    assert classify(no_table) is None
    # Through Database.write(): the driver error itself, not a StorageConflict.
    with pytest.raises(IntegrityError), db.write() as tx:
        tx.execute(sa.insert(t.counters).values(name="x", value=None))


@pytest.fixture
def second_engine(db: Database) -> Iterator[sa.Engine]:
    """Another connection that gives up at once instead of waiting for a lock."""
    args = {"timeout": 0} if db.is_sqlite else {}
    engine = sa.create_engine(db.url, connect_args=args, poolclass=sa.pool.NullPool)
    yield engine
    engine.dispose()


def test_classify_contention(db: Database, second_engine: sa.Engine) -> None:
    counter = sa.select(t.counters).where(t.counters.c.name == "id")
    with db.write_engine.begin() as holder:  # holds the write lock / the row lock
        holder.execute(counter.with_for_update())
        holder.execute(sa.update(t.counters).where(t.counters.c.name == "id")
                       .values(value=t.counters.c.value + 1))
        with pytest.raises(DBAPIError) as info, second_engine.connect() as conn:
            if db.is_sqlite:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.execute(counter.with_for_update(nowait=True))
    assert isinstance(classify(info.value), Contention)


def test_records_update_many_leaves_state_columns_unless_asked(db: Database,
                                                               leads: Module) -> None:
    repo = RecordRepository()
    a = rec(leads, 1, {"Last_Name": "A"})
    with db.write() as tx:
        repo.insert_many(tx, [a])
        # A plain update of a record another writer deleted does not bring it back.
        repo.update_many(tx, [replace(a, deleted_time=at(6), deleted_by=8)], with_state=True)
        repo.update_many(tx, [replace(a, data={"Last_Name": "B"}, converted=True)])
    with db.read() as tx:
        stored = repo.load(tx, leads.id, [1], live_only=False)[1]
    assert stored.data == {"Last_Name": "B"}
    assert (stored.deleted_time, stored.deleted_by, stored.converted) == (at(6), 8, False)


def test_a_modified_copy_keeps_every_other_field(leads: Module) -> None:
    import dataclasses
    # Every field set away from its default, so a field the copy forgets shows up.
    full = StoredRecord(id=1, module_id=leads.id, data={"Last_Name": "A"}, owner_id=2,
                        created_by=3, modified_by=4, created_time=at(1), modified_time=at(2),
                        converted=True, approval_state="approval_process_pending",
                        deleted_time=at(3), deleted_by=5)
    assert all(getattr(full, f.name) != f.default for f in dataclasses.fields(StoredRecord))
    copy = full.modified(9, at(7))
    assert copy == replace(full, modified_by=9, modified_time=at(7))
    copy.data["City"] = "Pune"
    assert full.data == {"Last_Name": "A"}
