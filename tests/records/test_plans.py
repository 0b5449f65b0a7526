"""Plan fingerprints: the same writes give the same value whatever ids new records get and
whenever they run; any difference in what is written changes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from corral.errors import DuplicateData
from corral.records.plans import RecordedBatch, fingerprint, job_plan_json, plan_json
from corral.records.writes import Change, Outcome
from corral.storage.repositories.records import StoredRecord

T0 = datetime(2026, 1, 1)


def rec(rid: int, **data: Any) -> StoredRecord:
    return StoredRecord(id=rid, module_id=1, data=data, owner_id=7, created_by=7,
                        modified_by=7, created_time=T0, modified_time=T0)


def insert(index: int, rid: int, when: str, account: int) -> Outcome:
    return Outcome(index, record=rec(rid), action="insert", known_changes={
        "Last_Name": Change(None, "Daly"), "Created_Time": Change(None, when),
        "Account_Name": Change(None, {"id": str(account)})})


@given(st.integers(1, 10**18), st.integers(1, 10**18), st.text(max_size=5))
def test_blind_to_new_ids_and_write_times(a: int, b: int, when: str) -> None:
    if a == b:
        return
    dry = [RecordedBatch("Accounts", (Outcome(0, record=rec(-1), action="insert"),)),
           RecordedBatch("Contacts", (insert(0, -2, "then", -1),))]
    real = [RecordedBatch("Accounts", (Outcome(0, record=rec(a), action="insert"),)),
            RecordedBatch("Contacts", (insert(0, b, when, a),))]
    assert fingerprint(dry) == fingerprint(real)


def test_sensitive_to_what_is_written() -> None:
    base = [RecordedBatch("Leads", (Outcome(0, record=rec(5), action="update", known_changes={
        "City": Change("A", "B")}),))]
    other_value = [RecordedBatch("Leads", (Outcome(0, record=rec(5), action="update",
                                                   known_changes={"City": Change("A", "C")}),))]
    other_record = [RecordedBatch("Leads", (Outcome(0, record=rec(6), action="update",
                                                    known_changes={"City": Change("A", "B")}),))]
    refused = [RecordedBatch("Leads", (Outcome(0, error=DuplicateData()),))]
    prints = {fingerprint(b) for b in (base, other_value, other_record, refused)}
    assert len(prints) == 4


def test_plan_shapes() -> None:
    o = Outcome(0, record=rec(5), action="update", duplicate_field="Email",
                known_changes={"City": Change("A", "B")})
    assert plan_json(o) == {"action": "update", "matched_by": "Email",
                            "changes": {"City": {"old": "A", "new": "B"}}}
    assert plan_json(Outcome(1, record=rec(5), action="update"))["action"] == "noop"
    assert plan_json(Outcome(2, error=DuplicateData()))["action"] == "error"
    job = job_plan_json([o] * 150 + [Outcome(2, error=DuplicateData())])
    assert job["counts"] == {"update": 150, "error": 1} and job["total"] == 151
    assert len(job["plans"]) == 100 and job["plans"][0]["id"] == "5"
