"""Instant notifications (/actions/watch): channels, and one callback per write from every door."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from tests.api.test_automation import Receiver
from tests.conftest import Api, make_token

CHANNEL = "1000000068001"


@pytest.fixture
def hook() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _watch(api: Api, url: str, *, events: list[str] | None = None, channel: str = CHANNEL,
           **extra: Any) -> Any:
    return api.post("actions/watch", json={"watch": [{
        "channel_id": channel, "events": events or ["Leads.all"], "token": "TOKEN_1",
        "notify_url": url + "?key1=val1", **extra}]})


def _drain(corral: Corral) -> None:
    corral.webhooks.backoff = lambda attempts: timedelta(seconds=0)
    while corral.webhooks.deliver_once():
        pass


def _user_without(corral: Corral, modules: dict[str, list[str]],
                  email: str = "std@zylker.com") -> str:
    user = corral.auth.create_user(email, "Standard", first_name="Sam")
    with corral.db.write() as conn:
        conn.execute(sa.update(t.profiles).where(t.profiles.c.id == user.profile_id)
                     .values(permissions={"admin": False, "modules": modules,
                                          "read_only_fields": {}}))
    return make_token(corral, email=email)


# ----------------------------------------------------------------------------- channels
def test_enable_list_renew_and_delete_a_channel(api: Api, corral: Corral) -> None:
    r = _watch(api, "http://127.0.0.1:9/hook", events=["Leads.create", "Contacts.all"])
    assert r.status_code == 201, r.text
    (entry,) = r.json()["watch"]
    assert entry["code"] == "SUCCESS"
    assert entry["message"] == "Successfully subscribed for actions-watch of the given module"
    events = entry["details"]["events"]
    assert sorted(e["resource_name"] for e in events) == ["Contacts", "Leads"]
    assert all(e["channel_id"] == CHANNEL for e in events)
    assert events[0]["resource_uri"].endswith("/crm/v2/" + events[0]["resource_name"])

    listed = api.get("actions/watch").json()
    assert listed["info"]["count"] == 2
    leads = next(w for w in listed["watch"] if w["resource_name"] == "Leads")
    assert leads["events"] == ["Leads.create"] and leads["token"] == "TOKEN_1"
    assert leads["notify_url"].endswith("?key1=val1")
    assert api.get("actions/watch", params={"module": "Contacts"}).json()["info"]["count"] == 1

    later = (datetime.now(UTC) + timedelta(hours=20)).replace(microsecond=0)
    r = api.patch("actions/watch", json={"watch": [{"channel_id": CHANNEL,
                                                    "channel_expiry": later.isoformat()}]})
    assert r.status_code == 200, r.text
    assert r.json()["watch"][0]["message"] == "Successfully updated the subscribe details"
    for w in api.get("actions/watch").json()["watch"]:
        assert datetime.fromisoformat(w["channel_expiry"]) == later

    r = api.patch("actions/watch", json={"watch": [{"channel_id": CHANNEL, "_delete_events": True,
                                                    "events": ["Contacts.all"]}]})
    assert r.status_code == 200, r.text
    assert r.json()["watch"][0]["message"] == "Successfully un-subscribed from actions-watch"
    assert [w["resource_name"] for w in api.get("actions/watch").json()["watch"]] == ["Leads"]

    r = api.put("actions/watch", json={"watch": [{"channel_id": CHANNEL, "events": ["Deals.edit"],
                                                  "notify_url": "http://127.0.0.1:9/other"}]})
    assert r.status_code == 200, r.text
    (only,) = api.get("actions/watch").json()["watch"]
    assert (only["resource_name"], only["events"]) == ("Deals", ["Deals.edit"])

    r = api.delete("actions/watch", params={"channel_ids": CHANNEL})
    assert r.status_code == 200, r.text
    assert r.json()["watch"][0]["message"] == "Successfully removed the subscribe details"
    assert api.get("actions/watch").status_code == 204


def test_expiry_defaults_to_an_hour_and_beyond_the_maximum(api: Api) -> None:
    far = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert _watch(api, "http://127.0.0.1:9/h", channel_expiry=far).status_code == 201
    (w,) = api.get("actions/watch").json()["watch"]
    left = datetime.fromisoformat(w["channel_expiry"]) - datetime.now(UTC)
    assert timedelta(minutes=58) < left <= timedelta(hours=1)  # v2: at most one day
    api.version = "v8"
    assert _watch(api, "http://127.0.0.1:9/h", channel_expiry=far).status_code == 201
    (w,) = api.get("actions/watch").json()["watch"]
    assert datetime.fromisoformat(w["channel_expiry"]) - datetime.now(UTC) > timedelta(days=2)


@pytest.mark.parametrize(("item", "code", "api_name"), [
    ({"events": ["Leads.all"], "notify_url": "http://x.com/h"}, "MANDATORY_NOT_FOUND",
     "channel_id"),
    ({"channel_id": "abc", "events": ["Leads.all"], "notify_url": "http://x.com/h"},
     "INVALID_DATA", "channel_id"),
    ({"channel_id": "1", "notify_url": "http://x.com/h"}, "MANDATORY_NOT_FOUND", "events"),
    ({"channel_id": "1", "events": ["Nope.all"], "notify_url": "http://x.com/h"},
     "INVALID_DATA", "events"),
    ({"channel_id": "1", "events": ["Leads.explode"], "notify_url": "http://x.com/h"},
     "INVALID_DATA", "events"),
    ({"channel_id": "1", "events": ["Leads.all"]}, "MANDATORY_NOT_FOUND", "notify_url"),
    ({"channel_id": "1", "events": ["Leads.all"], "notify_url": "ftp://x"}, "INVALID_DATA",
     "notify_url"),
    ({"channel_id": "1", "events": ["Leads.all"], "notify_url": "http://x.com/h",
      "token": "t" * 51}, "INVALID_DATA", "token"),
    ({"channel_id": "1", "events": ["Leads.all"], "notify_url": "http://x.com/h",
      "channel_expiry": "2001-01-01T00:00:00+00:00"}, "INVALID_DATA", "channel_expiry"),
    ({"channel_id": "1", "events": ["Leads.all"], "notify_url": "http://x.com/h",
      "channel_expiry": "tomorrow"}, "INVALID_DATA", "channel_expiry"),
])
def test_enable_refuses_bad_items(api: Api, item: dict[str, Any], code: str,
                                  api_name: str) -> None:
    r = api.post("actions/watch", json={"watch": [item]})
    assert r.status_code == 202, r.text  # Zoho's spec: item errors wrapped, with 202
    (err,) = r.json()["watch"]
    assert (err["code"], err["details"]["api_name"]) == (code, api_name)


def test_body_errors_and_unknown_channels(api: Api) -> None:
    r = api.post("actions/watch", json={})
    assert r.status_code == 202
    assert r.json()["watch"][0]["code"] == "MANDATORY_NOT_FOUND"
    r = api.put("actions/watch", json={})
    assert r.status_code == 400 and r.json()["code"] == "MANDATORY_NOT_FOUND"
    r = api.put("actions/watch", json={"watch": [{"channel_id": "42", "events": ["Leads.all"],
                                                  "notify_url": "http://x.com/h"}]})
    assert r.status_code == 202
    assert r.json()["watch"][0]["code"] == "NOT_SUBSCRIBED"
    r = api.patch("actions/watch", json={"watch": [{"channel_id": "42"}]})
    assert r.json()["watch"][0]["code"] == "NOT_SUBSCRIBED"
    r = api.delete("actions/watch")
    assert r.status_code == 400 and r.json()["code"] == "REQUIRED_PARAM_MISSING"
    r = api.get("actions/watch", params={"channel_id": "\x00"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    r = api.delete("actions/watch", params={"channel_ids": "42"})
    assert r.status_code == 202 and r.json()["watch"][0]["code"] == "NOT_SUBSCRIBED"


def test_channel_limit(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("corral.automation.notifications.MAX_CHANNELS", 2)
    for cid in ("1", "2"):
        assert _watch(api, "http://x.com/h", channel=cid).status_code == 201
    r = _watch(api, "http://x.com/h", channel="3")
    assert r.json()["watch"][0]["code"] == "LIMIT_EXCEEDED"
    assert _watch(api, "http://x.com/h", channel="2").status_code == 201  # re-subscribing


@pytest.mark.parametrize(("method", "scope"), [
    ("GET", "READ"), ("POST", "CREATE"), ("PUT", "UPDATE"), ("PATCH", "UPDATE"),
    ("DELETE", "DELETE")])
def test_auth(api: Api, corral: Corral, method: str, scope: str) -> None:
    body = {"watch": [{"channel_id": CHANNEL, "events": ["Leads.all"],
                       "notify_url": "http://x.com/h"}]}
    params = {"channel_ids": CHANNEL} if method == "DELETE" else None
    r = api.client.request(method, "/crm/v2/actions/watch", json=body, params=params)
    assert r.status_code == 401 and r.json()["code"] == "AUTHENTICATION_FAILURE"
    wrong = make_token(corral, ["ZohoCRM.modules.ALL"])
    r = api.request(method, "actions/watch", json=body, params=params, token=wrong)
    assert r.status_code == 401 and r.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    right = make_token(corral, [f"ZohoCRM.notifications.{scope}"])
    r = api.request(method, "actions/watch", json=body, params=params, token=right)
    assert r.json().get("code") != "OAUTH_SCOPE_MISMATCH" if r.content else True


def test_no_permission_for_a_module_the_profile_cannot_view(api: Api, corral: Corral) -> None:
    token = _user_without(corral, {"Contacts": ["view"]})
    r = api.post("actions/watch", token=token, json={"watch": [{
        "channel_id": CHANNEL, "events": ["Leads.all"], "notify_url": "http://x.com/h"}]})
    assert r.status_code == 202
    assert r.json()["watch"][0]["code"] == "NO_PERMISSION"


# ----------------------------------------------------------------------------- callbacks
def test_insert_update_delete_callbacks(api: Api, corral: Corral, hook: Receiver) -> None:
    assert _watch(api, hook.url).status_code == 201
    ids = api.insert("Leads", {"Last_Name": "A"}, {"Last_Name": "B"})
    r = api.put("Leads", json={"data": [{"id": ids[0], "Last_Name": "A2", "Email": "a@x.com"}]})
    assert r.status_code == 200, r.text
    assert api.delete("Leads", params={"ids": ",".join(ids)}).status_code == 200
    _drain(corral)
    created, updated, deleted = hook.bodies
    assert created["operation"] == "insert" and created["ids"] == ids  # one callback, both ids
    assert created["module"] == "Leads" and created["channel_id"] == CHANNEL
    assert created["token"] == "TOKEN_1" and created["query_params"] == {"key1": "val1"}
    assert created["resource_uri"].endswith("/crm/v2/Leads")
    assert isinstance(created["server_time"], int)
    assert "delivery_id" not in created
    assert updated["operation"] == "update" and updated["ids"] == [ids[0]]
    assert updated["affected_fields"] == [{ids[0]: ["Last_Name", "Email", "Full_Name"]}] or \
        sorted(updated["affected_fields"][0][ids[0]]) == ["Email", "Full_Name", "Last_Name"]
    assert deleted["operation"] == "delete" and deleted["ids"] == ids


def test_affected_values_and_only_watched_events(api: Api, corral: Corral,
                                                 hook: Receiver) -> None:
    assert _watch(api, hook.url, events=["Leads.edit"],
                  return_affected_field_values=True).status_code == 201
    (rid,) = api.insert("Leads", {"Last_Name": "A"})
    api.put(f"Leads/{rid}", json={"data": [{"Company": "Zylker"}]})
    _drain(corral)
    (body,) = hook.bodies  # the create was not watched
    assert body["affected_fields"] == [{rid: ["Company"]}]
    assert body["affected_values"] == [{"record_id": rid, "values": {"Company": "Zylker"}}]


def test_notification_condition_filters_edits(api: Api, corral: Corral, hook: Receiver) -> None:
    cond = [{"type": "field_selection", "module": {"api_name": "Leads"},
             "field_selection": {"group_operator": "or", "group": [
                 {"field": {"api_name": "Lead_Status"}}]}}]
    assert _watch(api, hook.url, events=["Leads.edit"],
                  notification_condition=cond).status_code == 201
    (rid,) = api.insert("Leads", {"Last_Name": "A"})
    api.put(f"Leads/{rid}", json={"data": [{"Company": "Zylker"}]})
    api.put(f"Leads/{rid}", json={"data": [{"Lead_Status": "Contacted"}]})
    _drain(corral)
    assert [b["affected_fields"] for b in hook.bodies] == [[{rid: ["Lead_Status"]}]]


def test_mass_update_and_workflow_field_update_and_conversion(api: Api, corral: Corral,
                                                              hook: Receiver) -> None:
    assert _watch(api, hook.url, events=["Leads.edit", "Contacts.create"]).status_code == 201
    ids = api.insert("Leads", {"Last_Name": "A", "Company": "Z"}, {"Last_Name": "B"})
    r = api.post("Leads/actions/mass_update", json={"ids": ids, "data": [{"City": "Pune"}]})
    assert r.status_code == 200, r.text
    rule = {"name": "Rate", "when": "edit", "actions": [
        {"type": "field_update", "field": "Rating", "value": "Hot"}]}
    assert api.post("settings/automation/workflow_rules", params={"module": "Leads"},
                    json={"workflow_rules": [rule]}).status_code == 201
    api.put(f"Leads/{ids[1]}", json={"data": [{"Company": "Y"}]})
    r = api.post(f"Leads/{ids[0]}/actions/convert", json={"data": [{}]})
    assert r.status_code == 200, r.text
    _drain(corral)
    mass, workflow, *converted = hook.bodies
    assert mass["ids"] == ids and mass["operation"] == "update"
    assert workflow["affected_fields"] == [{ids[1]: ["Company", "Rating"]}]
    assert {b["module"]: b["operation"] for b in converted} == {"Leads": "update",
                                                               "Contacts": "insert"}


def test_expired_channel_gets_nothing(api: Api, corral: Corral, hook: Receiver) -> None:
    assert _watch(api, hook.url).status_code == 201
    with corral.db.write() as conn:
        conn.execute(sa.update(t.notification_channels).values(
            channel_expiry=datetime(2001, 1, 1)))
    api.insert("Leads", {"Last_Name": "Late"})
    _drain(corral)
    assert hook.bodies == []
    assert api.get("actions/watch").status_code == 204
    # PATCH renews it
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = api.patch("actions/watch", json={"watch": [{"channel_id": CHANNEL,
                                                    "channel_expiry": soon}]})
    assert r.status_code == 200, r.text
    api.insert("Leads", {"Last_Name": "Renewed"})
    _drain(corral)
    assert len(hook.bodies) == 1


def test_retries_in_order_per_channel_and_listed_attempts(api: Api, corral: Corral) -> None:
    hook = Receiver(fail=2)
    try:
        assert _watch(api, hook.url).status_code == 201
        first = api.insert("Leads", {"Last_Name": "One"})
        second = api.insert("Leads", {"Last_Name": "Two"})
        _drain(corral)
        assert [b["ids"] for b in hook.bodies] == [first, second]
    finally:
        hook.close()
    r = api.get("settings/automation/webhook_deliveries", params={"channel_id": CHANNEL})
    assert r.status_code == 200, r.text
    rows = sorted(r.json()["webhook_deliveries"], key=lambda d: d["id"])
    assert [[a["status_code"] for a in d["attempt_history"]] for d in rows] == [
        [500, 500, 200], [200]]
    reader = make_token(corral, ["ZohoCRM.notifications.READ"])
    assert api.get("settings/automation/webhook_deliveries", token=reader,
                   params={"channel_id": CHANNEL}).status_code == 200


def test_rolled_back_write_notifies_nobody(api: Api, corral: Corral, hook: Receiver) -> None:
    assert _watch(api, hook.url).status_code == 201
    r = api.post("Leads", json={"data": [{"First_Name": "no last name"}]})
    assert r.status_code == 400
    _drain(corral)
    assert hook.bodies == []


def test_every_write_operation_maps_to_an_event() -> None:
    """Each op of the write path is announced as one of Zoho's events (restore as create), so
    the step handles every op the pipeline can hand it; a new op must decide here."""
    from typing import get_args

    from corral.automation.notifications import EVENTS, OPERATIONS, InstantNotifications
    from corral.records.writes import Op

    assert set(OPERATIONS) == set(get_args(Op)) == InstantNotifications.ops
    assert set(OPERATIONS.values()) <= set(EVENTS)
    assert OPERATIONS["restore"] == "create"


def test_a_restored_record_is_announced_as_an_insert(api: Api, corral: Corral,
                                                     hook: Receiver) -> None:
    """A revert of a delete brings the record back: a watcher of create/all hears `insert`
    (Zoho documents no restore event; COMPATIBILITY.md)."""
    from tests.api.test_revert import revert

    assert _watch(api, hook.url, events=["Leads.create"]).status_code == 201
    (rid,) = api.insert("Leads", {"Last_Name": "Back"})
    d = api.delete(f"Leads/{rid}")
    assert d.status_code == 200
    revert(api, corral, {"request_id": d.headers["X-Request-Id"]})
    _drain(corral)
    created, restored = hook.bodies  # the delete was not watched
    assert created["ids"] == [rid]
    assert (restored["operation"], restored["ids"], restored["module"]) == (
        "insert", [rid], "Leads")
    assert restored["affected_fields"] == []


def test_a_bulk_write_update_job_notifies(api: Api, corral: Corral, hook: Receiver) -> None:
    """The Bulk Write door: the rows an update job changes travel in one `update` callback."""
    from tests.api.test_bulk import file_id, write_job

    a, b = api.insert("Leads", {"Last_Name": "A", "Company": "Old"},
                      {"Last_Name": "B", "Company": "Old"})
    assert _watch(api, hook.url, events=["Leads.edit"]).status_code == 201
    fid = file_id(api, [["record", "company"], [a, "New A"], [b, "New B"]])
    write_job(api, "update", fid, find_by="id", field_mappings=[
        {"api_name": "id", "index": 0}, {"api_name": "Company", "index": 1}])
    corral.jobs.run_until_idle()
    _drain(corral)
    (body,) = hook.bodies
    assert (body["operation"], body["module"], body["ids"]) == ("update", "Leads", [a, b])
    assert body["affected_fields"] == [{a: ["Company"]}, {b: ["Company"]}]


def test_a_merge_job_notifies_master_merged_and_repointed_records(
        api: Api, corral: Corral, hook: Receiver) -> None:
    """The merge door: the master's update, the merged record's delete, and the re-pointed
    Contact's update in its own module, each to the channels watching them."""
    from tests.api.test_merge import merge

    master, child = api.insert("Accounts", {"Account_Name": "Zylker", "Phone": "111"},
                               {"Account_Name": "Zylker Inc", "Phone": "222"})
    (contact,) = api.insert("Contacts", {"Last_Name": "Daly", "Account_Name": child})
    assert _watch(api, hook.url, events=["Accounts.all", "Contacts.edit"],
                  notify_on_related_action=False).status_code == 201
    merge(api, corral, master, {"merge": [{"data": [{"id": child, "_fields": [
        {"api_name": "Phone"}]}]}]})
    _drain(corral)
    got = {(b["module"], b["operation"]): b for b in hook.bodies}
    assert sorted(got) == [("Accounts", "delete"), ("Accounts", "update"),
                           ("Contacts", "update")], hook.bodies
    assert got["Accounts", "update"]["ids"] == [master]
    assert got["Accounts", "update"]["affected_fields"] == [{master: ["Phone"]}]
    assert got["Accounts", "delete"]["ids"] == [child]
    assert got["Contacts", "update"]["ids"] == [contact]
    assert got["Contacts", "update"]["affected_fields"] == [{contact: ["Account_Name"]}]


