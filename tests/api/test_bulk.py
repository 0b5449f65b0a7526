"""Bulk Write and Bulk Read over HTTP: upload, jobs run by the worker step by step, results,
callbacks queued in the outbox, and every error the OAS documents."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import pytest
import sqlalchemy as sa

from corral.records.bulk_files import zip_bytes
from corral.services import Corral
from corral.storage import tables as t
from tests.conftest import Api, make_token

UPLOAD_HEADERS = {"feature": "bulk-write", "X-CRM-ORG": "1"}


def csv_bytes(rows: list[list[str]], delimiter: str = ",") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode()


def upload(api: Api, rows: list[list[str]], *, token: str | None = None,
           headers: dict[str, str] | None = None, content: bytes | None = None) -> Any:
    data = content if content is not None else zip_bytes("Leads.csv", csv_bytes(rows))
    return api.client.post(f"/crm/{api.version}/upload",
                           files={"file": ("leads.zip", data, "application/zip")},
                           headers={**api.headers(token),
                                    **(UPLOAD_HEADERS if headers is None else headers)})


def file_id(api: Api, rows: list[list[str]]) -> str:
    r = upload(api, rows)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["code"], body["message"]) == (
        "success", "FILE_UPLOAD_SUCCESS", "file uploaded.")
    return str(body["details"]["file_id"])


def bulk(api: Api, method: str, path: str, **kw: Any) -> Any:
    return api.client.request(method, f"/crm/bulk/{api.version}/{path}",
                              headers=api.headers(kw.pop("token", None)), **kw)


def write_job(api: Api, operation: str, fid: str, module: str = "Leads",
              **resource: Any) -> str:
    body = {"operation": operation, "resource": [
        {"type": "data", "module": {"api_name": module}, "file_id": fid, **resource}]}
    r = bulk(api, "POST", "write", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["code"] == "SUCCESS"
    return str(r.json()["details"]["id"])


def finish(corral: Corral) -> None:
    corral.jobs.run_until_idle()


def write_status(api: Api, job_id: str) -> dict[str, Any]:
    r = bulk(api, "GET", f"write/{job_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def unzip_csv(content: bytes) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        (name,) = zf.namelist()
        text = zf.read(name).decode()
    return list(csv.DictReader(io.StringIO(text)))


def write_result(api: Api, job_id: str) -> list[dict[str, str]]:
    url = write_status(api, job_id)["result"]["download_url"]
    r = api.client.get(url, headers=api.headers())
    assert r.status_code == 200, r.text
    return unzip_csv(r.content)


def leads(api: Api) -> dict[str, dict[str, Any]]:
    r = api.get("Leads", params={"fields": "Last_Name,Email,Company,Lead_Status"})
    return {} if r.status_code == 204 else {d["Email"]: d for d in r.json()["data"]}


# ----------------------------------------------------------------------------- bulk write
def test_insert_reports_each_row_and_logs_the_job(api: Api, corral: Corral) -> None:
    fid = file_id(api, [["Last_Name", "Email", "Company"],
                        ["Ames", "ames@x.com", "Zylker"],
                        ["Bell", "not-an-email", "Zylker"],
                        ["", "nolast@x.com", "Zylker"],
                        ["Cole", "cole@x.com", "Zylker"]])
    job_id = write_job(api, "insert", fid)
    st = write_status(api, job_id)
    assert st["status"] == "ADDED" and "result" not in st
    finish(corral)
    st = write_status(api, job_id)
    assert st["status"] == "COMPLETED" and st["operation"] == "insert"
    (res,) = st["resource"]
    assert res["module"]["api_name"] == "Leads" and res["status"] == "COMPLETED"
    assert {k: res["file"][k] for k in ("added_count", "updated_count", "skipped_count",
                                        "total_count")} == {
        "added_count": 2, "updated_count": 0, "skipped_count": 2, "total_count": 4}
    rows = write_result(api, job_id)
    assert [r["STATUS"] for r in rows] == ["ADDED", "SKIPPED", "SKIPPED", "ADDED"]
    assert [r["ERRORS"] for r in rows] == ["", "INVALID_DATA-Email",
                                           "MANDATORY_NOT_FOUND-Last_Name", ""]
    got = leads(api)
    assert set(got) == {"ames@x.com", "cole@x.com"}
    assert rows[0]["RECORD_ID"] == got["ames@x.com"]["id"]
    with corral.db.read() as tx:
        logged = tx.execute(sa.select(t.change_log.c.record_id).where(
            t.change_log.c.job_id == int(job_id))).all()
    assert {str(r[0]) for r in logged} == {got["ames@x.com"]["id"], got["cole@x.com"]["id"]}


def test_update_by_id_and_by_unique_field_with_mappings(api: Api, corral: Corral) -> None:
    a, b = api.insert("Leads", {"Last_Name": "A", "Email": "a@x.com", "Company": "Old"},
                      {"Last_Name": "B", "Email": "b@x.com", "Company": "Old"})
    fid = file_id(api, [["record", "company", "status"], [a, "New A", "Contacted"],
                        ["1234567890123456789", "Nope", ""], [b, "", "Junk Lead"]])
    job = write_job(api, "update", fid, find_by="id", ignore_empty=True, field_mappings=[
        {"api_name": "id", "index": 0}, {"api_name": "Company", "index": 1},
        {"api_name": "Lead_Status", "index": 2}])
    finish(corral)
    rows = write_result(api, job)
    assert [r["STATUS"] for r in rows] == ["UPDATED", "SKIPPED", "UPDATED"]
    assert rows[1]["ERRORS"] == "RESOURCE_NOT_FOUND-record"
    got = leads(api)
    assert (got["a@x.com"]["Company"], got["a@x.com"]["Lead_Status"]) == ("New A", "Contacted")
    # ignore_empty: the empty Company cell left B's value alone
    assert (got["b@x.com"]["Company"], got["b@x.com"]["Lead_Status"]) == ("Old", "Junk Lead")

    fid = file_id(api, [["Email", "Company"], ["A@X.com", "By email"], ["zz@x.com", "none"]])
    job = write_job(api, "update", fid, find_by="Email")
    finish(corral)
    assert [r["STATUS"] for r in write_result(api, job)] == ["UPDATED", "SKIPPED"]
    assert leads(api)["a@x.com"]["Company"] == "By email"


def test_upsert_with_find_by_matches_or_inserts(api: Api, corral: Corral) -> None:
    api.insert("Leads", {"Last_Name": "A", "Email": "a@x.com", "Company": "Old"})
    fid = file_id(api, [["Last_Name", "Email", "Company"], ["A2", "a@x.com", "Upd"],
                        ["N", "n@x.com", "New"], ["N again", "n@x.com", "Again"]])
    job = write_job(api, "upsert", fid, find_by="Email")
    finish(corral)
    st = write_status(api, job)["resource"][0]["file"]
    assert (st["added_count"], st["updated_count"], st["skipped_count"]) == (1, 2, 0)
    assert [r["STATUS"] for r in write_result(api, job)] == ["UPDATED", "ADDED", "UPDATED"]
    got = leads(api)
    assert (got["a@x.com"]["Last_Name"], got["n@x.com"]["Company"]) == ("A2", "Again")


def test_lookups_found_by_name(api: Api, corral: Corral) -> None:
    (acc,) = api.insert("Accounts", {"Account_Name": "Zylker"})
    fid = file_id(api, [["Last_Name", "Account_Name.Account_Name"], ["Ann", "zylker"],
                        ["Bob", "Unknown Inc"]])
    job = write_job(api, "insert", fid, module="Contacts")
    finish(corral)
    rows = write_result(api, job)
    assert [r["STATUS"] for r in rows] == ["ADDED", "SKIPPED"]
    assert rows[1]["ERRORS"] == "INVALID_DATA-Account_Name.Account_Name"
    got = api.get(f"Contacts/{rows[0]['RECORD_ID']}").json()["data"][0]
    assert got["Account_Name"]["id"] == acc

    fid = file_id(api, [["Last_Name", "Account"], ["Cid", "Zylker"]])
    job = write_job(api, "insert", fid, module="Contacts", field_mappings=[
        {"api_name": "Last_Name", "index": 0},
        {"api_name": "Account_Name", "index": 1, "find_by": "Account_Name"}])
    finish(corral)
    (row,) = write_result(api, job)
    assert row["STATUS"] == "ADDED"
    assert api.get(f"Contacts/{row['RECORD_ID']}").json()["data"][0]["Account_Name"]["id"] \
        == acc


def test_semicolon_file_and_callback_queued(api: Api, corral: Corral) -> None:
    fid = file_id(api, [["Last_Name", "Email"], ["Semi", "s@x.com"]])
    data = zip_bytes("x.csv", csv_bytes([["Last_Name", "Email"], ["Semi", "s@x.com"]], ";"))
    r = upload(api, [], content=data)
    fid = str(r.json()["details"]["file_id"])
    body = {"operation": "insert", "callback": {"url": "http://127.0.0.1:9/cb",
                                                "method": "post"},
            "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": fid}]}
    r = bulk(api, "POST", "write", json=body)
    assert r.status_code == 201, r.text
    job = r.json()["details"]["id"]
    finish(corral)
    assert "s@x.com" in leads(api)
    with corral.db.read() as tx:
        rows = tx.execute(sa.select(t.webhook_outbox)).all()
    assert [(r.url, r.payload["job_id"], r.payload["status"]) for r in rows] == [
        ("http://127.0.0.1:9/cb", job, "COMPLETED")]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"resource": []}, 400, "MANDATORY_NOT_FOUND"),
    ({"operation": "merge"}, 400, "INVALID_DATA"),
    ({"operation": "insert", "resource": [{"module": {"api_name": "Nope"}}]}, 400,
     "MODULE_NOT_AVAILABLE"),
    ({"operation": "insert", "resource": [{"module": {"api_name": "Leads"},
                                           "file_id": "123"}]}, 400, "INVALID_FILE_ID"),
    ({"operation": "insert", "callback": {"url": "http://127.0.0.1/x", "method": "get"},
      "resource": [{"module": {"api_name": "Leads"}, "file_id": "FID"}]}, 400,
     "INVALID_CALLBACK_METHOD"),
    ({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": "FID",
                                           "field_mappings": [{"api_name": "Email",
                                                               "index": 1}]}]}, 400,
     "MANDATORY_FIELDS_NOT_MAPPED"),
    ({"operation": "insert", "resource": [{"module": {"api_name": "Leads"}, "file_id": "FID",
                                           "field_mappings": [{"api_name": "Nope",
                                                               "index": 0}]}]}, 400,
     "INVALID_DATA"),
    ({"operation": "update", "resource": [{"module": {"api_name": "Leads"},
                                           "file_id": "FID"}]}, 400, "MANDATORY_NOT_FOUND"),
])
def test_bulk_write_request_errors(api: Api, corral: Corral, body: dict[str, Any],
                                   status: int, code: str) -> None:
    fid = file_id(api, [["Last_Name", "Email"], ["A", "a@x.com"]])
    for res in body.get("resource", []):
        if res.get("file_id") == "FID":
            res["file_id"] = fid
    r = bulk(api, "POST", "write", json=body)
    assert (r.status_code, r.json()["code"], r.json()["status"]) == (status, code, "error"), \
        r.text
    with corral.db.read() as tx:
        assert tx.execute(sa.select(sa.func.count()).select_from(t.jobs)).scalar_one() == 0


def test_upload_errors(api: Api, corral: Corral) -> None:
    r = upload(api, [], content=b"Last_Name\nA\n")
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_FILE_FORMAT")
    r = upload(api, [["Last_Name"], ["A"]], headers={})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_REQUEST")
    two = io.BytesIO()
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a.csv", "Last_Name\nA\n")
        zf.writestr("b.csv", "Last_Name\nB\n")
    fid = str(upload(api, [], content=two.getvalue()).json()["details"]["file_id"])
    r = bulk(api, "POST", "write", json={"operation": "insert", "resource": [
        {"module": {"api_name": "Leads"}, "file_id": fid}]})
    assert (r.status_code, r.json()["code"]) == (400, "FILE_NOT_SUPPORTED")


def test_unknown_job_and_result_before_completion(api: Api, corral: Corral) -> None:
    r = bulk(api, "GET", "write/1234567890123456789")
    assert (r.status_code, r.json()["code"]) == (400, "RESOURCE_NOT_FOUND")
    r = bulk(api, "GET", "read/1234567890123456789")
    assert (r.status_code, r.json()["code"]) == (404, "RESOURCE_NOT_FOUND")
    fid = file_id(api, [["Last_Name"], ["A"]])
    job = write_job(api, "insert", fid)
    r = bulk(api, "GET", f"write/{job}/result")
    assert (r.status_code, r.json()["code"]) == (400, "RESOURCE_NOT_FOUND")


# ----------------------------------------------------------------------------- bulk read
def read_job(api: Api, query: dict[str, Any], **extra: Any) -> str:
    r = bulk(api, "POST", "read", json={"query": query, **extra})
    assert r.status_code == 201, r.text
    (item,) = r.json()["data"]
    assert (item["code"], item["details"]["state"]) == ("ADDED_SUCCESSFULLY", "ADDED")
    return str(item["details"]["id"])


def read_result(api: Api, job: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
    r = bulk(api, "GET", f"read/{job}")
    assert r.status_code == 200, r.text
    (detail,) = r.json()["data"]
    assert detail["state"] == "COMPLETED", detail
    r = api.client.get(detail["result"]["download_url"], headers=api.headers())
    assert r.status_code == 200
    return detail, unzip_csv(r.content)


def test_bulk_read_criteria_fields_and_pages(api: Api, corral: Corral) -> None:
    corral.bulk_read.page_size = 3
    ids = api.insert("Leads", *[{"Last_Name": f"L{i}", "Email": f"l{i}@x.com",
                                 "Lead_Status": "Contacted" if i % 2 else "Junk Lead"}
                                for i in range(8)])
    # Zoho's Bulk Read samples name the field `api_name`; `field: {api_name}` works too
    crit = {"group_operator": "and", "group": [
        {"api_name": "Lead_Status", "comparator": "equal", "value": "Contacted"},
        {"field": {"api_name": "Last_Name"}, "comparator": "starts_with", "value": "L"}]}
    seen: list[str] = []
    for page in (1, 2):
        job = read_job(api, {"module": {"api_name": "Leads"}, "page": page,
                             "fields": ["Last_Name", "Email"], "criteria": crit})
        finish(corral)
        detail, rows = read_result(api, job)
        assert detail["result"]["page"] == page and detail["result"]["per_page"] == 3
        assert detail["result"]["more_records"] is (page == 1)
        assert detail["result"]["count"] == len(rows)
        assert all(set(r) == {"Id", "Last_Name", "Email"} for r in rows)
        seen += [r["Id"] for r in rows]
    assert seen == [ids[i] for i in (1, 3, 5, 7)]


def test_bulk_read_set_is_fixed_when_the_job_starts(api: Api, corral: Corral) -> None:
    a, b = api.insert("Leads", {"Last_Name": "A"}, {"Last_Name": "B"})
    job = read_job(api, {"module": {"api_name": "Leads"}},
                   callback={"url": "http://127.0.0.1:9/read", "method": "post"})
    api.insert("Leads", {"Last_Name": "Later"})
    assert api.delete(f"Leads/{b}").status_code == 200
    finish(corral)
    detail, rows = read_result(api, job)
    assert [r["Id"] for r in rows] == [a] and rows[0]["Last_Name"] == "A"
    assert "Owner" in rows[0]
    with corral.db.read() as tx:
        (cb,) = tx.execute(sa.select(t.webhook_outbox)).all()
    assert (cb.url, cb.payload["state"], cb.payload["job_id"]) == (
        "http://127.0.0.1:9/read", "COMPLETED", job)


def test_bulk_read_result_is_read_part_by_part_as_it_is_sent(
        api: Api, corral: Corral, monkeypatch: pytest.MonkeyPatch) -> None:
    # One result part per runner chunk; the download asks the database for a few parts at a
    # time as the client takes the bytes, so no result is ever held whole.
    ids = api.insert("Leads", *[{"Last_Name": f"P{i}"} for i in range(5)])
    job_id = read_job(api, {"module": {"api_name": "Leads"}, "fields": ["Last_Name"]})
    corral.jobs.chunk = 1
    finish(corral)
    service = corral.bulk_read
    reads: list[tuple[int, int]] = []
    real = service.bulk.parts

    def parts(tx: Any, job: int, after_seq: int, limit: int) -> Any:
        reads.append((after_seq, limit))
        return real(tx, job, after_seq, limit)

    monkeypatch.setattr(service.bulk, "parts", parts)
    chunks = service.result_chunks(service.job(job_id), parts_per_read=2)
    assert next(chunks) == b"Id,Last_Name\n" and reads == []
    assert next(chunks) == f"{ids[0]},P0\n".encode() and reads == [(-1, 2)]
    rest = list(chunks)
    assert reads == [(-1, 2), (1, 2), (3, 2), (4, 2)]
    assert rest == [f"{ids[i]},P{i}\n".encode() for i in range(1, 5)]
    _detail, rows = read_result(api, job_id)
    assert [r["Id"] for r in rows] == ids


@pytest.mark.parametrize(("body", "code"), [
    ({}, "MANDATORY_NOT_FOUND"),
    ({"query": {"module": {"api_name": "Nope"}}}, "MODULE_NOT_AVAILABLE"),
    ({"query": {"module": {"api_name": "Leads"}, "criteria": {"field": {"api_name": "Nope"},
                                                              "comparator": "equal",
                                                              "value": "x"}}},
     "INVALID_CRITERIA"),
    ({"query": {"module": {"api_name": "Leads"}, "fields": ["Nope"]}}, "INVALID_DATA"),
    ({"query": {"module": {"api_name": "Leads"}},
      "callback": {"url": "http://127.0.0.1/", "method": "put"}}, "INVALID_CALLBACK_METHOD"),
    ({"query": {"module": {"api_name": "Leads"}},
      "callback": {"url": "not a url", "method": "post"}}, "INVALID_CALLBACK_URL"),
])
def test_bulk_read_request_errors(api: Api, body: dict[str, Any], code: str) -> None:
    r = bulk(api, "POST", "read", json=body)
    assert (r.status_code, r.json()["code"]) == (400, code), r.text


# ----------------------------------------------------------------------------- auth
def _restricted(corral: Corral, modules: dict[str, list[str]]) -> str:
    user = corral.auth.create_user("std@zylker.com", "Standard", first_name="Sam")
    with corral.db.write() as conn:
        conn.execute(sa.update(t.profiles).where(t.profiles.c.id == user.profile_id).values(
            permissions={"admin": False, "modules": modules, "read_only_fields": {}}))
    return make_token(corral, email="std@zylker.com")


def test_token_scope_and_profile_are_checked(api: Api, corral: Corral) -> None:
    fid = file_id(api, [["Last_Name"], ["A"]])
    job = write_job(api, "insert", fid)
    read = read_job(api, {"module": {"api_name": "Leads"}})
    write_body = {"operation": "insert", "resource": [
        {"module": {"api_name": "Leads"}, "file_id": fid}]}
    calls = [
        lambda tok: upload(api, [["Last_Name"], ["A"]], token=tok),
        lambda tok: bulk(api, "POST", "write", json=write_body, token=tok),
        lambda tok: bulk(api, "GET", f"write/{job}", token=tok),
        lambda tok: bulk(api, "POST", "read", json={"query": {"module": "Leads"}},
                         token=tok),
        lambda tok: bulk(api, "GET", f"read/{read}", token=tok),
    ]
    no_token = api.client.post(f"/crm/{api.version}/upload", headers=UPLOAD_HEADERS)
    assert (no_token.status_code, no_token.json()["code"]) == (401, "AUTHENTICATION_FAILURE")
    r = api.client.post(f"/crm/bulk/{api.version}/write", json=write_body)
    assert (r.status_code, r.json()["code"]) == (401, "AUTHENTICATION_FAILURE")
    r = api.client.get(f"/crm/bulk/{api.version}/read/{read}")
    assert (r.status_code, r.json()["code"]) == (401, "AUTHENTICATION_FAILURE")
    wrong = make_token(corral, ["ZohoCRM.settings.ALL"])
    for call in calls:
        r = call(wrong)
        assert (r.status_code, r.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH"), r.text
    none = _restricted(corral, {"*": []})
    for call in calls:
        r = call(none)
        assert (r.status_code, r.json()["code"]) == (403, "NO_PERMISSION"), r.text


def test_every_version_prefix_answers(api: Api, corral: Corral) -> None:
    for version in ("v2", "v8"):
        api.version = version
        fid = file_id(api, [["Last_Name"], ["V"]])
        write_job(api, "insert", fid)
    r = api.client.get("/crm/bulk/v99/read/1", headers=api.headers())
    assert (r.status_code, r.json()["code"]) == (404, "INVALID_URL_PATTERN")


def test_owner_found_by_email(api: Api, corral: Corral) -> None:
    user = corral.auth.create_user("rep@zylker.com", "Standard", first_name="Rae")
    fid = file_id(api, [["Last_Name", "Owner.email"], ["Owned", "REP@zylker.com"],
                        ["Nobody", "ghost@zylker.com"]])
    job = write_job(api, "insert", fid)
    finish(corral)
    rows = write_result(api, job)
    assert [r["STATUS"] for r in rows] == ["ADDED", "SKIPPED"]
    assert rows[1]["ERRORS"] == "INVALID_DATA-Owner.email"
    got = api.get(f"Leads/{rows[0]['RECORD_ID']}").json()["data"][0]
    assert got["Owner"]["id"] == str(user.id)


def test_file_over_the_row_limit_is_refused_whole(api: Api, corral: Corral) -> None:
    fid = file_id(api, [["Last_Name"], *[[f"L{i}"] for i in range(25_001)]])
    r = bulk(api, "POST", "write", json={"operation": "insert", "resource": [
        {"module": {"api_name": "Leads"}, "file_id": fid}]})
    assert (r.status_code, r.json()["code"], r.json()["details"]) == (
        400, "LIMIT_EXCEEDED", {"limit": 25_000})
    with corral.db.read() as tx:
        assert tx.execute(sa.select(sa.func.count()).select_from(t.job_items)).scalar_one() == 0


def test_upload_over_25_mb_is_file_too_large(api: Api) -> None:
    r = upload(api, [], content=b"0" * (25 * 1024 * 1024 + 100 * 1024))
    assert (r.status_code, r.json()["code"]) == (413, "FILE_TOO_LARGE")
