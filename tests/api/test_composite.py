"""Composite requests: sub-requests through the same handlers, references, rollback_on_fail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from tests.api.test_automation import Receiver
from tests.conftest import Api, make_token

KEY = "__composite_requests"


def _composite(api: Api, subs: list[dict[str, Any]], token: str | None = None,
               **flags: Any) -> Any:
    return api.post(KEY, json={KEY: subs, **flags}, token=token)


def _insert(last_name: Any, sub_id: str | None = None, module: str = "Leads") -> dict[str, Any]:
    sub: dict[str, Any] = {"method": "POST", "uri": f"/crm/v2/{module}",
                           "body": {"data": [{"Last_Name": last_name}]}}
    if sub_id:
        sub["sub_request_id"] = sub_id
    return sub


def _count(corral: Corral, table: sa.Table) -> int:
    with corral.db.read() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_sub_requests_run_in_order_with_references(api: Api) -> None:
    r = _composite(api, [
        _insert("Acme", "acct", module="Accounts") | {
            "body": {"data": [{"Account_Name": "Acme"}]}},
        {"method": "POST", "uri": "/crm/v2/Contacts", "sub_request_id": "c",
         "body": {"data": [{"Last_Name": "Ray",
                            "Account_Name": {"id": "@{acct:$.data[0].details.id}"}}]}},
        {"method": "GET", "uri": "/crm/v2/Contacts/@{c:$.data[0].details.id}",
         "params": {"fields": "Last_Name,Account_Name"}},
    ])
    assert r.status_code == 200, r.text
    first, second, third = r.json()[KEY]
    assert first["code"] == "SUCCESS" and first["details"]["response"]["status_code"] == 201
    account_id = first["details"]["response"]["body"]["data"][0]["details"]["id"]
    got = third["details"]["response"]["body"]["data"][0]
    assert got["Last_Name"] == "Ray" and got["Account_Name"]["id"] == account_id
    assert second["details"]["response"]["status_code"] == 201


def test_rollback_when_the_third_sub_request_fails_leaves_no_trace(api: Api,
                                                                   corral: Corral) -> None:
    hook = Receiver()
    try:
        assert api.post("actions/watch", json={"watch": [{
            "channel_id": "7", "events": ["Leads.all"], "notify_url": hook.url}]}
        ).status_code == 201
        records, log, box = (_count(corral, t.records), _count(corral, t.change_log),
                             _count(corral, t.webhook_outbox))
        r = _composite(api, [_insert("One", "a"), _insert("Two"),
                             {"method": "POST", "uri": "/crm/v2/Leads",
                              "body": {"data": [{"First_Name": "no last name"}]}},
                             _insert("Four")], rollback_on_fail=True)
        assert r.status_code == 207, r.text
        one, two, three, four = r.json()[KEY]
        assert one["code"] == two["code"] == "ROLLBACK_PERFORMED"
        assert one["details"] == {"rollbacked_by_sub_request_index": 2}
        assert three["details"]["response"]["status_code"] == 400
        assert three["details"]["response"]["body"]["data"][0]["code"] == "MANDATORY_NOT_FOUND"
        assert four["code"] == "PROCESSING_STOPPED"
        assert (_count(corral, t.records), _count(corral, t.change_log),
                _count(corral, t.webhook_outbox)) == (records, log, box)
        corral.webhooks.backoff = lambda attempts: timedelta(0)
        assert not corral.webhooks.deliver_once()
        assert api.get("Leads/search", params={"word": "One"}).status_code == 204
        # Without rollback the first two stay.
        r = _composite(api, [_insert("One"), _insert("Two"),
                             {"method": "POST", "uri": "/crm/v2/Leads",
                              "body": {"data": [{"First_Name": "x"}]}}])
        assert r.status_code == 207
        assert _count(corral, t.records) == records + 2
    finally:
        hook.close()


def test_rollback_commits_everything_when_all_succeed(api: Api, corral: Corral) -> None:
    records = _count(corral, t.records)
    r = _composite(api, [_insert("A", "a"),
                         {"method": "PUT", "uri": "/crm/v2/Leads/@{a:$.data[0].details.id}",
                          "body": {"data": [{"Company": "Z"}]}}], rollback_on_fail=True)
    assert r.status_code == 200, r.text
    assert _count(corral, t.records) == records + 1
    (rid,) = [r.json()[KEY][0]["details"]["response"]["body"]["data"][0]["details"]["id"]]
    assert api.get(f"Leads/{rid}").json()["data"][0]["Company"] == "Z"


@pytest.mark.parametrize(("body", "code"), [
    ({}, "MANDATORY_NOT_FOUND"),
    ({KEY: []}, "INVALID_DATA"),
    ({KEY: [_insert(str(i)) for i in range(6)]}, "INVALID_DATA"),
    ({KEY: [{"uri": "/crm/v2/Leads"}]}, "MANDATORY_NOT_FOUND"),
    ({KEY: [{"method": "TRACE", "uri": "/crm/v2/Leads"}]}, "INVALID_DATA"),
    ({KEY: [{"method": "GET", "uri": "/elsewhere"}]}, "INVALID_DATA"),
    ({KEY: [{"method": "POST", "uri": "/crm/v2/__composite_requests"}]}, "NOT_SUPPORTED"),
    ({KEY: [_insert("a", "x"), _insert("b", "x")]}, "DUPLICATE_DATA"),
    ({KEY: [{"method": "GET", "uri": "/crm/v2/Leads/@{nope:$.data[0].id}"}]},
     "INVALID_REFERENCE"),
    ({KEY: [{"method": "GET", "uri": "/crm/v2/Leads", "headers": {"Authorization": "x"}}]},
     "INVALID_DATA"),
    ({KEY: [_insert("a")], "rollback_on_fail": True, "concurrent_execution": True},
     "AMBIGUITY_DURING_PROCESSING"),
])
def test_request_errors(api: Api, body: dict[str, Any], code: str) -> None:
    r = api.post(KEY, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == code


def test_auth_and_sub_request_permissions(api: Api, corral: Corral) -> None:
    r = api.client.post(f"/crm/v2/{KEY}", json={KEY: [_insert("a")]})
    assert r.status_code == 401 and r.json()["code"] == "AUTHENTICATION_FAILURE"
    wrong = make_token(corral, ["ZohoCRM.modules.ALL"])
    r = _composite(api, [_insert("a")], token=wrong)
    assert r.status_code == 401 and r.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    # The composite scope alone: each sub-request still needs its own scope.
    only = make_token(corral, ["ZohoCRM.composite_requests.CUSTOM"])
    r = _composite(api, [_insert("a")], token=only)
    assert r.status_code == 207
    response = r.json()[KEY][0]["details"]["response"]
    assert (response["status_code"], response["body"]["code"]) == (401, "OAUTH_SCOPE_MISMATCH")
    # A Standard user without create permission on Leads gets NO_PERMISSION per sub-request.
    user = corral.auth.create_user("std@zylker.com", "Standard", first_name="Sam")
    with corral.db.write() as conn:
        conn.execute(sa.update(t.profiles).where(t.profiles.c.id == user.profile_id)
                     .values(permissions={"admin": False, "modules": {"*": ["view"]},
                                          "read_only_fields": {}}))
    std = make_token(corral, ["ZohoCRM.composite_requests.CUSTOM", "ZohoCRM.modules.ALL"],
                     email="std@zylker.com")
    r = _composite(api, [_insert("a")], token=std, rollback_on_fail=True)
    response = r.json()[KEY][0]["details"]["response"]
    assert (response["status_code"], response["body"]["code"]) == (403, "NO_PERMISSION")
