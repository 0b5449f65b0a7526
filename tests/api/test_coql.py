"""POST /coql: every clause and comparator against hand-computed answers, Zoho's limits and
errors, injection attempts, and tokens, scopes and profiles (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from tests.conftest import Api, make_token

LEADS: list[dict[str, Any]] = [
    {"Last_Name": "Adams", "First_Name": "Ann", "Company": "Acme", "No_of_Employees": 10,
     "Annual_Revenue": 1000.5, "Lead_Source": "Advertisement", "Email": "ann@acme.com",
     "Email_Opt_Out": False},
    {"Last_Name": "Baker", "First_Name": "Bob", "Company": "Acme", "No_of_Employees": 20,
     "Annual_Revenue": 2000, "Lead_Source": "Cold Call", "Email": "bob@acme.com",
     "Email_Opt_Out": True},
    {"Last_Name": "Clark", "Company": "Globex", "No_of_Employees": 30,
     "Lead_Source": "Advertisement", "Email_Opt_Out": False},
    {"Last_Name": "Davis", "First_Name": "Dan", "Company": "Initech", "Annual_Revenue": 500,
     "Email_Opt_Out": True},
    {"Last_Name": "Evans", "First_Name": "Eve", "Company": "GLOBEX", "No_of_Employees": 50,
     "Annual_Revenue": 4000, "Lead_Source": "Trade Show", "Email_Opt_Out": False},
]


@pytest.fixture
def leads(api: Api) -> list[str]:
    return api.insert("Leads", *LEADS)


def coql(api: Api, query: str, *, token: str | None = None, version: str = "v8") -> Any:
    api.version = version
    return api.post("coql", json={"select_query": query}, token=token)


def rows(api: Api, query: str, **kw: Any) -> list[dict[str, Any]]:
    r = coql(api, query, **kw)
    assert r.status_code == 200, r.text
    data: list[dict[str, Any]] = r.json()["data"]
    return data


def names(api: Api, where: str, order: str = "order by Last_Name") -> list[str]:
    return [r["Last_Name"] for r in rows(api, f"select Last_Name from Leads where {where} "
                                               f"{order}")]


def error(api: Api, query: str, *, version: str = "v8") -> dict[str, Any]:
    r = coql(api, query, version=version)
    assert r.status_code == 400, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"code", "details", "message", "status"}
    assert body["status"] == "error"
    return body


# ----------------------------------------------------------------------------- success
def test_selects_fields_in_zoho_shapes_ordered_by_id(api: Api, leads: list[str],
                                                     corral: Corral) -> None:
    r = coql(api, "select Last_Name, No_of_Employees, Annual_Revenue, Owner, Email_Opt_Out "
                  "from Leads where Company = 'acme'")
    assert r.status_code == 200
    admin = corral.auth.user_by_email(None)
    assert r.json() == {
        "data": [
            {"Last_Name": "Adams", "No_of_Employees": 10, "Annual_Revenue": 1000.5,
             "Owner": {"id": str(admin.id)}, "Email_Opt_Out": False, "id": leads[0]},
            {"Last_Name": "Baker", "No_of_Employees": 20, "Annual_Revenue": 2000.0,
             "Owner": {"id": str(admin.id)}, "Email_Opt_Out": True, "id": leads[1]}],
        "info": {"count": 2, "more_records": False}}


def test_quoted_column_names(api: Api, leads: list[str]) -> None:
    got = rows(api, "select 'Last_Name' from Leads where \"Company\" = 'globex' "
                    "order by 'Last_Name'")
    assert [g["Last_Name"] for g in got] == ["Clark", "Evans"]


def test_keywords_ignore_case_and_a_query_may_span_lines(api: Api, leads: list[str]) -> None:
    got = rows(api, "SELECT Last_Name\nFROM Leads\nWHERE No_of_Employees >= 30\nORDER BY "
                    "Last_Name DESC")
    assert [r["Last_Name"] for r in got] == ["Evans", "Clark"]


@pytest.mark.parametrize(("where", "expected"), [
    ("Company = 'ACME'", ["Adams", "Baker"]),  # text compares ignoring case
    ("Email = 'ANN@acme.com'", ["Adams"]),  # the duplicate-check field: found by its key
    ("Email in ('bob@ACME.com', 'nobody@acme.com')", ["Baker"]),
    ("Email != 'ann@acme.com'", ["Baker", "Clark", "Davis", "Evans"]),
    ("Company != 'acme'", ["Clark", "Davis", "Evans"]),
    ("Lead_Source != 'Advertisement'", ["Baker", "Davis", "Evans"]),  # empty counts as !=
    ("No_of_Employees = 20", ["Baker"]),
    ("No_of_Employees != 20", ["Adams", "Clark", "Davis", "Evans"]),
    ("No_of_Employees < 20", ["Adams"]),
    ("No_of_Employees <= 20", ["Adams", "Baker"]),
    ("No_of_Employees > 20", ["Clark", "Evans"]),
    ("No_of_Employees >= 20", ["Baker", "Clark", "Evans"]),
    ("Annual_Revenue between 500 and 2000", ["Adams", "Baker", "Davis"]),
    ("No_of_Employees in (10, 30, 99)", ["Adams", "Clark"]),
    ("No_of_Employees not in (10, 30)", ["Baker", "Davis", "Evans"]),
    ("Lead_Source in ('Cold Call', 'trade show')", ["Baker", "Evans"]),
    ("Lead_Source not in ('Advertisement')", ["Baker", "Davis", "Evans"]),
    ("Last_Name like 'a%'", ["Adams"]),  # starts with
    ("Last_Name like '%S'", ["Adams", "Davis", "Evans"]),  # ends with
    ("Last_Name like '%a%'", ["Adams", "Baker", "Clark", "Davis", "Evans"]),  # contains
    ("Last_Name like '%ar%'", ["Clark"]),
    ("Last_Name not like '%a%'", []),
    ("First_Name not like 'b%'", ["Adams", "Clark", "Davis", "Evans"]),
    ("First_Name is null", ["Clark"]),
    ("No_of_Employees is not null", ["Adams", "Baker", "Clark", "Evans"]),
    ("Email_Opt_Out = true", ["Baker", "Davis"]),
    ("Email_Opt_Out != true", ["Adams", "Clark", "Evans"]),
    ("Lead_Source = Advertisement", ["Adams", "Clark"]),  # Zoho accepts bare words
    ("(Company = 'acme' and No_of_Employees > 10)", ["Baker"]),
    ("Company = 'acme' or No_of_Employees > 40", ["Adams", "Baker", "Evans"]),
    ("(Company = 'acme' or Company = 'globex') and No_of_Employees >= 20",
     ["Baker", "Clark", "Evans"]),
    ("Company = 'acme' or (Company = 'globex' and No_of_Employees >= 40)",
     ["Adams", "Baker", "Evans"]),
    ("((Company = 'acme' and First_Name = 'ann') or (Last_Name = 'davis' or "
     "Last_Name = 'evans')) and Annual_Revenue > 600", ["Adams", "Evans"]),
])
def test_every_comparator_and_logic(api: Api, leads: list[str], where: str,
                                    expected: list[str]) -> None:
    assert names(api, where) == expected


def test_created_time_compares_whole_seconds_in_the_users_zone(api: Api,
                                                                leads: list[str]) -> None:
    stamp = rows(api, "select Created_Time from Leads where Last_Name = 'Adams'")[0][
        "Created_Time"]
    assert len(names(api, f"Created_Time = '{stamp}'")) == 5  # one batch: one second
    assert names(api, f"Created_Time > '{stamp}'") == []
    assert len(names(api, f"Created_Time between '{stamp}' and '{stamp}'")) == 5


def test_order_by_several_keys_with_nulls_first_ascending(api: Api, leads: list[str]) -> None:
    got = rows(api, "select Last_Name, Lead_Source from Leads where id is not null "
                    "order by Lead_Source asc, No_of_Employees desc")
    assert [r["Last_Name"] for r in got] == ["Davis", "Clark", "Adams", "Baker", "Evans"]
    got = rows(api, "select Last_Name from Leads where id is not null "
                    "order by Annual_Revenue desc")
    assert [r["Last_Name"] for r in got] == ["Evans", "Baker", "Adams", "Davis", "Clark"]


@pytest.mark.parametrize(("limit", "expected", "more"), [
    ("limit 2", ["Adams", "Baker"], True),
    ("limit 1, 2", ["Baker", "Clark"], True),
    ("limit 2 offset 3", ["Davis", "Evans"], False),
    ("limit 3, 5", ["Davis", "Evans"], False),
    ("limit 5", ["Adams", "Baker", "Clark", "Davis", "Evans"], False),
])
def test_limit_and_offset_forms(api: Api, leads: list[str], limit: str, expected: list[str],
                                more: bool) -> None:
    r = coql(api, f"select Last_Name from Leads where id is not null order by Last_Name {limit}")
    assert [x["Last_Name"] for x in r.json()["data"]] == expected
    assert r.json()["info"] == {"count": len(expected), "more_records": more}


def test_where_is_optional_from_v6_and_the_default_limit_is_200(api: Api) -> None:
    for batch in range(3):
        api.insert("Leads", *[{"Last_Name": f"L{batch}{i:02}"} for i in range(67)])
    r = coql(api, "select Last_Name from Leads")
    assert r.json()["info"] == {"count": 200, "more_records": True}
    assert r.json()["data"][0]["Last_Name"] == "L000"
    assert coql(api, "select Last_Name from Leads limit 1, 200").json()["info"] == {
        "count": 200, "more_records": False}


def test_aggregates_with_group_by_and_aliases(api: Api, leads: list[str]) -> None:
    got = rows(api, "select Lead_Source, COUNT(id), SUM(No_of_Employees) as staff, "
                    "MIN(Annual_Revenue), MAX(Annual_Revenue), AVG(No_of_Employees) "
                    "from Leads where id is not null group by Lead_Source order by staff desc")
    assert got == [  # SUM descending, an empty sum last
        {"Lead_Source": "Trade Show", "COUNT(id)": 1, "staff": 50,
         "MIN(Annual_Revenue)": 4000.0, "MAX(Annual_Revenue)": 4000.0,
         "AVG(No_of_Employees)": 50.0},
        {"Lead_Source": "Advertisement", "COUNT(id)": 2, "staff": 40,
         "MIN(Annual_Revenue)": 1000.5, "MAX(Annual_Revenue)": 1000.5,
         "AVG(No_of_Employees)": 20.0},
        {"Lead_Source": "Cold Call", "COUNT(id)": 1, "staff": 20,
         "MIN(Annual_Revenue)": 2000.0, "MAX(Annual_Revenue)": 2000.0,
         "AVG(No_of_Employees)": 20.0},
        {"Lead_Source": None, "COUNT(id)": 1, "staff": None,
         "MIN(Annual_Revenue)": 500.0, "MAX(Annual_Revenue)": 500.0,
         "AVG(No_of_Employees)": None}]
    assert rows(api, "select COUNT(First_Name), MAX(No_of_Employees) from Leads "
                     "where Company like 'acme'") == [
        {"COUNT(First_Name)": 2, "MAX(No_of_Employees)": 20}]


def test_group_by_two_fields(api: Api, leads: list[str]) -> None:
    got = rows(api, "select Company, Email_Opt_Out, COUNT(id) from Leads "
                    "where Company in ('acme', 'globex') group by Company, Email_Opt_Out "
                    "order by Company, Email_Opt_Out")
    assert [(g["Company"], g["Email_Opt_Out"], g["COUNT(id)"]) for g in got] == [
        ("Acme", False, 1), ("Acme", True, 1), ("GLOBEX", False, 1), ("Globex", False, 1)]


def test_lookup_and_owner_paths(api: Api, corral: Corral) -> None:
    acme, globex = api.insert("Accounts", {"Account_Name": "Acme Corp", "Employees": 5},
                              {"Account_Name": "Globex Inc", "Employees": 9})
    api.insert("Contacts", {"Last_Name": "Cole", "Account_Name": {"id": acme}},
               {"Last_Name": "Dunn", "Account_Name": {"id": globex}},
               {"Last_Name": "Finn"})
    admin = corral.auth.user_by_email(None)
    got = rows(api, "select Last_Name, Account_Name, Account_Name.Account_Name, Owner.email, "
                    "Account_Name.Owner.last_name from Contacts "
                    "where Account_Name.Account_Name like 'acme%'")
    assert [{k: v for k, v in g.items() if k != "id"} for g in got] == [
        {"Last_Name": "Cole", "Account_Name": {"id": acme},
         "Account_Name.Account_Name": "Acme Corp", "Owner.email": admin.email,
         "Account_Name.Owner.last_name": admin.last_name}]
    assert [g["Last_Name"] for g in rows(
        api, "select Last_Name from Contacts where Account_Name.Employees > 6 or "
             "Account_Name is null order by Account_Name.Account_Name desc")] == ["Dunn", "Finn"]
    assert [g["Last_Name"] for g in rows(
        api, f"select Last_Name from Contacts where Account_Name = '{globex}'")] == ["Dunn"]
    assert len(rows(api, f"select Last_Name from Contacts where Owner = '{admin.id}' and "
                         f"Owner.email = '{admin.email.upper()}'")) == 3
    got = rows(api, "select Account_Name.Account_Name, COUNT(id) from Contacts "
                    "where id is not null group by Account_Name.Account_Name")
    assert got == [{"Account_Name.Account_Name": None, "COUNT(id)": 1},
                   {"Account_Name.Account_Name": "Acme Corp", "COUNT(id)": 1},
                   {"Account_Name.Account_Name": "Globex Inc", "COUNT(id)": 1}]


def test_deleted_and_converted_records_are_not_selected(api: Api, leads: list[str]) -> None:
    assert api.delete(f"Leads/{leads[0]}").status_code == 200
    assert names(api, "Company = 'acme'") == ["Baker"]


def test_answers_under_every_version(api: Api, leads: list[str]) -> None:
    for version in ("v2", "v2.1", "v3", "v4", "v5", "v6", "v7", "v8"):
        got = rows(api, "select Last_Name from Leads where Last_Name = 'Evans'",
                   version=version)
        assert [g["Last_Name"] for g in got] == ["Evans"]


# ----------------------------------------------------------------------------- errors
def test_syntax_errors_name_the_line_column_and_text(api: Api) -> None:
    body = error(api, "select Last_Name from Leads where Last_Name = 'a' and "
                      "Company = 'b' and City = 'c'")
    assert body["code"] == "SYNTAX_ERROR"  # Zoho wants (A and B) and C
    assert body["details"] == {"near": "and", "line": 1, "column": 69}
    body = error(api, "select Last_Name\nfrom Leads\nwhere Last_Name = = 'x'")
    assert body["details"] == {"near": "=", "line": 3, "column": 19}
    assert error(api, "select * from Leads")["details"] == {"near": "*", "line": 1,
                                                            "column": 8}
    assert error(api, "select Last_Name from")["code"] == "SYNTAX_ERROR"
    assert error(api, "Last_Name from Leads")["details"]["near"] == "Last_Name"


@pytest.mark.parametrize("query,clause", [
    ("select Last_Name from Leads having COUNT(id) > 1", "having"),
    ("select Last_Name from Leads join Contacts", "join"),
    ("select distinct Last_Name from Leads", "distinct"),
    ("update Leads set Last_Name = 'x'", "update"),
    ("delete from Leads", "delete"),
])
def test_unsupported_clauses(api: Api, query: str, clause: str) -> None:
    body = error(api, query)
    assert (body["code"], body["details"]) == ("SYNTAX_ERROR", {"clause": clause})


def test_where_is_mandatory_before_v6(api: Api) -> None:
    body = error(api, "select Last_Name from Leads", version="v2")
    assert (body["code"], body["details"]) == ("SYNTAX_ERROR", {"clause": "where"})
    assert coql(api, "select Last_Name from Leads", version="v6").status_code == 200


@pytest.mark.parametrize("query,message,details", [
    ("select Nope from Leads where id is not null", "column given seems to be invalid",
     {"column_name": "Nope"}),
    ("select Last_Name from Leads where Nope = 1", "column given seems to be invalid",
     {"column_name": "Nope"}),
    ("select Last_Name from Leads where Company.Name = 1", "column given seems to be invalid",
     {"column_name": "Company.Name"}),
    ("select Owner.phone from Leads where id is not null", "column given seems to be invalid",
     {"column_name": "Owner.phone"}),
    ("select Last_Name from Leads where No_of_Employees = 'ten'",
     "value given seems to be invalid for the column",
     {"column_name": "No_of_Employees", "expected_data_type": "integer"}),
    ("select Last_Name from Leads where id = 'abc'",
     "value given seems to be invalid for the column",
     {"column_name": "id", "expected_data_type": "id"}),
    ("select Last_Name from Leads where Last_Name like 'a%b'",
     "value given seems to be invalid for the column",
     {"column_name": "Last_Name", "expected_data_type": "text"}),
    ("select Last_Name from Leads where Last_Activity_Time > 'yesterday'",
     "value given seems to be invalid for the column",
     {"column_name": "Last_Activity_Time", "expected_data_type": "datetime"}),
    ("select Last_Name from Leads where No_of_Employees like '1%'", "data type not supported",
     {"column_name": "No_of_Employees", "operator": "like", "data_type": "integer"}),
    ("select Last_Name from Leads where Last_Name > 'b'", "data type not supported",
     {"column_name": "Last_Name", "operator": ">", "data_type": "text"}),
    ("select Last_Name from Leads where Description = 'x'", "data type not supported",
     {"column_name": "Description", "operator": "=", "data_type": "textarea"}),
    ("select SUM(Last_Name) from Leads where id is not null", "data type not supported",
     {"column_name": "Last_Name", "operator": "SUM", "data_type": "text"}),
])
def test_invalid_query_reasons(api: Api, query: str, message: str,
                               details: dict[str, Any]) -> None:
    body = error(api, query)
    assert (body["code"], body["message"], body["details"]) == ("INVALID_QUERY", message,
                                                                details)


@pytest.mark.parametrize("query", [
    "select Last_Name from Nowhere where id is not null",
    "select Last_Name, COUNT(id) from Leads where id is not null",  # Last_Name not grouped
    "select Last_Name from Leads where id is not null order by COUNT(id)",
    "select MEDIAN(No_of_Employees) from Leads where id is not null",
    "select Last_Name from Leads where id is not null limit 0",
])
def test_other_invalid_queries_give_a_reason(api: Api, query: str) -> None:
    body = error(api, query)
    assert body["code"] == "INVALID_QUERY"
    assert body["details"]["reason"]


def test_limits(api: Api) -> None:
    many = ", ".join(["Last_Name"] * 51)
    assert error(api, f"select {many} from Leads where id is not null")["code"] == \
        "LIMIT_EXCEEDED"
    body = error(api, "select Last_Name from Leads where id is not null limit 2001")
    assert (body["code"], body["details"]) == ("LIMIT_EXCEEDED",
                                               {"clause": "limit", "limit": 2000})
    body = error(api, "select Last_Name from Leads where id is not null limit 201", version="v3")
    assert body["details"] == {"clause": "limit", "limit": 200}
    body = error(api, "select Last_Name from Leads where id is not null limit 99000, 2000")
    assert (body["code"], body["details"]) == ("LIMIT_EXCEEDED",
                                               {"clause": "offset", "limit": 100000})
    assert coql(api, "select Last_Name from Leads where id is not null limit 98000, 2000"
                ).status_code == 200
    body = error(api, "select Last_Name from Leads where id is not null limit 9000, 2000",
                 version="v5")
    assert body["details"] == {"clause": "offset", "limit": 10000}
    in_list = ", ".join(str(i) for i in range(51))
    assert error(api, f"select Last_Name from Leads where No_of_Employees in ({in_list})")[
        "details"] == {"clause": "in", "limit": 50}
    crit = "id is not null"
    for _ in range(25):
        crit = f"({crit} and id is not null)"
    assert error(api, f"select Last_Name from Leads where {crit}")["details"] == {
        "clause": "where", "limit": 25}
    order = ", ".join(f"{f}" for f in ["Last_Name", "First_Name", "Company", "City", "State",
                                        "Country", "Street", "Phone", "Mobile", "Fax",
                                        "Email"])
    assert error(api, f"select Last_Name from Leads where id is not null order by {order}")[
        "details"] == {"clause": "order by", "limit": 10}
    groups = "Company, City, State, Country, Street"
    assert error(api, f"select {groups} from Leads where id is not null group by {groups}")[
        "details"] == {"clause": "group by", "limit": 4}
    aggs = ", ".join(["COUNT(id)", "COUNT(Last_Name)", "COUNT(Company)", "COUNT(City)",
                      "COUNT(State)", "COUNT(Street)"])
    assert error(api, f"select {aggs} from Leads where id is not null")["details"] == {
        "clause": "aggregate", "limit": 5}


def test_duplicates_and_aliases(api: Api) -> None:
    body = error(api, "select id from Leads where id is not null order by id, id")
    assert (body["code"], body["details"]) == ("DUPLICATE_DATA",
                                               {"clause": "order by", "column_name": "id"})
    body = error(api, "select Company, COUNT(id) from Leads where id is not null "
                      "group by Company, Company")
    assert body["code"] == "DUPLICATE_DATA"
    body = error(api, "select COUNT(id), count(id) from Leads where id is not null")
    assert body["code"] == "DUPLICATE_DATA"
    body = error(api, "select COUNT(id) as n, MAX(No_of_Employees) as n from Leads "
                      "where id is not null")
    assert (body["code"], body["details"]) == ("DUPLICATE_ALIAS", {"alias": "n"})
    body = error(api, "select COUNT(id) as Company from Leads where id is not null")
    assert (body["code"], body["details"]) == ("INVALID_ALIAS", {"alias": "Company"})


@pytest.mark.parametrize("body", [{}, {"select_query": ""}, {"select_query": 5}, [1],
                                  {"select_query": None}])
def test_select_query_is_mandatory(api: Api, body: Any) -> None:
    api.version = "v8"
    r = api.post("coql", json=body)
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_QUERY")


# ----------------------------------------------------------------------------- injection
@pytest.mark.parametrize("query", [
    "select Last_Name from Leads where Last_Name = 'x' or 1=1 --'",
    "select Last_Name from Leads where Last_Name = 'x'; drop table records",
    "select Last_Name from Leads where Last_Name = 'x'' or ''1''=''1'",
    "select Last_Name from Leads where Last_Name = \"x\") or (1=1\"",
    "select Last_Name from Leads where Last_Name like '%'' or 1=1 --%'",
    "select Last_Name from Leads where \"Last_Name\" = 'x'",
    "select Last_Name from Leads where Last_Name = 'x' union select data from records",
    "select data from records where id is not null",
    "select Last_Name from Leads where Last_Name = 'x\x00'",
    "select Last_Name from Leads where Last_Name in ('a', (select 1))",
    "select Last_Name from Leads where sqlite_version() = 1",
    "select Last_Name from Leads where id is not null order by 1",
    "select Last_Name from Leads where id is not null limit 1; select 1",
    "select Last_Name/**/from Leads where id is not null",
    "select Last_Name from Leads where 'Last_Name'' or 1=1 --' = 'x'",
    "select 'data' from Leads where id is not null",
    "select Last_Name from Leads where Last_Name = '" + "a" * 5000 + "'",
    "select Last_Name from Leads where " + "(id is null or " * 2000 + "id is null" + ")" * 2000,
    "select Last_Name from Leads where id is null limit 1.5",
    "select Last_Name from Leads where id is null limit 99999999999999999999999",
    "select Last_Name from Leads where No_of_Employees = 1e999",
    "select Last_Name from Leads where id = 99999999999999999999999",
    "select Last_Name from Leads where Created_Time = '9999-12-31T23:59:59-12:00'",
])
def test_injection_attempts_fail_cleanly(api: Api, leads: list[str], corral: Corral,
                                         query: str) -> None:
    r = coql(api, query)
    text = r.text.lower()
    assert r.status_code in (200, 400), r.text
    for leak in ("traceback", "sqlalchemy", "sqlite", "psycopg", "records.", "json_extract",
                 "->>", "internal_error"):
        assert leak not in text
    if r.status_code == 200:
        assert r.json()["data"] == []  # only the literal text is compared
    with corral.db.read() as tx:
        assert tx.execute(sa.select(sa.func.count()).select_from(t.records)).scalar_one() >= 5
    assert len(names(api, "id is not null")) == 5


# ----------------------------------------------------------------------------- auth
def test_no_token(client: Any) -> None:
    r = client.post("/crm/v8/coql", json={"select_query": "select id from Leads"})
    assert (r.status_code, r.json()["code"]) == (401, "AUTHENTICATION_FAILURE")


def test_wrong_scopes(api: Api, corral: Corral) -> None:
    query = "select Last_Name from Leads where id is not null"
    for scopes in (["ZohoCRM.modules.ALL"], ["ZohoCRM.coql.READ"],
                   ["ZohoCRM.coql.READ", "ZohoCRM.modules.contacts.READ"],
                   ["ZohoCRM.settings.ALL"]):
        r = coql(api, query, token=make_token(corral, scopes))
        assert (r.status_code, r.json()["code"]) == (401, "OAUTH_SCOPE_MISMATCH"), scopes
    # An unknown module is only reported to a token that could read a module of that name.
    r = coql(api, "select a from Nowhere where id is not null",
             token=make_token(corral, ["ZohoCRM.coql.READ", "ZohoCRM.modules.leads.READ"]))
    assert r.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    for scopes in (["ZohoCRM.coql.READ", "ZohoCRM.modules.leads.READ"],
                   ["ZohoCRM.coql.READ", "ZohoCRM.modules.READ"],
                   ["ZohoCRM.coql.READ", "ZohoCRM.modules.ALL"]):
        assert coql(api, query, token=make_token(corral, scopes)).status_code == 200, scopes


def _standard_user(corral: Corral, modules: dict[str, list[str]]) -> str:
    user = corral.auth.create_user("std@zylker.com", "Standard", first_name="Sam")
    with corral.db.write() as conn:
        conn.execute(sa.update(t.profiles).where(t.profiles.c.id == user.profile_id).values(
            permissions={"admin": False, "modules": modules, "read_only_fields": {}}))
    return make_token(corral, email="std@zylker.com")


def test_profile_must_allow_viewing_every_module_read(api: Api, corral: Corral) -> None:
    token = _standard_user(corral, {"*": ["view"], "Accounts": []})
    r = coql(api, "select Last_Name from Leads where id is not null", token=token)
    assert r.status_code == 200
    r = coql(api, "select Last_Name, Account_Name from Contacts where id is not null",
             token=token)
    assert r.status_code == 200  # the lookup's id is the contact's own value
    r = coql(api, "select Account_Name.Account_Name from Contacts where id is not null",
             token=token)
    assert (r.status_code, r.json()["code"]) == (403, "NO_PERMISSION")
    assert r.json()["details"] == {"permissions": ["Crm_Implied_View_Accounts"]}
    r = coql(api, "select id from Accounts where id is not null", token=token)
    assert (r.status_code, r.json()["code"]) == (403, "NO_PERMISSION")
