"""lead_sync against Corral's emulator, through the `zoho_crm` fixture of `corral.testing`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lead_sync import SyncFailed, ZohoClient, push_signups  # noqa: E402

SIGNUPS = [{"name": "Ada", "email": "ada@example.com", "company": "Engines"},
           {"name": "Grace", "email": "grace@example.com", "company": "Compilers"}]


@pytest.fixture
def client(zoho_crm):
    return ZohoClient(zoho_crm.base_url, zoho_crm.token)


def test_signups_become_leads(zoho_crm, client):
    ids = push_signups(client, SIGNUPS)
    assert len(ids) == 2
    status, body = zoho_crm.request("GET", f"/crm/v8/Leads/{ids[0]}")
    assert body["data"][0]["Email"] == "ada@example.com"


def test_pushing_twice_updates_instead_of_duplicating(zoho_crm, client):
    first = push_signups(client, SIGNUPS)
    again = push_signups(client, [{**SIGNUPS[0], "company": "Analytical Engines"}])
    assert again == first[:1]
    assert zoho_crm.request("GET", "/crm/v8/Leads/actions/count")[1] == {"count": 2}


def test_a_zoho_outage_is_retried(zoho_crm, client):
    zoho_crm.fault("/crm/v8/Leads/upsert", status=500, times=2)
    assert len(push_signups(client, SIGNUPS)) == 2
    statuses = [c["status"] for c in zoho_crm.journal(path="/crm/v8/Leads/upsert")]
    assert statuses == [500, 500, 200]


def test_out_of_api_credits_fails_after_retrying(zoho_crm, client):
    zoho_crm.limits("free", used=5000)
    with pytest.raises(SyncFailed, match="429"):
        push_signups(client, SIGNUPS)
    assert len(zoho_crm.journal(path="/crm/v8/Leads/upsert", status=429)) == client.retries + 1