# ----------------------------------------------------------------------------- related actions
def test_a_note_notifies_its_parents_channel(api: Api, corral: Corral, hook: Receiver) -> None:
    """notify_on_related_action (Zoho's default: true): a note added to, edited on or deleted
    from a watched Lead is an `update` of the Lead whose own fields did not change."""
    (lead,) = api.insert("Leads", {"Last_Name": "Parent"})
    assert _watch(api, hook.url, events=["Leads.edit"]).status_code == 201
    (note,) = api.insert("Notes", {"Note_Content": "n", "Parent_Id": lead, "se_module": "Leads"})
    r = api.put(f"Notes/{note}", json={"data": [{"Note_Content": "edited"}]})
    assert r.status_code == 200, r.text
    assert api.delete(f"Notes/{note}").status_code == 200
    _drain(corral)
    assert len(hook.bodies) == 3, hook.bodies
    for body in hook.bodies:
        assert (body["module"], body["operation"], body["ids"]) == ("Leads", "update", [lead])
        assert body["affected_fields"] == [{lead: []}]
        assert body["channel_id"] == CHANNEL and body["token"] == "TOKEN_1"
        assert body["query_params"] == {"key1": "val1"}
        assert body["resource_uri"].endswith("/crm/v2/Leads")


def test_related_action_off_notifies_nothing(api: Api, corral: Corral, hook: Receiver) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Parent"})
    assert _watch(api, hook.url, events=["Leads.all"],
                  notify_on_related_action=False).status_code == 201
    api.insert("Notes", {"Note_Content": "n", "Parent_Id": lead, "se_module": "Leads"})
    r = api.client.post(f"/crm/v2/Leads/{lead}/Attachments", headers=api.headers(),
                        files={"file": ("a.txt", b"hello", "text/plain")})
    assert r.status_code == 200, r.text
    _drain(corral)
    assert hook.bodies == []
    # PATCH turns it on: the next note notifies
    r = api.patch("actions/watch", json={"watch": [{"channel_id": CHANNEL,
                                                    "notify_on_related_action": True}]})
    assert r.status_code == 200, r.text
    api.insert("Notes", {"Note_Content": "m", "Parent_Id": lead, "se_module": "Leads"})
    _drain(corral)
    assert [(b["operation"], b["ids"]) for b in hook.bodies] == [("update", [lead])]


