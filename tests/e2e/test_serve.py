"""`corral serve` as a real process over real HTTP, on SQLite and PostgreSQL.

One server per backend: first start prints the admin token, records go through insert, get,
update, search, upsert and delete, a CLI-made token works against the running server, and a
second start on the same database prints no new token and still has the data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.helpers import Http, Server, run_corral

pytestmark = pytest.mark.e2e


def _ids(body: dict) -> list[str]:
    return [entry["details"]["id"] for entry in body["data"]]


def test_serve_records_tokens_and_restart(e2e_database_url: str, tmp_path: Path) -> None:
    url = e2e_database_url
    server = Server(url, tmp_path, "first")
    try:
        server.start()
        admin = server.admin_token()
        assert admin, server.output()
        api = Http(server.base_url, admin)

        # no / bad token
        status, body = api.get("Leads", token="1000.nope.nope")
        assert status == 401 and body["code"] == "INVALID_TOKEN", body

        # insert
        status, body = api.post("Leads", {"data": [
            {"Last_Name": "Daly", "First_Name": "Paul", "Email": "paul@zylker.com",
             "Company": "Zylker"},
            {"Last_Name": "Boyle", "Email": "patricia@zylker.com", "Company": "Zylker"},
            {"Last_Name": "Kate", "Email": "kate@acme.com", "Company": "Acme"},
        ]})
        assert status == 201, body
        assert [e["code"] for e in body["data"]] == ["SUCCESS"] * 3
        daly, boyle, kate = ids = _ids(body)
        assert all(i.isdigit() for i in ids)

        # get one / several
        status, body = api.get(f"Leads/{daly}")
        assert status == 200, body
        (rec,) = body["data"]
        assert rec["id"] == daly and rec["Full_Name"] == "Paul Daly"
        assert rec["Owner"]["id"].isdigit()
        status, body = api.get("Leads", params={"ids": ",".join(ids)})
        assert status == 200 and {r["id"] for r in body["data"]} == set(ids), body

        # update one (path id) and many (ids as JSON numbers, > 2**53)
        status, body = api.put(f"Leads/{daly}", {"data": [{"Designation": "CEO"}]})
        assert status == 200 and body["data"][0]["message"] == "record updated", body
        status, body = api.put("Leads", {"data": [
            {"id": int(boyle), "Company": "Boyle Inc"},
            {"id": int(kate), "Company": "Kate Ltd"},
        ]})
        assert status == 200, body
        assert _ids(body) == [boyle, kate]
        status, body = api.get("Leads", params={"ids": f"{boyle},{kate}"})
        assert {r["id"]: r["Company"] for r in body["data"]} == {boyle: "Boyle Inc",
                                                                   kate: "Kate Ltd"}

        # search by criteria and by email
        status, body = api.get("Leads/search", params={"criteria": "(Company:equals:Zylker)"})
        assert status == 200 and [r["id"] for r in body["data"]] == [daly], body
        status, body = api.get("Leads/search", params={"email": "kate@acme.com"})
        assert status == 200 and [r["id"] for r in body["data"]] == [kate], body

        # upsert: existing email updates, new email inserts
        status, body = api.post("Leads/upsert", {"data": [
            {"Last_Name": "Daly", "Email": "paul@zylker.com", "Designation": "CTO"},
            {"Last_Name": "New", "Email": "new@zylker.com"},
        ]})
        assert status in (200, 201), body
        upd, ins = body["data"]
        assert (upd["action"], upd["duplicate_field"], upd["details"]["id"]) == (
            "update", "Email", daly)
        assert (ins["action"], ins["duplicate_field"]) == ("insert", None)
        new = ins["details"]["id"]
        status, body = api.get(f"Leads/{daly}")
        assert body["data"][0]["Designation"] == "CTO"

        # delete one, delete many
        status, body = api.delete(f"Leads/{kate}")
        assert status == 200 and body["data"][0]["details"]["id"] == kate, body
        status, body = api.get(f"Leads/{kate}")
        assert status in (204, 400, 404) and (body is None or body["code"] == "INVALID_DATA")
        status, body = api.delete("Leads", params={"ids": new})
        assert status == 200 and body["data"][0]["message"] == "record deleted", body
        status, body = api.get("Leads/actions/count")
        assert status == 200 and body == {"count": 2}, body

        # a token from the CLI against the same database works on the running server
        made = run_corral("token", "create", "--scopes", "ZohoCRM.modules.leads.READ",
                          "--database-url", url)
        assert made.returncode == 0, made.stderr
        lines = made.stdout.split()
        assert len(lines) == 1, made.stdout
        reader = lines[0]
        status, body = api.get(f"Leads/{daly}", token=reader)
        assert status == 200 and body["data"][0]["id"] == daly, body
        status, body = api.post("Leads", {"data": [{"Last_Name": "X"}]}, token=reader)
        assert status == 401 and body["code"] == "OAUTH_SCOPE_MISMATCH", body
    finally:
        server.stop()

    # second start: no new admin token, data and tokens persist
    again = Server(url, tmp_path, "second")
    try:
        again.start()
        assert again.admin_token() is None, again.output()
        api = Http(again.base_url, admin)
        status, body = api.get("Leads", params={"ids": f"{daly},{boyle}"})
        assert status == 200, body
        got = {r["id"]: r for r in body["data"]}
        assert got[daly]["Designation"] == "CTO" and got[boyle]["Company"] == "Boyle Inc"
        status, body = api.get(f"Leads/{daly}", token=reader)
        assert status == 200, body
    finally:
        again.stop()
