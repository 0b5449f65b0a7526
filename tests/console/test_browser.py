"""The console in a real browser (Debian's Chromium through Playwright) against a real
`corral serve`: what an admin and a Standard user do with it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.console.conftest import Site, shot

pytestmark = pytest.mark.e2e


def sign_in(browser: Any, site: Site, token: str) -> Any:
    page = browser.new_page()
    page.on("dialog", lambda d: pytest.fail(f"a script ran: {d.message}"))
    page.goto(f"{site.url}/console/")
    assert page.url.endswith("/console/login")
    page.fill("input[name=access_token]", token)
    page.click("#token-sign-in")
    page.wait_for_url("**/console/modules")
    return page


def test_records_search_edit_and_history(browser: Any, site: Site) -> None:
    status, body = site.api.post("Leads", {"data": [
        {"Last_Name": "Garcia", "Company": "Acme", "Email": "garcia@example.com"},
        {"Last_Name": "Okafor", "Company": "Globex", "Email": "okafor@example.com"}]})
    assert status == 201, body
    page = sign_in(browser, site, site.token)
    shot(page, "modules")
    page.click("#modules >> text=Leads")
    page.wait_for_url("**/console/m/Leads")
    shot(page, "leads")
    page.fill("input[name=criteria]", "(Last_Name:equals:Okafor)")
    page.click("#search")
    rows = page.locator("#records tbody tr")
    assert rows.count() == 1 and "Okafor" in rows.first.inner_text()
    rows.first.locator("a").click()
    page.wait_for_selector("#record-title")
    assert page.inner_text("#record-title") == "Okafor"
    # htmx (vendored, under the CSP) swaps in the related lists after the page is shown
    page.locator("section.related.loaded[data-related=Notes]").wait_for(timeout=15_000)
    page.click("#edit")
    page.fill("#f-Company", "Initech")
    page.click("#save")
    page.wait_for_selector("#history")
    history = page.inner_text("#history")
    assert "Globex" in history and "Initech" in history and "console" in history
    shot(page, "record")


def test_duplicate_email_links_the_existing_lead(browser: Any, site: Site) -> None:
    status, body = site.api.post("Leads", {"data": [
        {"Last_Name": "Held", "Email": "held@example.com"}]})
    assert status == 201, body
    held_id = body["data"][0]["details"]["id"]
    page = sign_in(browser, site, site.token)
    page.goto(f"{site.url}/console/m/Leads/new")
    page.fill("#f-Last_Name", "Copy")
    page.fill("#f-Email", "HELD@example.com")
    page.click("#save")
    error = page.locator("#error-Email")
    assert "DUPLICATE_DATA" in error.inner_text()
    shot(page, "duplicate")
    error.locator("a.duplicate-link").click()
    page.wait_for_url(f"**/console/m/Leads/{held_id}")
    assert page.inner_text("#record-title") == "Held"


def test_script_in_a_value_renders_as_text(browser: Any, site: Site) -> None:
    status, body = site.api.post("Leads", {"data": [
        {"Last_Name": "<script>alert(1)</script>"}]})
    assert status == 201, body
    rid = body["data"][0]["details"]["id"]
    page = sign_in(browser, site, site.token)
    page.goto(f"{site.url}/console/m/Leads/{rid}")
    assert page.inner_text("#record-title") == "<script>alert(1)</script>"
    page.goto(f"{site.url}/console/m/Leads")
    assert "<script>alert(1)</script>" in page.inner_text("#records")


def test_add_a_unique_field(browser: Any, site: Site) -> None:
    page = sign_in(browser, site, site.token)
    page.click("nav >> text=Setup")
    page.click("#setup-modules >> text=Leads")
    page.click("#add-field")
    page.fill("#field_label", "Member Code")
    page.select_option("#data_type", "text")
    page.check("#unique")
    page.click("#create-field")
    page.wait_for_url("**/console/setup/Leads")
    row = page.locator("#fields tr[data-field=Member_Code]")
    assert "On" in row.inner_text()
    shot(page, "setup-fields")
    status, body = site.api.post("Leads", {"data": [
        {"Last_Name": "M1", "Member_Code": "X-1"}, {"Last_Name": "M2", "Member_Code": "x-1"}]})
    assert [d["code"] for d in body["data"]] == ["SUCCESS", "DUPLICATE_DATA"], body


def test_mass_update_by_view_reaches_completed(browser: Any, site: Site) -> None:
    status, body = site.api.post("Leads", {"data": [
        {"Last_Name": f"Bulk{i}", "Company": "MassCo"} for i in range(5)]})
    assert status == 201, body
    page = sign_in(browser, site, site.token)
    page.goto(f"{site.url}/console/m/Leads")
    page.click("#mass-update")
    page.select_option("#field", "Lead_Status")
    page.fill("#value", "Contacted")
    page.click("#schedule")
    page.wait_for_url("**/console/jobs/*")
    # htmx polls the progress fragment until the worker has finished the job.
    # (wait_for_function would need eval, which the console's CSP rightly forbids)
    page.locator("#job-status", has_text="COMPLETED").wait_for(timeout=60_000)
    assert int(page.inner_text("#updated-count")) >= 5
    assert page.inner_text("#failed-count") == "0"
    shot(page, "job")
    page.click("nav >> text=Dashboard")
    assert page.locator("#chart-writes rect").count() > 0
    shot(page, "dashboard")


def test_standard_user_is_refused_a_setup_page(browser: Any, site: Site) -> None:
    site.corral.auth.create_user("standard@example.com", "Standard")
    user = site.corral.auth.user_by_email("standard@example.com")
    token = site.corral.auth.create_access_token(user.id, "ZohoCRM.modules.ALL,"
                                                 "ZohoCRM.settings.ALL")
    page = sign_in(browser, site, token)
    assert page.locator("nav >> text=Setup").count() == 0
    response = page.goto(f"{site.url}/console/setup/Leads/fields/new")
    assert response is not None and response.status == 403
    assert "NO_PERMISSION" in page.inner_text("h1")
    shot(page, "standard-refused")


def test_oauth_sign_in_and_sign_out(browser: Any, site: Site) -> None:
    client_id, _secret = site.corral.auth.create_client("console browser test")
    page = browser.new_page()
    page.goto(f"{site.url}/console/login")
    shot(page, "login")
    page.fill("input[name=client_id]", client_id)
    page.click("#oauth-sign-in")
    page.wait_for_url("**/console/modules")
    assert "Corral Admin" in page.inner_text("header")
    page.click("text=Sign out")
    page.wait_for_url("**/console/login")
    page.goto(f"{site.url}/console/modules")
    assert page.url.endswith("/console/login")