def test_an_attachment_is_a_related_action(api: Api, corral: Corral, hook: Receiver) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Parent"})
    assert _watch(api, hook.url, events=["Leads.edit"]).status_code == 201
    r = api.client.post(f"/crm/v2/Leads/{lead}/Attachments", headers=api.headers(),
                        files={"file": ("a.txt", b"hello", "text/plain")})
    assert r.status_code == 200, r.text
    _drain(corral)
    (body,) = hook.bodies
    assert (body["operation"], body["ids"], body["affected_fields"]) == (
        "update", [lead], [{lead: []}])


def test_a_lookup_and_a_link_notify_the_records_they_point_at(api: Api, corral: Corral,
                                                              hook: Receiver) -> None:
    """Zoho's example: a Contact's change notifies its Account's channel; moving it to another
    Account notifies both; a campaign membership (a linking record) notifies both sides."""
    acc1, acc2 = api.insert("Accounts", {"Account_Name": "One"}, {"Account_Name": "Two"})
    (camp,) = api.insert("Campaigns", {"Campaign_Name": "Fair"})
    assert _watch(api, hook.url, events=["Accounts.edit", "Campaigns.edit", "Contacts.all"],
                  return_affected_field_values=True).status_code == 201
    (contact,) = api.insert("Contacts", {"Last_Name": "Daly", "Account_Name": acc1})
    r = api.put(f"Contacts/{contact}", json={"data": [{"Account_Name": acc2}]})
    assert r.status_code == 200, r.text
    r = api.put(f"Contacts/{contact}/Campaigns/{camp}",
                json={"data": [{"Member_Status": "Invited"}]})
    assert r.status_code == 200, r.text
    _drain(corral)
    got = [(b["module"], b["operation"], b["ids"]) for b in hook.bodies]
    assert got == [("Contacts", "insert", [contact]), ("Accounts", "update", [acc1]),
                   ("Contacts", "update", [contact]), ("Accounts", "update", [acc1, acc2]),
                   ("Campaigns", "update", [camp]), ("Contacts", "update", [contact])]
    related = hook.bodies[1]
    assert related["affected_values"] == [{"record_id": acc1, "values": {}}]


def test_a_parent_deleted_with_its_notes_is_announced_once(api: Api, corral: Corral,
                                                           hook: Receiver) -> None:
    (lead,) = api.insert("Leads", {"Last_Name": "Parent"})
    api.insert("Notes", {"Note_Content": "n", "Parent_Id": lead, "se_module": "Leads"})
    assert _watch(api, hook.url).status_code == 201
    assert api.delete(f"Leads/{lead}").status_code == 200
    _drain(corral)
    assert [(b["operation"], b["ids"]) for b in hook.bodies] == [("delete", [lead])]
