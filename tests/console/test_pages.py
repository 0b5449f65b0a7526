"""The console over the test client, on SQLite and PostgreSQL: sessions, CSRF, CSP,
permissions as the API's, records through the one write path."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from starlette.testclient import TestClient

from corral.app import create_app
from corral.config import Settings
from corral.services import Corral
from tests.conftest import Api, make_token

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, html
    return m.group(1)


def sign_in(client: TestClient, token: str) -> None:
    page = client.get("/console/login")
    r = client.post("/console/login", data={"access_token": token, "csrf_token": csrf(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text


def test_pages_need_a_session(client: TestClient) -> None:
    r = client.get("/console/modules", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"
    page = client.get("/console/login")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]


def test_sign_in_with_token_sets_a_strict_httponly_cookie(client: TestClient, token: str,
                                                           ) -> None:
    page = client.get("/console/login")
    r = client.post("/console/login", data={"access_token": token, "csrf_token": csrf(page.text)},
                    follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and token not in cookie
    modules = client.get("/console/modules")
    assert modules.status_code == 200 and "Leads" in modules.text
    assert token not in modules.text


def test_bad_token_and_missing_csrf_are_refused(client: TestClient, token: str) -> None:
    page = client.get("/console/login")
    r = client.post("/console/login", data={"access_token": "1000.bad.bad",
                                            "csrf_token": csrf(page.text)})
    assert r.status_code == 401 and "not valid" in r.text
    r = client.post("/console/login", data={"access_token": token, "csrf_token": "x"})
    assert r.status_code == 403 and "CSRF" in r.text


def test_session_cookie_is_not_an_api_token(client: TestClient, token: str) -> None:
    sign_in(client, token)
    session = client.cookies.get("corral_console")
    assert session
    r = client.get("/crm/v8/Leads?fields=Last_Name",
                   headers={"Authorization": f"Zoho-oauthtoken {session}"})
    assert r.status_code == 401


def test_sign_out_ends_the_session(client: TestClient, token: str) -> None:
    sign_in(client, token)
    session = client.cookies.get("corral_console")
    page = client.get("/console/modules")
    r = client.post("/console/logout", data={"csrf_token": csrf(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303
    client.cookies.set("corral_console", session or "", path="/console")
    r = client.get("/console/modules", follow_redirects=False)
    assert r.headers["location"] == "/console/login"


def test_revoking_the_token_ends_its_sessions(corral: Corral, client: TestClient) -> None:
    token = make_token(corral)
    sign_in(client, token)
    assert client.get("/console/modules").status_code == 200
    r = client.post("/oauth/v2/token/revoke", params={"token": token})
    assert r.status_code == 200, r.text
    r = client.get("/console/modules", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/console/login"


def test_session_expires_with_its_token(database_url: str, corral: Corral) -> None:
    now = [datetime(2030, 1, 1)]
    clocked = Corral.open(Settings(database_url=database_url, run_worker=False),
                          clock=lambda: now[0], prepare=False)
    try:
        with TestClient(create_app(clocked)) as client:
            sign_in(client, make_token(clocked, expires_in=600))
            assert client.get("/console/modules").status_code == 200
            now[0] += timedelta(seconds=601)
            r = client.get("/console/modules", follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/console/login"
    finally:
        clocked.close()


def test_columns_can_be_chosen(client: TestClient, token: str, api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Col", "City": "Lisbon"})
    sign_in(client, token)
    r = client.get("/console/m/Leads?fields=Last_Name,City")
    head = r.text.split("<thead>")[1].split("</thead>")[0]
    assert "City" in head and "Email" not in head and "Lisbon" in r.text


def test_oauth_code_flow_signs_in(corral: Corral, client: TestClient) -> None:
    client_id, _ = corral.auth.create_client("console test")
    page = client.get("/console/login")
    r = client.post("/console/oauth/start", data={"client_id": client_id,
                                                  "csrf_token": csrf(page.text)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/oauth/v2/auth?")
    r = client.get(r.headers["location"], follow_redirects=False)
    assert r.status_code == 302
    callback = r.headers["location"].replace("http://testserver", "")
    r = client.get(callback, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert client.get("/console/modules").status_code == 200
    r = client.get(callback, follow_redirects=False)  # a code works once
    assert r.status_code == 400


def test_oauth_callback_refuses_a_foreign_state(corral: Corral, client: TestClient) -> None:
    r = client.get("/console/oauth/callback?state=x&code=y")
    assert r.status_code == 400 and "state" in r.text


def test_scope_limits_the_console(corral: Corral, client: TestClient) -> None:
    sign_in(client, make_token(corral, ["ZohoCRM.modules.contacts.READ"]))
    assert "Leads" not in client.get("/console/modules").text
    r = client.get("/console/m/Leads")
    assert r.status_code == 401 and "OAUTH_SCOPE_MISMATCH" in r.text


def test_standard_user_sees_only_what_profile_allows(corral: Corral, client: TestClient,
                                                     ) -> None:
    corral.auth.create_user("std@example.com", "Standard")
    sign_in(client, make_token(corral, email="std@example.com"))
    assert client.get("/console/m/Leads").status_code == 200


def test_create_edit_and_history(corral: Corral, client: TestClient, token: str) -> None:
    sign_in(client, token)
    form = client.get("/console/m/Leads/new")
    r = client.post("/console/m/Leads/new", data={"csrf_token": csrf(form.text),
                                                  "Last_Name": "Smith", "Company": "Acme",
                                                  "Email": "s@example.com"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    r = client.post(url + "/edit", data={"csrf_token": csrf(form.text), "Last_Name": "Smyth",
                                         "Company": "Acme", "Email": "s@example.com"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get(url)
    assert "Smyth" in page.text
    history = page.text.split('id="history"')[1]
    assert "Smith" in history and "Smyth" in history and "console" in history
    listing = client.get("/console/m/Leads?criteria=(Last_Name:equals:Smyth)")
    assert "Smyth" in listing.text


def test_duplicate_email_links_the_existing_record(client: TestClient, token: str) -> None:
    sign_in(client, token)
    form = client.get("/console/m/Leads/new")
    data = {"csrf_token": csrf(form.text), "Last_Name": "One", "Email": "dup@example.com"}
    first = client.post("/console/m/Leads/new", data=data, follow_redirects=False)
    rid = first.headers["location"].rsplit("/", 1)[1]
    r = client.post("/console/m/Leads/new", data={**data, "Last_Name": "Two"})
    assert r.status_code == 200
    assert "DUPLICATE_DATA" in r.text and f'href="/console/m/Leads/{rid}"' in r.text


def test_values_are_escaped(client: TestClient, token: str) -> None:
    sign_in(client, token)
    form = client.get("/console/m/Leads/new")
    r = client.post("/console/m/Leads/new", data={"csrf_token": csrf(form.text),
                                                  "Last_Name": "<script>alert(1)</script>"})
    page = client.get(r.headers["location"] if "location" in r.headers else r.url)
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_bad_criteria_is_shown_not_raised(client: TestClient, token: str) -> None:
    sign_in(client, token)
    r = client.get("/console/m/Leads?criteria=(Nope:equals:1)")
    assert r.status_code == 200 and "Invalid criteria" in r.text


def test_record_page_shows_related_lists_and_notes(client: TestClient, token: str,
                                                   api: Api) -> None:
    [account] = api.insert("Accounts", {"Account_Name": "Umbrella"})
    [contact] = api.insert("Contacts", {"Last_Name": "Wesker", "Account_Name": {"id": account}})
    r = api.post(f"Accounts/{account}/Notes",
                 json={"data": [{"Note_Title": "Call <them>", "Note_Content": "Phoned"}]})
    assert r.status_code in (200, 201), r.text
    sign_in(client, token)
    page = client.get(f"/console/m/Accounts/{account}")
    assert page.status_code == 200, page.text
    # the page names its related lists; htmx loads each one after the page is shown
    assert f'hx-get="/console/m/Accounts/{account}/related/Contacts"' in page.text
    contacts = client.get(f"/console/m/Accounts/{account}/related/Contacts")
    assert f'href="/console/m/Contacts/{contact}"' in contacts.text and "Wesker" in contacts.text
    notes = client.get(f"/console/m/Accounts/{account}/related/Notes")
    assert "Call &lt;them&gt;" in notes.text and "<them>" not in notes.text
    assert client.get(f"/console/m/Accounts/{account}/related/Nope").status_code == 400


def test_validation_error_sits_next_to_its_field(client: TestClient, token: str) -> None:
    sign_in(client, token)
    form = client.get("/console/m/Leads/new")
    r = client.post("/console/m/Leads/new", data={"csrf_token": csrf(form.text),
                                                  "Last_Name": "Bad", "Email": "not-an-email",
                                                  "No_of_Employees": "many"})
    assert r.status_code == 200
    assert 'id="error-Email"' in r.text or 'id="error-No_of_Employees"' in r.text
    assert 'value="not-an-email"' in r.text  # what was typed is kept


def test_unchanged_edit_writes_nothing(client: TestClient, token: str, api: Api,
                                       corral: Corral) -> None:
    [rid] = api.insert("Leads", {"Last_Name": "Same", "Company": "Co"})
    sign_in(client, token)
    form = client.get(f"/console/m/Leads/{rid}/edit")
    assert 'value="Same"' in form.text
    data = {"csrf_token": csrf(form.text), "Last_Name": "Same", "Company": "Co"}
    r = client.post(f"/console/m/Leads/{rid}/edit", data=data, follow_redirects=False)
    assert r.status_code == 303
    assert len(corral.query.history(int(rid))) == 1  # the insert only


def test_plain_text_search(client: TestClient, token: str, api: Api) -> None:
    api.insert("Leads", {"Last_Name": "Wordsworth", "Email": "poet@example.com"},
               {"Last_Name": "Other"})
    sign_in(client, token)
    for q in ("Wordsworth", "poet@example.com"):
        body = client.get("/console/m/Leads", params={"criteria": q}).text
        rows = body.split('id="records"')[1]
        assert "Wordsworth" in rows and "Other" not in rows
    assert "at least two letters" in client.get("/console/m/Leads?criteria=%25").text
