"""Console jobs beyond mass updates: bulk and revert jobs listed and followed, a mass update's
dry run, and reverting a job (with its dry run) through the same service as actions/revert."""

from __future__ import annotations

from starlette.testclient import TestClient

from corral.records.revert import Target
from corral.records.writes import WriteContext
from corral.services import Corral
from tests.api.test_bulk import file_id, write_job
from tests.conftest import Api, make_token
from tests.console.test_pages import csrf, sign_in


def _all_view(corral: Corral) -> str:
    leads = corral.registry.require("Leads")
    view = next(v for v in corral.query.views(leads) if v.system_name == "ALLVIEWS"
                or (v.name or "").lower().startswith("all"))
    return str(view.id)


def _mass_update(corral: Corral, client: TestClient, value: str = "Contacted") -> str:
    form = client.get("/console/m/Leads/mass_update")
    r = client.post("/console/m/Leads/mass_update",
                    data={"csrf_token": csrf(form.text), "cvid": _all_view(corral),
                          "field": "Lead_Status", "value": value}, follow_redirects=False)
    assert r.status_code == 303, r.text
    corral.jobs.run_until_idle()
    return str(r.headers["location"])


def _statuses(api: Api, ids: list[str]) -> list[object]:
    return [api.get(f"Leads/{rid}").json()["data"][0]["Lead_Status"] for rid in ids]


def test_mass_update_dry_run_writes_nothing(corral: Corral, client: TestClient, token: str,
                                            api: Api) -> None:
    ids = api.insert("Leads", *[{"Last_Name": f"D{i}"} for i in range(3)])
    sign_in(client, token)
    form = client.get("/console/m/Leads/mass_update")
    assert 'id="dry-run"' in form.text
    r = client.post("/console/m/Leads/mass_update",
                    data={"csrf_token": csrf(form.text), "cvid": _all_view(corral),
                          "field": "Lead_Status", "value": "Contacted", "dry_run": "true"})
    assert r.status_code == 200, r.text
    plan = r.text.split('id="plan"')[1]
    assert "update: 3" in plan and "Contacted" in plan
    assert 'data-kind="mass_update"' not in client.get("/console/jobs").text
    assert _statuses(api, ids) == [None, None, None]


