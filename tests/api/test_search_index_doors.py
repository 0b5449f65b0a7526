"""The per-field search indexes are the database's own, maintained in each write's transaction:
after a write through any door (insert, update, delete, mass update, merge, bulk write) a
search that the index answers finds the new value and no longer the old one."""

from __future__ import annotations

from typing import Any

import pytest

from corral.services import Corral
from tests.api.test_bulk import bulk, file_id
from tests.conftest import Api


@pytest.fixture(autouse=True)
def indexed(corral: Corral) -> None:
    """Index the modules used here at once (normally from 5,000 records on)."""
    corral.metadata.index_min_records = 0
    corral.metadata.sync_indexes(["Leads", "Contacts", "Accounts"])


def search(api: Api, module: str, **params: str) -> set[str]:
    r = api.get(f"{module}/search", params=params)
    if r.status_code == 204:
        return set()
    assert r.status_code == 200, r.text
    return {d["id"] for d in r.json()["data"]}


def employees(api: Api, n: int) -> set[str]:
    return search(api, "Leads", criteria=f"(No_of_Employees:equals:{n})")


def test_insert_update_and_delete(api: Api, corral: Corral) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Ames", "Email": "old@x.com",
                                  "No_of_Employees": 5})
    assert search(api, "Leads", email="OLD@x.com") == {rid}
    assert employees(api, 5) == {rid}
    r = api.put(f"Leads/{rid}", json={"data": [{"Email": "new@x.com", "No_of_Employees": 6}]})
    assert r.status_code == 200, r.text
    assert search(api, "Leads", email="new@x.com") == {rid}
    assert search(api, "Leads", email="old@x.com") == set()
    assert employees(api, 6) == {rid} and employees(api, 5) == set()
    assert api.delete(f"Leads/{rid}").status_code == 200
    assert search(api, "Leads", email="new@x.com") == set()
    assert employees(api, 6) == set()
    assert index_consistent(corral)


def test_upsert(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Ames", "Email": "u@x.com",
                                  "No_of_Employees": 5})
    r = api.post("Leads/upsert", json={"data": [{"Last_Name": "Ames", "Email": "u@x.com",
                                                 "No_of_Employees": 9}]})
    assert r.status_code == 200, r.text
    assert employees(api, 9) == {rid} and employees(api, 5) == set()


def test_mass_update(api: Api, corral: Corral) -> None:
    ids = api.insert("Leads", *[{"Last_Name": f"M{i}", "No_of_Employees": 1} for i in range(3)])
    r = api.post("Leads/actions/mass_update", json={"data": [{"No_of_Employees": 77}],
                                                    "ids": ids[:2]})
    assert r.status_code in (200, 202), r.text
    corral.jobs.run_until_idle()
    assert employees(api, 77) == set(ids[:2])
    assert employees(api, 1) == {ids[2]}


def test_merge_moves_lookups(api: Api, corral: Corral) -> None:
    master, child = api.insert("Accounts", {"Account_Name": "Zylker"},
                               {"Account_Name": "Zylker Inc"})
    (contact,) = api.insert("Contacts", {"Last_Name": "Daly", "Account_Name": child})
    assert search(api, "Contacts", criteria=f"(Account_Name:equals:{child})") == {contact}
    r = api.post(f"Accounts/{master}/actions/merge",
                 json={"merge": [{"data": [{"id": child}]}]})
    assert r.status_code in (200, 201, 202), r.text
    corral.jobs.run_until_idle()
    assert search(api, "Contacts", criteria=f"(Account_Name:equals:{master})") == {contact}
    assert search(api, "Contacts", criteria=f"(Account_Name:equals:{child})") == set()
    assert index_consistent(corral)


def test_bulk_write(api: Api, corral: Corral) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Ames", "Email": "ames@x.com",
                                  "No_of_Employees": 5})
    fid = file_id(api, [["Last_Name", "Email", "No_of_Employees"],
                        ["Ames", "ames@x.com", "42"], ["Bell", "bell@x.com", "42"]])
    body: dict[str, Any] = {"operation": "upsert", "resource": [
        {"type": "data", "module": {"api_name": "Leads"}, "file_id": fid,
         "find_by": "Email"}]}
    r = bulk(api, "POST", "write", json=body)
    assert r.status_code == 201, r.text
    corral.jobs.run_until_idle()
    found = employees(api, 42)
    assert rid in found and len(found) == 2
    assert employees(api, 5) == set()
    assert search(api, "Leads", email="bell@x.com") == found - {rid}
    assert index_consistent(corral)


def test_a_cleared_value_leaves_the_index_and_a_new_one_enters_it(api: Api,
                                                                  corral: Corral) -> None:
    # The indexes hold only the records that have a value (`IS NOT NULL` in their WHERE).
    (rid,) = api.insert("Leads", {"Last_Name": "Ames", "No_of_Employees": 5})
    r = api.put(f"Leads/{rid}", json={"data": [{"No_of_Employees": None}]})
    assert r.status_code == 200, r.text
    assert employees(api, 5) == set()
    assert search(api, "Leads", criteria="(No_of_Employees:between:0,10)") == set()
    r = api.put(f"Leads/{rid}", json={"data": [{"No_of_Employees": 7}]})
    assert r.status_code == 200, r.text
    assert employees(api, 7) == {rid}
    assert index_consistent(corral)


def index_consistent(corral: Corral) -> bool:
    """SQLite's integrity check compares every index with its table, partial and expression
    indexes included (PostgreSQL has no such check without the amcheck extension)."""
    if not corral.db.is_sqlite:
        return True
    with corral.db.read() as tx:
        return [r[0] for r in tx.exec_driver_sql("PRAGMA integrity_check")] == ["ok"]
