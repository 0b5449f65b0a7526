"""Composite requests under a real `corral serve`: rollback_on_fail leaves no trace of the
sub-requests before the failing one — no record, and no notification either."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.test_automation import Receiver
from tests.e2e.helpers import Http, Server, run_corral

pytestmark = pytest.mark.e2e

KEY = "__composite_requests"


def test_rollback_when_sub_request_3_fails(e2e_database_url: str, tmp_path: Path) -> None:
    made = run_corral("token", "create", "--scopes",
                      "ZohoCRM.modules.ALL,ZohoCRM.notifications.ALL,"
                      "ZohoCRM.composite_requests.CUSTOM", "--database-url", e2e_database_url)
    assert made.returncode == 0, made.stderr
    receiver = Receiver()
    try:
        with Server(e2e_database_url, tmp_path) as server:
            http = Http(server.base_url, made.stdout.strip())
            status, body = http.post("actions/watch", {"watch": [{
                "channel_id": "1", "events": ["Leads.all"], "notify_url": receiver.url}]})
            assert status == 201, body
            subs = [{"method": "POST", "uri": "/crm/v2/Leads", "sub_request_id": "one",
                     "body": {"data": [{"Last_Name": "Rollback1"}]}},
                    {"method": "PUT", "uri": "/crm/v2/Leads/@{one:$.data[0].details.id}",
                     "body": {"data": [{"Last_Name": "Rollback2"}]}},
                    {"method": "POST", "uri": "/crm/v2/Leads",
                     "body": {"data": [{"First_Name": "no last name"}]}}]
            status, body = http.post(KEY, {KEY: subs, "rollback_on_fail": True})
            assert status == 207, body
            assert [e["code"] for e in body[KEY]] == ["ROLLBACK_PERFORMED",
                                                      "ROLLBACK_PERFORMED", "SUCCESS"]
            for word in ("Rollback1", "Rollback2"):
                assert http.get("Leads/search", params={"word": word})[0] == 204
            status, body = http.get("Leads")
            assert status == 204, body
            # A later write is notified; nothing of the rolled-back ones came before it.
            status, body = http.post("Leads", {"data": [{"Last_Name": "After"}]})
            assert status == 201, body
            status, listed = http.get("settings/automation/webhook_deliveries",
                                      params={"channel_id": "1"})
            assert status == 200, listed
            assert [d["payload"]["ids"] for d in listed["webhook_deliveries"]] == [
                [body["data"][0]["details"]["id"]]]
    finally:
        receiver.close()