def test_revert_a_mass_update_from_its_job_page(corral: Corral, client: TestClient,
                                                token: str, api: Api) -> None:
    ids = api.insert("Leads", *[{"Last_Name": f"R{i}"} for i in range(3)])
    sign_in(client, token)
    job_url = _mass_update(corral, client)
    assert _statuses(api, ids) == ["Contacted"] * 3
    api.put(f"Leads/{ids[0]}", json={"data": [{"Lead_Status": "Junk Lead"}]})
    page = client.get(job_url)
    assert 'id="revert-button"' in page.text
    preview = client.post(job_url + "/revert", data={"csrf_token": csrf(page.text),
                                                     "preview": "true"})
    assert preview.status_code == 200
    assert 'id="preview-revert">2<' in preview.text and 'id="preview-skipped">1<' in preview.text
    assert _statuses(api, ids)[1:] == ["Contacted"] * 2  # a dry run writes nothing
    r = client.post(job_url + "/revert", data={"csrf_token": csrf(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    revert_url = r.headers["location"]
    assert revert_url != job_url
    corral.jobs.run_until_idle()
    done = client.get(revert_url).text
    assert "Revert of Leads" in done and "COMPLETED" in done
    assert 'id="reverted-count">2<' in done and 'id="skipped-count">1<' in done
    skipped = done.split('id="skipped"')[1]
    assert f"/console/m/Leads/{ids[0]}" in skipped and "changed after" in skipped
    assert _statuses(api, ids) == ["Junk Lead", None, None]
    jobs = client.get("/console/jobs").text
    assert 'data-kind="revert"' in jobs and 'data-kind="mass_update"' in jobs
    revert_row = jobs.split('data-kind="revert"')[1].split("</tr>")[0]
    assert "Reverted 2 · Skipped 1" in revert_row
    mass_row = jobs.split('data-kind="mass_update"')[1].split("</tr>")[0]
    assert "Updated 3" in mass_row
    assert 'hx-get="/console/jobs"' not in jobs  # nothing running: no polling


def test_revert_refusals_show_on_the_job_page(corral: Corral, client: TestClient,
                                              api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Own"})
    sign_in(client, make_token(corral))
    job_url = _mass_update(corral, client)
    # A Standard user may not revert the admin's job (as actions/revert: 403 NO_PERMISSION).
    corral.auth.create_user("std@example.com", "Standard")
    other = TestClient(client.app, raise_server_exceptions=False)
    sign_in(other, make_token(corral, email="std@example.com"))
    page = other.get(job_url)
    assert page.status_code == 200
    r = other.post(job_url + "/revert", data={"csrf_token": csrf(page.text)})
    assert r.status_code == 403 and "NO_PERMISSION" in r.text
    # Without the revert scope the action is neither offered nor allowed.
    reader = TestClient(client.app, raise_server_exceptions=False)
    sign_in(reader, make_token(corral, ["ZohoCRM.modules.READ", "ZohoCRM.mass_update.ALL"]))
    page = reader.get(job_url)
    assert page.status_code == 200 and 'id="revert-button"' not in page.text
    r = reader.post(job_url + "/revert", data={"csrf_token": csrf(page.text)})
    assert r.status_code == 401 and "OAUTH_SCOPE_MISMATCH" in r.text


def test_revert_form_needs_csrf(corral: Corral, client: TestClient, token: str,
                                api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Csrf"})
    sign_in(client, token)
    job_url = _mass_update(corral, client)
    r = client.post(job_url + "/revert", data={"csrf_token": "forged"})
    assert r.status_code == 403 and "CSRF" in r.text


def test_bulk_write_and_read_jobs_listed_with_counts(corral: Corral, client: TestClient,
                                                     token: str, api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Read1"}, {"Last_Name": "Read2"})
    r = client.post("/crm/bulk/v8/read", headers=api.headers(),
                    json={"query": {"module": {"api_name": "Leads"}, "fields": ["Last_Name"]}})
    assert r.status_code == 201, r.text
    read_id = r.json()["data"][0]["details"]["id"]
    corral.jobs.run_until_idle()
    sign_in(client, token)
    jobs = client.get("/console/jobs").text
    assert 'data-kind="bulk_read"' in jobs and f'/console/jobs/{read_id}"' in jobs
    page = client.get(f"/console/jobs/{read_id}").text
    assert "Bulk read of Leads" in page and "COMPLETED" in page
    assert 'id="exported-count">2<' in page
    assert 'id="revert-button"' not in page  # a read wrote nothing to revert


def test_revert_job_of_an_api_call_is_shown(corral: Corral, client: TestClient, token: str,
                                            api: Api) -> None:
    r = api.post("Leads", json={"data": [{"Last_Name": "Call"}]})
    request_id = r.headers["x-request-id"]
    principal = corral.auth.authenticate(f"Zoho-oauthtoken {token}")
    job_id = corral.revert.schedule(Target(request_id=request_id), False,
                                    WriteContext(principal, "test"))
    corral.jobs.run_until_idle()
    sign_in(client, token)
    page = client.get(f"/console/jobs/{job_id}").text
    assert "COMPLETED" in page and 'id="reverted-count">1<' in page
    assert request_id in page


def test_a_running_job_cannot_be_reverted_yet(corral: Corral, client: TestClient, token: str,
                                              api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Busy"})
    sign_in(client, token)
    form = client.get("/console/m/Leads/mass_update")
    r = client.post("/console/m/Leads/mass_update",
                    data={"csrf_token": csrf(form.text), "cvid": _all_view(corral),
                          "field": "Lead_Status", "value": "Contacted"}, follow_redirects=False)
    job_url = r.headers["location"]
    page = client.get(job_url)
    assert 'hx-get="' in page.text  # still polling
    assert 'hx-get="/console/jobs"' in client.get("/console/jobs").text
    r = client.post(job_url + "/revert", data={"csrf_token": csrf(page.text)})
    assert r.status_code == 400 and "still running" in r.text


def test_dashboard_draws_job_throughput(corral: Corral, client: TestClient, token: str,
                                        api: Api) -> None:
    api.insert("Leads", *[{"Last_Name": f"T{i}"} for i in range(4)])
    sign_in(client, token)
    _mass_update(corral, client)
    page = client.get("/console/dashboard").text
    jobs = page.split('id="chart-jobs"')[1].split("</svg>")[0]
    assert "mass update: 4 records" in jobs
    assert 'id="chart-credits"' not in page  # credits only in emulator mode


def test_bulk_write_job_counts_failures_and_revert(corral: Corral, client: TestClient,
                                                   token: str, api: Api) -> None:
    fid = file_id(api, [["Last_Name", "Email"], ["Ames", "ames@x.com"],
                        ["Bell", "not-an-email"], ["Cole", "cole@x.com"]])
    job_id = write_job(api, "insert", fid)
    corral.jobs.run_until_idle()
    sign_in(client, token)
    assert 'data-kind="bulk_write"' in client.get("/console/jobs").text
    page = client.get(f"/console/jobs/{job_id}")
    assert "Bulk write of Leads" in page.text and "COMPLETED" in page.text
    assert 'id="added-count">2<' in page.text and 'id="skipped-count">1<' in page.text
    assert "INVALID_DATA" in page.text.split('id="failures"')[1]
    assert api.get("Leads").json()["info"]["count"] == 2
    r = client.post(f"/console/jobs/{job_id}/revert", data={"csrf_token": csrf(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    corral.jobs.run_until_idle()
    assert 'id="reverted-count">2<' in client.get(r.headers["location"]).text
    assert api.get("Leads").status_code == 204  # the inserted records are deleted again
