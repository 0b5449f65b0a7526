"""Console setup and jobs over the test client, on SQLite and PostgreSQL."""

from __future__ import annotations

from starlette.testclient import TestClient

from corral.services import Corral
from tests.conftest import Api, make_token
from tests.console.test_pages import csrf, sign_in


def test_add_a_unique_custom_field(client: TestClient, token: str, corral: Corral) -> None:
    sign_in(client, token)
    form = client.get("/console/setup/Leads/fields/new")
    assert form.status_code == 200
    r = client.post("/console/setup/Leads/fields/new",
                    data={"csrf_token": csrf(form.text), "field_label": "Badge Number",
                          "data_type": "text", "unique": "true"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    f = corral.registry.require("Leads").field("Badge_Number")
    assert f is not None and f.custom and f.unique
    assert "Badge_Number" in client.get("/console/setup/Leads").text


def test_bad_field_shows_the_error(client: TestClient, token: str) -> None:
    sign_in(client, token)
    form = client.get("/console/setup/Leads/fields/new")
    r = client.post("/console/setup/Leads/fields/new",
                    data={"csrf_token": csrf(form.text), "field_label": "Colour",
                          "data_type": "picklist"})
    assert r.status_code == 400 and "INVALID_DATA" in r.text


def test_unique_toggle_refused_shows_the_duplicate_pair(client: TestClient, token: str,
                                                        api: Api) -> None:
    ids = api.insert("Leads", {"Last_Name": "A", "Phone": "555-1234"},
                     {"Last_Name": "B", "Phone": "5551234"})
    sign_in(client, token)
    page = client.get("/console/setup/Leads")
    r = client.post("/console/setup/Leads/fields/Phone/unique",
                    data={"csrf_token": csrf(page.text), "unique": "true"})
    assert r.status_code == 409 and "DUPLICATE_DATA" in r.text
    for rid in ids:
        assert f'href="/console/m/Leads/{rid}"' in r.text


def test_preference_editor(client: TestClient, token: str, corral: Corral) -> None:
    sign_in(client, token)
    page = client.get("/console/setup/Leads/duplicate_check_preference")
    r = client.post("/console/setup/Leads/duplicate_check_preference",
                    data={"csrf_token": csrf(page.text), "type": "converted_records"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    pref = corral.preferences.get(corral.registry.require("Leads"))
    assert pref is not None and pref.type == "converted_records"
    assert "converted_records" in client.get("/console/setup/Leads").text
    r = client.post("/console/setup/Leads/duplicate_check_preference",
                    data={"csrf_token": csrf(page.text), "type": "none"},
                    follow_redirects=False)
    assert corral.preferences.get(corral.registry.require("Leads")) is None


def test_standard_user_is_refused_setup_changes(corral: Corral, client: TestClient) -> None:
    corral.auth.create_user("std@example.com", "Standard")
    sign_in(client, make_token(corral, email="std@example.com"))
    r = client.get("/console/setup/Leads/fields/new")
    assert r.status_code == 403 and "NO_PERMISSION" in r.text
    page = client.get("/console/setup/Leads")
    assert page.status_code == 200 and "toggle-unique" not in page.text
    r = client.post("/console/setup/Leads/fields/Email/unique",
                    data={"csrf_token": csrf(page.text), "unique": "true"})
    assert r.status_code == 403
    r = client.post("/console/setup/Leads/duplicate_check_preference",
                    data={"csrf_token": csrf(page.text), "type": "converted_records"})
    assert r.status_code == 403


def test_setup_needs_the_settings_scope(corral: Corral, client: TestClient) -> None:
    sign_in(client, make_token(corral, ["ZohoCRM.modules.ALL"]))
    assert client.get("/console/setup/Leads").status_code == 401


def test_mass_update_by_view_runs_to_completed(corral: Corral, client: TestClient,
                                               token: str, api: Api) -> None:
    api.insert("Leads", *[{"Last_Name": f"L{i}"} for i in range(3)])
    sign_in(client, token)
    form = client.get("/console/m/Leads/mass_update")
    assert form.status_code == 200
    leads = corral.registry.require("Leads")
    view = next(v for v in corral.query.views(leads) if v.system_name == "ALLVIEWS"
                or (v.name or "").lower().startswith("all"))
    r = client.post("/console/m/Leads/mass_update",
                    data={"csrf_token": csrf(form.text), "cvid": str(view.id),
                          "field": "Lead_Status", "value": "Contacted"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    job_url = r.headers["location"]
    assert "SCHEDULED" in client.get(job_url + "/progress").text
    corral.jobs.run_until_idle()
    progress = client.get(job_url + "/progress").text
    assert "COMPLETED" in progress and 'id="updated-count">3<' in progress
    assert "hx-get" not in progress  # polling stops once the job is done
    assert job_url.rsplit("/", 1)[1] in client.get("/console/jobs").text


def test_mass_update_needs_its_scope(corral: Corral, client: TestClient) -> None:
    sign_in(client, make_token(corral, ["ZohoCRM.modules.ALL"]))
    r = client.get("/console/m/Leads/mass_update")
    assert r.status_code == 401 and "OAUTH_SCOPE_MISMATCH" in r.text


def test_job_page_lists_per_record_failures(corral: Corral, client: TestClient, token: str,
                                            api: Api) -> None:
    ids = api.insert("Leads", *[{"Last_Name": f"U{i}"} for i in range(3)])
    leads = corral.registry.require("Leads")
    corral.metadata.set_unique(leads, "Phone", True)
    sign_in(client, token)
    form = client.get("/console/m/Leads/mass_update")
    view = next(v for v in corral.query.views(leads) if v.system_name == "ALLVIEWS"
                or (v.name or "").lower().startswith("all"))
    r = client.post("/console/m/Leads/mass_update",
                    data={"csrf_token": csrf(form.text), "cvid": str(view.id),
                          "field": "Phone", "value": "555 0100"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    corral.jobs.run_until_idle()
    page = client.get(r.headers["location"]).text
    assert "COMPLETED" in page and 'id="updated-count">1<' in page
    failures = page.split('id="failures"')[1]
    assert failures.count("DUPLICATE_DATA") == 2
    assert sum(f'href="/console/m/Leads/{rid}"' in failures for rid in ids) == 2


def test_dashboard_draws_records_and_writes_by_source(client: TestClient, token: str,
                                                      api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Dash"}, {"Last_Name": "Board"})
    sign_in(client, token)
    form = client.get("/console/m/Leads/new")
    client.post("/console/m/Leads/new", data={"csrf_token": csrf(form.text),
                                              "Last_Name": "<b>Console</b>"})
    page = client.get("/console/dashboard")
    assert page.status_code == 200
    modules = page.text.split('id="chart-modules"')[1].split("</svg>")[0]
    assert "Leads: 3" in modules
    writes = page.text.split('id="chart-writes"')[1].split("</svg>")[0]
    assert "API: 2" in writes and "console: 1" in writes
    assert "<b>" not in page.text


def test_dashboard_counts_only_modules_the_user_may_read(corral: Corral, client: TestClient,
                                                         api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Hidden"})
    sign_in(client, make_token(corral, ["ZohoCRM.modules.contacts.ALL"]))
    page = client.get("/console/dashboard").text
    assert "Leads" not in page and "API: " not in page
