"""Insert / update / delete over HTTP: envelopes, status codes, per-record errors."""

from __future__ import annotations

from tests.conftest import Api


def test_insert_returns_201_and_zoho_write_details(api: Api) -> None:
    r = api.post("Leads", json={"data": [{"Last_Name": "Daly", "First_Name": "Paul",
                                          "Email": "paul@zylker.com"}]})
    assert r.status_code == 201
    assert r.headers["content-type"].startswith("application/json")
    (entry,) = r.json()["data"]
    assert entry["code"] == "SUCCESS" and entry["status"] == "success"
    assert entry["message"] == "record added"
    details = entry["details"]
    assert set(details) == {"Modified_Time", "Modified_By", "Created_Time", "id", "Created_By",
                            "$approval_state"}
    assert details["id"].isdigit() and len(details["id"]) == 19
    assert set(details["Created_By"]) == {"name", "id"}
    got = api.get(f"Leads/{details['id']}").json()["data"][0]
    assert got["Full_Name"] == "Paul Daly"
    assert got["Email"] == "paul@zylker.com"
    assert got["Owner"]["email"] == "admin@corral.local"


def test_mixed_batch_is_207_and_failed_record_leaves_no_trace(api: Api) -> None:
    r = api.post("Leads", json={"data": [
        {"Last_Name": "Ok"},
        {"First_Name": "No last name"},
        {"Last_Name": "Bad", "No_of_Employees": "many"},
    ]})
    assert r.status_code == 207
    ok, missing, bad = r.json()["data"]
    assert ok["code"] == "SUCCESS"
    assert missing == {"code": "MANDATORY_NOT_FOUND", "status": "error",
                       "message": "required field not found",
                       "details": {"api_name": "Last_Name", "json_path": "$.data[1].Last_Name"}}
    assert bad == {"code": "INVALID_DATA", "status": "error", "message": "invalid data",
                   "details": {"expected_data_type": "integer", "api_name": "No_of_Employees",
                               "json_path": "$.data[2].No_of_Employees"}}
    assert api.get("Leads/actions/count").json() == {"count": 1}


def test_all_failed_is_400(api: Api) -> None:
    r = api.post("Leads", json={"data": [{"First_Name": "x"}]})
    assert r.status_code == 400
    assert r.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


def test_too_long_value_reports_maximum_length(api: Api) -> None:
    r = api.post("Leads", json={"data": [{"Last_Name": "x" * 81}]})
    assert r.json()["data"][0]["details"] == {"maximum_length": 80, "api_name": "Last_Name",
                                              "json_path": "$.data[0].Last_Name"}


def test_more_than_100_records_is_limit_exceeded_and_nothing_written(api: Api) -> None:
    r = api.post("Leads", json={"data": [{"Last_Name": f"L{i}"} for i in range(101)]})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "LIMIT_EXCEEDED" and body["details"] == {"limit": 100}
    assert body["status"] == "error"
    assert api.get("Leads/actions/count").json() == {"count": 0}


