"""Instant notifications under a real `corral serve` and a real receiver on 127.0.0.1.

Every door that writes records produces its callback; a receiver that fails twice gets the
callback on the third try; a `kill -9` between the write and the delivery loses nothing; an
expired channel gets nothing. SQLite and PostgreSQL (the `e2e_database_url` fixture).
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_automation import Receiver
from tests.e2e.helpers import Http, Server, run_corral

pytestmark = pytest.mark.e2e

SCOPES = ("ZohoCRM.modules.ALL,ZohoCRM.notifications.ALL,ZohoCRM.settings.ALL,"
          "ZohoCRM.mass_update.ALL")
WAIT = 60.0


def _token(database_url: str) -> str:
    made = run_corral("token", "create", "--scopes", SCOPES, "--database-url", database_url)
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def _watch(http: Http, receiver: Receiver, channel: str, events: list[str],
           **extra: Any) -> None:
    status, body = http.post("actions/watch", {"watch": [{
        "channel_id": channel, "events": events, "token": f"T{channel}",
        "notify_url": receiver.url, **extra}]})
    assert status == 201, body


def _wait_for(receiver: Receiver, n: int, server: Server) -> list[dict[str, Any]]:
    """The first `n` callbacks, once they all arrived (fails after WAIT seconds)."""
    deadline = time.monotonic() + WAIT
    while len(receiver.bodies) < n:
        assert time.monotonic() < deadline, (receiver.bodies, server.output())
        time.sleep(0.05)
    return receiver.bodies[:n]


def _id(body: Any) -> str:
    return str(body["data"][0]["details"]["id"])


def test_every_door_produces_one_callback(e2e_database_url: str, tmp_path: Path) -> None:
    receiver = Receiver()
    token = _token(e2e_database_url)
    try:
        with Server(e2e_database_url, tmp_path) as server:
            http = Http(server.base_url, token)
            _watch(http, receiver, "101", ["Leads.all", "Contacts.create"])
            # API insert (two records, one callback)
            status, body = http.post("Leads", {"data": [{"Last_Name": "A", "Company": "Z"},
                                                        {"Last_Name": "B"}]})
            assert status == 201, body
            ids = [d["details"]["id"] for d in body["data"]]
            (created,) = _wait_for(receiver, 1, server)
            assert (created["operation"], created["ids"], created["module"]) == (
                "insert", ids, "Leads")
            assert created["channel_id"] == "101" and created["token"] == "T101"
            assert created["resource_uri"] == f"{server.base_url}/crm/v2/Leads"
            # API update
            status, body = http.put("Leads", {"data": [{"id": ids[1], "City": "Pune"}]})
            assert status == 200, body
            updated = _wait_for(receiver, 2, server)[1]
            assert updated["operation"] == "update"
            assert updated["affected_fields"] == [{ids[1]: ["City"]}]
            # Mass update job (by custom view, run by the server's worker)
            status, views = http.get("settings/custom_views", params={"module": "Leads"})
            cvid = next(v["id"] for v in views["custom_views"] if v["name"] == "All Leads")
            status, body = http.post("Leads/actions/mass_update",
                                     {"data": [{"Rating": "Hot"}], "cvid": cvid})
            assert status == 200, body
            mass = _wait_for(receiver, 3, server)[2]
            assert mass["operation"] == "update" and sorted(mass["ids"]) == sorted(ids)
            # Workflow field update: the rule's field travels with the write's own callback
            status, body = http.post("settings/automation/workflow_rules", {
                "workflow_rules": [{"name": "Lost", "when": "edit", "actions": [
                    {"type": "field_update", "field": "Lead_Status", "value": "Lost Lead"}]}]},
                params={"module": "Leads"})
            assert status == 201, body
            status, body = http.put(f"Leads/{ids[1]}", {"data": [{"Company": "Y"}]})
            assert status == 200, body
            workflow = _wait_for(receiver, 4, server)[3]
            assert workflow["affected_fields"] == [{ids[1]: ["Company", "Lead_Status"]}]
            # Lead conversion: the Lead's update and the new Contact's insert
            status, body = http.post(f"Leads/{ids[0]}/actions/convert", {"data": [{}]})
            assert status == 200, body
            contact = body["data"][0]["Contacts"]  # v2's conversion answer: the new ids
            converted = _wait_for(receiver, 6, server)[4:]
            assert {b["module"]: (b["operation"], b["ids"]) for b in converted} == {
                "Leads": ("update", [ids[0]]), "Contacts": ("insert", [str(contact)])}
            # Delete
            status, body = http.delete("Leads", params={"ids": ids[1]})
            assert status == 200, body
            deleted = _wait_for(receiver, 7, server)[6]
            assert (deleted["operation"], deleted["ids"]) == ("delete", [ids[1]])
        assert len(receiver.bodies) == 7
    finally:
        receiver.close()


def test_receiver_failing_twice_gets_it_on_the_third_try(e2e_database_url: str,
                                                         tmp_path: Path) -> None:
    receiver = Receiver(fail=2)
    token = _token(e2e_database_url)
    try:
        with Server(e2e_database_url, tmp_path) as server:
            http = Http(server.base_url, token)
            _watch(http, receiver, "202", ["Leads.create"])
            status, body = http.post("Leads", {"data": [{"Last_Name": "Retry"}]})
            assert status == 201, body
            (got,) = _wait_for(receiver, 1, server)
            assert got["ids"] == [_id(body)]
            status, listed = http.get("settings/automation/webhook_deliveries",
                                      params={"channel_id": "202"})
            assert status == 200, listed
            (row,) = listed["webhook_deliveries"]
            assert row["status"] == "delivered"
            assert [a["status_code"] for a in row["attempt_history"]] == [500, 500, 200]
    finally:
        receiver.close()


def test_kill_9_between_write_and_delivery_loses_nothing(e2e_database_url: str,
                                                         tmp_path: Path) -> None:
    receiver = Receiver()
    token = _token(e2e_database_url)
    try:
        server = Server(e2e_database_url, tmp_path, "no-worker",
                        extra_args=("--no-worker",)).start()
        http = Http(server.base_url, token)
        _watch(http, receiver, "303", ["Leads.all"])
        status, body = http.post("Leads", {"data": [{"Last_Name": "Crash"}]})
        assert status == 201, body
        assert server.proc is not None
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
        assert receiver.bodies == []
        with Server(e2e_database_url, tmp_path, "worker") as restarted:
            (got,) = _wait_for(receiver, 1, restarted)
        assert (got["operation"], got["ids"], got["channel_id"]) == ("insert", [_id(body)],
                                                                    "303")
    finally:
        receiver.close()


def test_expired_channel_gets_nothing(e2e_database_url: str, tmp_path: Path) -> None:
    receiver = Receiver()
    token = _token(e2e_database_url)
    try:
        with Server(e2e_database_url, tmp_path) as server:
            http = Http(server.base_url, token)
            soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
            _watch(http, receiver, "404", ["Leads.all"], channel_expiry=soon)
            deadline = time.monotonic() + WAIT
            while http.get("actions/watch")[0] != 204:  # listed until it expires
                assert time.monotonic() < deadline
                time.sleep(0.2)
            status, body = http.post("Leads", {"data": [{"Last_Name": "Late"}]})
            assert status == 201, body
            # A live channel's later callback arrives; the expired one's never came first.
            _watch(http, receiver, "405", ["Contacts.create"])
            status, body = http.post("Contacts", {"data": [{"Last_Name": "Live"}]})
            assert status == 201, body
            (only,) = _wait_for(receiver, 1, server)
            assert only["channel_id"] == "405"
        assert [b["channel_id"] for b in receiver.bodies] == ["405"]
    finally:
        receiver.close()


def test_a_bulk_write_import_produces_one_callback_per_chunk(e2e_database_url: str,
                                                            tmp_path: Path) -> None:
    """The Bulk Write door: the rows a job inserts are announced like any other insert."""
    from tests.e2e.test_bulk import Client

    receiver = Receiver()
    made = run_corral("token", "create", "--scopes", SCOPES + ",ZohoCRM.bulk.ALL",
                      "--database-url", e2e_database_url)
    assert made.returncode == 0, made.stderr
    try:
        with Server(e2e_database_url, tmp_path) as server:
            http = Http(server.base_url, made.stdout.strip())
            _watch(http, receiver, "301", ["Leads.create"])
            bulk = Client(server, made.stdout.strip())
            job = bulk.write("insert", [["Last_Name", "Email"], ["Bulk1", "b1@example.com"],
                                        ["Bulk2", "b2@example.com"]],
                             field_mappings=[{"api_name": "Last_Name", "index": 0},
                                             {"api_name": "Email", "index": 1}])
            assert bulk.wait("write", job)["status"] == "COMPLETED"
            (callback,) = _wait_for(receiver, 1, server)
            status, body = http.get("Leads", params={"fields": "Email"})
            assert status == 200, body
            inserted = sorted(r["id"] for r in body["data"] if r["Email"].startswith("b"))
            assert (callback["operation"], callback["module"]) == ("insert", "Leads")
            assert sorted(callback["ids"]) == inserted and len(inserted) == 2
            time.sleep(1)  # nothing else arrives: one callback for the job's one chunk
        assert len(receiver.bodies) == 1
    finally:
        receiver.close()


def test_a_reverted_delete_announces_the_restored_record(e2e_database_url: str,
                                                         tmp_path: Path) -> None:
    """The restore door: delete a Lead through the API, revert that request (the server's
    worker runs the revert job); a watcher of create hears one `insert` with the id."""
    import json
    import urllib.request

    receiver = Receiver()
    try:
        with Server(e2e_database_url, tmp_path) as server:
            token = server.admin_token()
            assert token, server.output()
            http = Http(server.base_url, token, "v8")
            _watch(http, receiver, "501", ["Leads.create"])
            status, body = http.post("Leads", {"data": [{"Last_Name": "Gone"}]})
            assert status == 201, body
            rid = _id(body)
            assert _wait_for(receiver, 1, server)[0]["ids"] == [rid]
            req = urllib.request.Request(
                f"{server.base_url}/crm/v8/Leads?ids={rid}", method="DELETE",
                headers={"Authorization": f"Zoho-oauthtoken {token}"})
            with urllib.request.urlopen(req, timeout=30) as resp:
                assert resp.status == 200
                request_id = str(resp.headers["X-Request-Id"])
                assert json.loads(resp.read())["data"][0]["code"] == "SUCCESS"
            status, body = http.post("actions/revert", {"request_id": request_id})
            assert status == 202, body
            restored = _wait_for(receiver, 2, server)[1]
            assert (restored["operation"], restored["ids"], restored["module"]) == (
                "insert", [rid], "Leads")
            assert restored["channel_id"] == "501"
            status, body = http.get(f"Leads/{rid}")
            assert status == 200 and body["data"][0]["id"] == rid
            time.sleep(1)  # nothing else arrives: the delete was not watched
        assert len(receiver.bodies) == 2
    finally:
        receiver.close()


def test_a_note_on_a_watched_record_is_a_related_action(e2e_database_url: str,
                                                        tmp_path: Path) -> None:
    """notify_on_related_action under a real server: a note added to a watched Lead reaches
    the Lead's channel as an update of the Lead; a channel that turned the flag off hears
    nothing of it."""
    receiver = Receiver()
    token = _token(e2e_database_url)
    try:
        with Server(e2e_database_url, tmp_path) as server:
            http = Http(server.base_url, token)
            status, body = http.post("Leads", {"data": [{"Last_Name": "Parent"}]})
            assert status == 201, body
            lead = _id(body)
            _watch(http, receiver, "601", ["Leads.edit"])
            _watch(http, receiver, "602", ["Leads.edit"], notify_on_related_action=False)
            status, body = http.post("Notes", {"data": [{
                "Note_Content": "call back", "Parent_Id": lead, "se_module": "Leads"}]})
            assert status == 201, body
            (got,) = _wait_for(receiver, 1, server)
            assert (got["channel_id"], got["module"], got["operation"], got["ids"]) == (
                "601", "Leads", "update", [lead])
            assert got["affected_fields"] == [{lead: []}]
            time.sleep(1)  # the channel without the flag gets nothing
        assert len(receiver.bodies) == 1
    finally:
        receiver.close()
