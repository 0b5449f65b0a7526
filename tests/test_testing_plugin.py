"""The `corral.testing` pytest plugin (loaded through its pytest11 entry point): the
`zoho_crm` fixture's server, its clean state per test, and its helpers."""

from __future__ import annotations

import pytest

from corral.testing import ZohoCRM

pytestmark = [pytest.mark.e2e]


def test_fixture_serves_the_api_and_the_control_api(zoho_crm: ZohoCRM) -> None:
    assert zoho_crm.base_url.startswith("http://127.0.0.1:")
    status, body = zoho_crm.request("POST", "/crm/v8/Leads", {"data": [{"Last_Name": "A"}]})
    assert status == 201, body
    (call,) = zoho_crm.journal(path="/crm/v8/Leads")
    assert (call["method"], call["status"], call["code"]) == ("POST", 201, "SUCCESS")
    assert zoho_crm.sdk_environment_urls == (zoho_crm.base_url, zoho_crm.accounts_url,
                                             zoho_crm.base_url)


def test_each_test_starts_clean(zoho_crm: ZohoCRM) -> None:
    # The test above inserted a Lead and left a journal entry; neither is here.
    status, body = zoho_crm.request("GET", "/crm/v8/Leads/actions/count")
    assert (status, body) == (200, {"count": 0})
    assert zoho_crm.journal(path="/crm/v8/Leads") == []
    zoho_crm.fault("/crm/v8/Contacts*", status=503, code="SERVICE_UNAVAILABLE", times=1)
    zoho_crm.clock.freeze("2031-01-01T00:00:00Z")
    zoho_crm.limits("free", used=5000)


def test_faults_clock_and_limits_do_not_leak(zoho_crm: ZohoCRM) -> None:
    assert zoho_crm.request("GET", "/crm/v8/Contacts/actions/count")[0] == 200
    assert not zoho_crm.clock.now().startswith("2031")


def test_helpers(zoho_crm: ZohoCRM) -> None:
    fault = zoho_crm.fault("/crm/v8/Leads", status=500, method="POST", times=1)
    assert fault
    status, body = zoho_crm.request("POST", "/crm/v8/Leads", {"data": [{"Last_Name": "X"}]})
    assert (status, body["code"]) == (500, "INTERNAL_ERROR")
    frozen = zoho_crm.clock.freeze("2030-01-01T00:00:00Z")
    assert frozen == {"now": "2030-01-01T00:00:00+00:00", "frozen": True}
    assert zoho_crm.clock.advance(60)["now"] == "2030-01-01T00:01:00+00:00"
    loaded = zoho_crm.load_fixtures({"records": {"Leads": [{"Last_Name": "F"}]}})
    assert loaded["loaded"]["records"] == 1
    zoho_crm.snapshot("one")
    zoho_crm.request("POST", "/crm/v8/Leads", {"data": [{"Last_Name": "G"}]})
    zoho_crm.restore("one")
    assert zoho_crm.request("GET", "/crm/v8/Leads/actions/count")[1] == {"count": 1}
    assert zoho_crm.limits("standard", users=10)["allowance"] == 52_500
    assert zoho_crm.run_jobs() == {"job_chunks": 0, "webhook_deliveries": 0}