def test_body_without_content_type_and_numeric_ids(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    raw = ('{"data":[{"id": ' + rid + ', "Last_Name": "Dalton"}]}').encode()
    r = api.client.put("/crm/v2/Leads", content=raw, headers=api.headers())
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["message"] == "record updated"
    assert api.get(f"Leads/{rid}").json()["data"][0]["Last_Name"] == "Dalton"


def test_update_single_by_path_and_unknown_id(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly", "Company": "Zylker"})
    r = api.put(f"Leads/{rid}", json={"data": [{"Company": "Zoho"}]})
    assert r.status_code == 200
    assert api.get(f"Leads/{rid}").json()["data"][0]["Company"] == "Zoho"
    r = api.put("Leads/1234567890123456789", json={"data": [{"Company": "Zoho"}]})
    assert r.status_code == 400
    assert r.json() == {"code": "INVALID_DATA", "details": {"resource_path_index": 1},
                        "message": "the id given seems to be invalid", "status": "error"}


def test_bulk_update_unknown_and_missing_id(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    r = api.put("Leads", json={"data": [{"id": rid, "City": "Chennai"},
                                        {"id": "1234567890123456789", "City": "x"},
                                        {"City": "no id"}]})
    assert r.status_code == 207
    ok, unknown, missing = r.json()["data"]
    assert ok["code"] == "SUCCESS"
    assert unknown["code"] == "INVALID_DATA"
    assert unknown["message"] == "the id given seems to be invalid"
    assert missing["code"] == "MANDATORY_NOT_FOUND"
    assert missing["details"] == {"api_name": "id", "json_path": "$.data[2].id"}


def test_update_cannot_empty_mandatory_field(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    r = api.put(f"Leads/{rid}", json={"data": [{"Last_Name": None}]})
    assert r.status_code == 400
    assert r.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"


def test_unique_email_is_case_insensitive_on_insert_and_update(api: Api) -> None:
    a, b = api.insert("Leads", {"Last_Name": "A", "Email": "a@x.com"},
                      {"Last_Name": "B", "Email": "b@x.com"})
    r = api.post("Leads", json={"data": [{"Last_Name": "C", "Email": " A@X.COM "}]})
    assert r.status_code == 400
    err = r.json()["data"][0]
    assert err["code"] == "DUPLICATE_DATA" and err["message"] == "duplicate data"
    assert err["details"]["api_name"] == "Email"
    assert err["details"]["json_path"] == "$.data[0].Email"
    assert err["details"]["duplicate_record"]["id"] == a
    assert err["details"]["duplicate_record"]["module"]["api_name"] == "Leads"
    assert set(err["details"]["duplicate_record"]["Owner"]) == {"name", "id", "zuid"}
    assert err["details"]["more_records"] is False
    r = api.put(f"Leads/{b}", json={"data": [{"Email": "A@x.com"}]})
    assert r.json()["data"][0]["details"]["duplicate_record"]["id"] == a
    # Freeing the value lets another record take it, within one call.
    r = api.put("Leads", json={"data": [{"id": a, "Email": "new@x.com"},
                                        {"id": b, "Email": "a@x.com"}]})
    assert r.status_code == 200, r.text


def test_duplicate_within_one_insert_call(api: Api) -> None:
    r = api.post("Leads", json={"data": [{"Last_Name": "A", "Email": "same@x.com"},
                                         {"Last_Name": "B", "Email": "SAME@x.com"}]})
    assert r.status_code == 207
    first, second = r.json()["data"]
    assert second["code"] == "DUPLICATE_DATA"
    assert second["details"]["duplicate_record"]["id"] == first["details"]["id"]


def test_delete_bulk_and_single(api: Api) -> None:
    a, b = api.insert("Leads", {"Last_Name": "A", "Email": "a@x.com"}, {"Last_Name": "B"})
    r = api.delete("Leads", params={"ids": f"{a},1234567890123456789"})
    assert r.status_code == 207
    ok, bad = r.json()["data"]
    assert ok == {"code": "SUCCESS", "details": {"id": a}, "message": "record deleted",
                  "status": "success"}
    assert bad["code"] == "INVALID_DATA" and bad["message"] == "record not deleted"
    r = api.delete(f"Leads/{b}")
    assert r.status_code == 200
    assert r.json()["data"][0]["details"] == {"id": b}
    assert api.get("Leads").status_code == 204
    # The deleted record's Email is free again.
    api.insert("Leads", {"Last_Name": "C", "Email": "a@x.com"})
    deleted = api.get("Leads/deleted").json()["data"]
    assert {d["id"] for d in deleted} == {a, b}
    assert all(d["type"] == "recycle" for d in deleted)


def test_delete_without_ids_is_required_param_missing(api: Api) -> None:
    r = api.delete("Leads")
    assert r.status_code == 400
    assert r.json()["code"] == "REQUIRED_PARAM_MISSING"


def test_change_log_records_every_write(api: Api, corral) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from corral.storage import tables as t

    (rid,) = api.insert("Leads", {"Last_Name": "Daly", "City": "Austin"})
    api.put(f"Leads/{rid}", json={"data": [{"City": "Chennai"}]})
    api.delete(f"Leads/{rid}")
    with corral.db.read() as conn:
        rows = conn.execute(sa.select(t.change_log).where(t.change_log.c.record_id == int(rid))
                            .order_by(t.change_log.c.id)).all()
    assert [(r.operation, r.field) for r in rows] == [("insert", None), ("update", "City"),
                                                      ("delete", None)]
    assert rows[1].old_value == "Austin" and rows[1].new_value == "Chennai"
    assert all(r.request_id for r in rows)
