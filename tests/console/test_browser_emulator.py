"""The console's emulator panel and job revert in a real browser (Debian's Chromium through
Playwright) against a real `corral serve --emulator`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.console.conftest import Site, serve_site, shot
from tests.console.test_browser import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from serve_site(tmp_path_factory.mktemp("console-emulator"), ("--emulator",))


def test_journal_fault_and_clock(browser: Any, site: Site) -> None:
    status, body = site.api.post("Leads", {"data": [{"Last_Name": "Journalled"}]})
    assert status == 201, body
    page = sign_in(browser, site, site.token)
    page.click("nav >> text=Emulator")
    page.wait_for_url("**/console/emulator")
    page.click("#open-journal")
    page.wait_for_url("**/console/emulator/journal")
    call = page.locator("#journal tr.call", has_text="/crm/v8/Leads").first
    assert "POST" in call.inner_text() and "201" in call.inner_text()
    bodies = call.locator("xpath=following-sibling::tr[1]")
    bodies.locator("summary").click()
    assert "Journalled" in bodies.locator(".request-body").inner_text()
    assert "SUCCESS" in bodies.locator(".response-body").inner_text()
    shot(page, "emulator-journal")

    page.goto(f"{site.url}/console/emulator")
    page.select_option("#fault-method", "GET")
    page.fill("#fault-path", "/crm/v8/Deals*")
    page.fill("#fault-status", "503")
    page.click("#add-fault")
    page.wait_for_url("**/console/emulator*")
    row = page.locator("#fault-list tr", has_text="/crm/v8/Deals*")
    assert "503" in row.inner_text()
    assert site.api.get("Deals")[0] == 503

    page.click("#clock-freeze")
    page.wait_for_url("**/console/emulator*")
    assert page.inner_text("#clock-state") == "frozen"
    shot(page, "emulator-panel")
    # Leave the emulator as found for the next test.
    page.click("#clock-release")
    page.wait_for_url("**/console/emulator*")
    assert page.inner_text("#clock-state") == "running"
    page.locator("#fault-list tr", has_text="/crm/v8/Deals*").locator(".delete-fault").click()
    page.wait_for_url("**/console/emulator*")
    assert page.locator("#fault-list tr", has_text="/crm/v8/Deals*").count() == 0


def test_revert_a_mass_update_from_the_console(browser: Any, site: Site) -> None:
    status, body = site.api.post("Leads", {"data": [
        {"Last_Name": f"Rev{i}", "Company": "RevCo"} for i in range(3)]})
    assert status == 201, body
    ids = [d["details"]["id"] for d in body["data"]]
    page = sign_in(browser, site, site.token)
    page.goto(f"{site.url}/console/m/Leads")
    page.click("#mass-update")
    page.select_option("#field", "Lead_Status")
    page.fill("#value", "Contacted")
    page.click("#schedule")
    page.wait_for_url("**/console/jobs/*")
    page.locator("#job-status", has_text="COMPLETED").wait_for(timeout=60_000)
    mass_url = page.url
    assert site.api.get(f"Leads/{ids[0]}")[1]["data"][0]["Lead_Status"] == "Contacted"

    page.click("#revert-button")
    page.wait_for_url(lambda url: url != mass_url and "/console/jobs/" in url)
    assert "Revert" in page.inner_text("#job-title")
    revert_url = page.url
    # The jobs list polls while a job runs; the revert reaches COMPLETED there too.
    page.click("nav >> text=Jobs")
    page.locator("#jobs tr[data-kind=revert]", has_text="COMPLETED").first.wait_for(
        timeout=60_000)
    page.goto(revert_url)
    page.locator("#job-status", has_text="COMPLETED").wait_for(timeout=60_000)
    assert int(page.inner_text("#reverted-count")) >= 3
    assert page.inner_text("#failed-count") == "0"
    shot(page, "revert-job")
    for rid in ids:
        assert site.api.get(f"Leads/{rid}")[1]["data"][0]["Lead_Status"] is None
    page.click("nav >> text=Jobs")
    assert page.locator("#jobs tr[data-kind=revert]").count() >= 1
    shot(page, "jobs")
    page.click("nav >> text=Dashboard")
    assert page.locator("#chart-jobs rect").count() > 1
    assert page.locator("#chart-credits rect").count() > 0
    shot(page, "dashboard-emulator")
