"""RecordQuery without HTTP: criteria compiled to filters and SQL, filters, paging, the recycle bin.

Runs on SQLite and PostgreSQL (the `corral` fixture). User values must only ever reach the
database as bound parameters, and LIKE wildcards in them must match literally.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.errors import InvalidQuery
from corral.metadata.model import Module
from corral.records import criteria as cr
from corral.records.query import ALLOWED_OPERATORS, Filters, RecordQuery
from corral.records.service import WriteContext
from corral.services import Corral
from corral.storage import tables as t
from corral.storage.filters import Filter
from corral.storage.repositories.record_search import compile_filter
from tests.conftest import make_token

UTC = ZoneInfo("UTC")
KOLKATA = ZoneInfo("Asia/Kolkata")
MARK = "QzMarkQz"


# ----------------------------------------------------------------------------- helpers
def module(corral: Corral, name: str) -> Module:
    return corral.registry.require(name)


def insert(corral: Corral, name: str, *records: dict[str, Any]) -> list[int]:
    principal = corral.auth.authenticate(f"Zoho-oauthtoken {make_token(corral)}")
    outcomes = corral.records.insert(module(corral, name), list(records),
                                     WriteContext(principal))
    assert all(o.error is None for o in outcomes), [o.error and o.error.details
                                                    for o in outcomes]
    return [o.record.id for o in outcomes]  # type: ignore[union-attr]


def matching(corral: Corral, name: str, criteria: str, *, mode: str = "search",
             tz: ZoneInfo = UTC, filters: Filters | None = None) -> set[int]:
    q = corral.query
    mod = module(corral, name)
    cond = q.compile(mod, cr.parse_criteria(criteria), tz=tz, mode=mode)
    recs, _ = q.fetch(mod, [*q.base_where(mod, filters or Filters()), cond], offset=0,
                      limit=200)
    return {r.id for r in recs}


def compile_sql(corral: Corral, cond: Filter) -> tuple[str, dict[str, Any]]:
    stmt = sa.select(t.records.c.id).where(compile_filter(cond))
    compiled = stmt.compile(dialect=corral.db.read_engine.dialect)
    return str(compiled), dict(compiled.params)


def set_row(corral: Corral, rid: int, **values: Any) -> None:
    with corral.db.write() as conn:
        conn.execute(sa.update(t.records).where(t.records.c.id == rid).values(**values))


def bad(corral: Corral, name: str, criteria: str) -> dict[str, Any]:
    with pytest.raises(InvalidQuery) as exc:
        corral.query.compile(module(corral, name), cr.parse_criteria(criteria), tz=UTC)
    assert exc.value.code == "INVALID_QUERY" and exc.value.http_status == 400
    return exc.value.details


# ----------------------------------------------------------------------------- operator table
def test_allowed_operators_follow_the_documented_table() -> None:
    """facts §1.5 (DOC7): which operators each field type accepts."""
    cmp = {"equals", "not_equal", "greater_equal", "greater_than", "less_equal", "less_than",
           "between", "in"}
    for dt in ("integer", "bigint", "double", "currency", "percent", "decimal", "date",
               "datetime"):
        assert ALLOWED_OPERATORS[dt] == cmp, dt
    for dt in ("text", "email", "phone", "website"):
        assert ALLOWED_OPERATORS[dt] == {"equals", "not_equal", "starts_with", "in"}, dt
    assert ALLOWED_OPERATORS["textarea"] == {"equals", "not_equal", "starts_with"}
    assert ALLOWED_OPERATORS["boolean"] == {"equals", "not_equal"}
    assert ALLOWED_OPERATORS["picklist"] == {"equals", "not_equal", "in"}
    assert ALLOWED_OPERATORS["multiselectpicklist"] == {"equals", "not_equal", "in",
                                                        "starts_with"}
    assert ALLOWED_OPERATORS["lookup"] == {"equals", "not_equal", "in"}
    assert ALLOWED_OPERATORS["ownerlookup"] == {"equals", "not_equal", "in"}
    assert "subform" not in ALLOWED_OPERATORS


def test_every_module_field_type_is_searchable_or_deliberately_not(corral: Corral) -> None:
    mods = corral.registry.modules()
    assert len(mods) > 10
    for mod in mods:
        for f in mod.fields:
            assert f.data_type in ALLOWED_OPERATORS or f.data_type == "subform", f


# ----------------------------------------------------------------------------- compile errors
@pytest.mark.parametrize("criteria,details", [
    ("(Nope:equals:x)", {"api_name": "Nope"}),
    ("(Lead_Source:greater_than:Chat)", {"api_name": "Lead_Source",
                                         "operator": "greater_than"}),
    ("(Email_Opt_Out:starts_with:t)", {"api_name": "Email_Opt_Out", "operator": "starts_with"}),
    ("(Description:in:a,b)", {"api_name": "Description", "operator": "in"}),
    ("(Owner:starts_with:1)", {"api_name": "Owner", "operator": "starts_with"}),
    ("(Created_Time:starts_with:2024)", {"api_name": "Created_Time"}),
])
def test_unknown_fields_and_disallowed_operators(corral: Corral, criteria: str,
                                                 details: dict[str, str]) -> None:
    got = bad(corral, "Leads", criteria)
    assert details.items() <= got.items()
    assert got["reason"]


@pytest.mark.parametrize("criteria", [
    "(No_of_Employees:equals:ten)", "(No_of_Employees:equals:nan)",
    "(No_of_Employees:equals:inf)", "(Annual_Revenue:equals:1e400)",
    "(Annual_Revenue:equals:1_000)", "(Annual_Revenue:between:1,x)",
    "(Email_Opt_Out:equals:1)", "(Created_Time:equals:noon)",
    "(Created_Time:equals:0001-01-01T00:00:00+01:00)",
    "(Modified_Time:less_than:9999-12-31T23:59:59+00:00)",
    "(Owner:equals:abc)", "(Owner:in:1,x)", "(id:equals:abc)", "(id:greater_than:1)",
    "(id:equals:99999999999999999999)",
    "(Company:equals:a\x00b)", "(Last_Name:in:a,\x00)",
])
def test_bad_values_are_invalid_query(corral: Corral, criteria: str) -> None:
    bad(corral, "Leads", criteria)


@pytest.mark.parametrize("criteria", [
    "(Account_Number:equals:1.5)", "(Account_Number:equals:12345678901234567890123)",
    "(Account_Number:in:1,-)", "(Annual_Revenue:equals:-)",
])
def test_bad_numbers_in_other_modules(corral: Corral, criteria: str) -> None:
    bad(corral, "Accounts", criteria)


def test_bad_dates(corral: Corral) -> None:
    for value in ("2024-02-30", "2024-1-5", "soon", "2024-01-01T00:00:00"):
        bad(corral, "Contacts", f"(Date_of_Birth:equals:{value})")


# ----------------------------------------------------------------------------- bound params
@pytest.mark.parametrize("module_name,field,op", [
    ("Leads", "Company", "equals"), ("Leads", "Company", "not_equal"),
    ("Leads", "Company", "starts_with"), ("Leads", "Company", "in"),
    ("Leads", "Email", "equals"), ("Leads", "Lead_Source", "equals"),
    ("Leads", "Lead_Source", "in"), ("Leads", "Description", "starts_with"),
    ("Products", "Tax", "equals"), ("Products", "Tax", "starts_with"),
    ("Products", "Tax", "not_equal"),
])
def test_text_values_are_bound_parameters(corral: Corral, module_name: str, field: str,
                                          op: str) -> None:
    value = f"{MARK}'); DROP TABLE records; --"
    cond = corral.query.compile(module(corral, module_name),
                                cr.Condition(field, op, (value,) if op == "in" else value),
                                tz=UTC)
    sql, params = compile_sql(corral, cond)
    assert MARK.lower() not in sql.lower()
    assert "drop" not in sql.lower()
    assert any(MARK.lower() in str(v).lower() for v in params.values())


def test_special_search_values_are_bound_parameters(corral: Corral) -> None:
    mod = module(corral, "Leads")
    for kw in ("email", "phone", "word"):
        cond = corral.query.special_where(mod, **{kw: f"{MARK}' OR '1'='1"})
        sql, params = compile_sql(corral, cond)
        assert MARK.lower() not in sql.lower() and "'1'='1" not in sql
        assert any(MARK.lower() in str(v).lower() for v in params.values())


SQL_VALUES = st.text(max_size=20)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=SQL_VALUES, op=st.sampled_from(["equals", "not_equal", "starts_with", "in"]),
       field=st.sampled_from(["Company", "Email", "Lead_Source", "Description"]))
def test_any_text_value_compiles_to_parameters_or_invalid_query(
        corral: Corral, value: str, op: str, field: str) -> None:
    text = MARK + value
    try:
        cond = corral.query.compile(module(corral, "Leads"),
                                    cr.Condition(field, op, (text,) if op == "in" else text),
                                    tz=UTC)
    except InvalidQuery:
        assert "\x00" in value or op not in ALLOWED_OPERATORS[
            module(corral, "Leads").field(field).data_type]  # type: ignore[union-attr]
        return
    sql, _ = compile_sql(corral, cond)
    assert MARK.lower() not in sql.lower()
    corral.query.count([cond])  # the database accepts it


# ----------------------------------------------------------------------------- semantics
@pytest.fixture
def companies(corral: Corral) -> dict[str, int]:
    names = ["100%_Pure", "100 Pure", "a_b", "axb", "Back\\slash", "Zylker Inc", "ÜBER GmbH"]
    ids = insert(corral, "Leads", *[{"Last_Name": f"L{i}", "Company": c}
                                    for i, c in enumerate(names)])
    return dict(zip(names, ids, strict=True))


def test_like_wildcards_match_literally(corral: Corral, companies: dict[str, int]) -> None:
    c = companies
    assert matching(corral, "Leads", "(Company:starts_with:100%)") == {c["100%_Pure"]}
    assert matching(corral, "Leads", "(Company:starts_with:100%_)") == {c["100%_Pure"]}
    assert matching(corral, "Leads", "(Company:equals:a_b)") == {c["a_b"]}
    assert matching(corral, "Leads", "(Company:equals:_)") == {c["100%_Pure"], c["a_b"]}
    assert matching(corral, "Leads", "(Company:equals:%)") == {c["100%_Pure"]}
    assert matching(corral, "Leads", r"(Company:equals:k\\s)") == {c["Back\\slash"]}
    assert matching(corral, "Leads", r"(Company:starts_with:Back\\)") == {c["Back\\slash"]}
    assert matching(corral, "Leads", "(Company:starts_with:/)") == set()


def test_search_equals_contains_but_view_equals_is_exact(corral: Corral,
                                                         companies: dict[str, int]) -> None:
    c = companies
    assert matching(corral, "Leads", "(Company:equals:zylker)") == {c["Zylker Inc"]}
    assert matching(corral, "Leads", "(Company:equals:zylker)", mode="view") == set()
    assert matching(corral, "Leads", "(Company:equals:zylker INC)", mode="view") == \
        {c["Zylker Inc"]}


def test_non_ascii_values_match_in_their_own_case(corral: Corral,
                                                  companies: dict[str, int]) -> None:
    c = companies
    for op in ("equals", "in", "starts_with"):
        assert c["ÜBER GmbH"] in matching(corral, "Leads", f"(Company:{op}:ÜBER GmbH)"), op
    assert c["ÜBER GmbH"] in matching(corral, "Leads", "(Company:equals:ÜBER gmbh)",
                                      mode="view")
    assert c["ÜBER GmbH"] not in matching(corral, "Leads", "(Company:not_equal:ÜBER GmbH)")


def test_created_time_compares_whole_seconds(corral: Corral) -> None:
    a, b, c = insert(corral, "Leads", {"Last_Name": "A"}, {"Last_Name": "B"},
                     {"Last_Name": "C"})
    set_row(corral, a, created_time=datetime(2024, 1, 10, 12, 0, 0, 999999))
    set_row(corral, b, created_time=datetime(2024, 1, 10, 12, 0, 1, 0))
    set_row(corral, c, created_time=datetime(2024, 1, 10, 12, 0, 1, 500000))

    def m(criteria: str, tz: ZoneInfo = UTC) -> set[int]:
        return matching(corral, "Leads", criteria, tz=tz)

    ct = "Created_Time"
    assert m(f"({ct}:equals:2024-01-10T12:00:00+00:00)") == {a}
    assert m(f"({ct}:equals:2024-01-10T12:00:01+00:00)") == {b, c}
    assert m(f"({ct}:equals:2024-01-10T12:00:01.700+00:00)") == {b, c}
    assert m(f"({ct}:not_equal:2024-01-10T12:00:01+00:00)") == {a}
    assert m(f"({ct}:greater_than:2024-01-10T12:00:00+00:00)") == {b, c}
    assert m(f"({ct}:greater_equal:2024-01-10T12:00:01+00:00)") == {b, c}
    assert m(f"({ct}:less_than:2024-01-10T12:00:01+00:00)") == {a}
    assert m(f"({ct}:less_equal:2024-01-10T12:00:00+00:00)") == {a}
    assert m(f"({ct}:between:2024-01-10T12:00:00+00:00,2024-01-10T12:00:00+00:00)") == {a}
    assert m(f"({ct}:in:2024-01-10T12:00:00+00:00,2024-01-10T13:00:00+00:00)") == {a}
    assert m(f"({ct}:equals:2024-01-10T17:30:01)", tz=KOLKATA) == {b, c}
    assert m(f"({ct}:equals:2024-01-10T17:30:01+05:30)") == {b, c}


def test_bigint_compares_exactly(corral: Corral) -> None:
    a, b = insert(corral, "Accounts", {"Account_Name": "A", "Account_Number": 10**17 + 1},
                  {"Account_Name": "B", "Account_Number": 10**17 + 2})
    n = 10**17
    assert matching(corral, "Accounts", f"(Account_Number:equals:{n + 1})") == {a}
    assert matching(corral, "Accounts", f"(Account_Number:greater_than:{n + 1})") == {b}
    assert matching(corral, "Accounts", f"(Account_Number:between:{n},{n + 1})") == {a}
    assert matching(corral, "Accounts", f"(Account_Number:not_equal:{n + 2})") == {a}
    assert matching(corral, "Accounts", "(Account_Number:less_than:-5)") == set()


def test_multiselect_matches_whole_values(corral: Corral) -> None:
    a, b = insert(corral, "Products", {"Product_Name": "A", "Tax": ["Vat", "Ünï \"x\""]},
                  {"Product_Name": "B", "Tax": ["Vat2", "%_"]})
    assert matching(corral, "Products", "(Tax:equals:Vat)") == {a}
    assert matching(corral, "Products", "(Tax:starts_with:Vat)") == {a, b}
    assert matching(corral, "Products", "(Tax:equals:Ünï \"x\")") == {a}
    assert matching(corral, "Products", "(Tax:equals:%_)") == {b}
    assert matching(corral, "Products", "(Tax:equals:%)") == set()
    assert matching(corral, "Products", "(Tax:not_equal:Vat)") == {b}


def test_groups_compile_to_and_or(corral: Corral) -> None:
    a, b, c = insert(corral, "Leads", {"Last_Name": "A", "City": "X", "No_of_Employees": 1},
                     {"Last_Name": "B", "City": "X", "No_of_Employees": 5},
                     {"Last_Name": "C", "City": "Y", "No_of_Employees": 5})
    assert matching(corral, "Leads", "((City:equals:X)and(No_of_Employees:equals:5))") == {b}
    assert matching(corral, "Leads", "((City:equals:Y)or(No_of_Employees:equals:1))") == {a, c}
    assert matching(corral, "Leads", "((City:equals:X)and((Last_Name:equals:A)or"
                                     "(Last_Name:equals:C)))") == {a}


def test_base_where_filters(corral: Corral) -> None:
    a, b, c = insert(corral, "Leads", {"Last_Name": "A"}, {"Last_Name": "B"},
                     {"Last_Name": "C"})
    set_row(corral, b, converted=True)
    set_row(corral, c, approval_state="pending")
    q, mod = corral.query, module(corral, "Leads")

    def ids(**kw: str) -> set[int]:
        recs, _ = q.fetch(mod, q.base_where(mod, Filters(**kw)), offset=0, limit=10)
        return {r.id for r in recs}

    assert ids() == {a}
    assert ids(converted="true") == {b}
    assert ids(converted="both") == {a, b}
    assert ids(approved="false") == {c}
    assert ids(converted="both", approved="both") == {a, b, c}
    assert q.count(q.base_where(module(corral, "Contacts"), Filters())) == 0


def test_fetch_pages_sorts_and_reports_more(corral: Corral) -> None:
    rids = insert(corral, "Leads", *[{"Last_Name": f"L{i}"} for i in range(5)])
    same = datetime(2024, 1, 1, 0, 0, 0)
    for rid in rids:
        set_row(corral, rid, created_time=same)
    q, mod = corral.query, module(corral, "Leads")
    where = q.base_where(mod, Filters())
    page1, more1 = q.fetch(mod, where, offset=0, limit=2, sort_by="Created_Time",
                           sort_order="asc")
    page3, more3 = q.fetch(mod, where, offset=4, limit=2, sort_by="Created_Time",
                           sort_order="asc")
    assert [r.id for r in page1] == rids[:2] and more1 is True  # ties broken by id
    assert [r.id for r in page3] == rids[4:] and more3 is False
    desc, _ = q.fetch(mod, where, offset=0, limit=5)
    assert [r.id for r in desc] == rids[::-1]
    exact, more = q.fetch(mod, where, offset=0, limit=5)
    assert more is False and len(exact) == 5
    assert q.count(where) == 5


def test_special_where(corral: Corral, companies: dict[str, int]) -> None:
    a, b = insert(corral, "Leads", {"Last_Name": "Mail", "Email": "Some.One@Zylker.com"},
                  {"Last_Name": "Mail2", "Secondary_Email": "some.one@zylker.COM",
                   "Phone": "+91 98400 12345"})
    q = corral.query
    leads, products = module(corral, "Leads"), module(corral, "Products")

    def hits(mod: Module, **kw: str) -> set[int]:
        recs, _ = q.fetch(mod, [*q.base_where(mod, Filters()), q.special_where(mod, **kw)],
                          offset=0, limit=50)
        return {r.id for r in recs}

    assert hits(leads, email="SOME.ONE@zylker.com") == {a, b}
    assert hits(leads, email="one@zylker.com") == set()
    assert hits(leads, phone="98400") == {b}
    assert hits(leads, word="100%") == {companies["100%_Pure"]}
    assert hits(leads, word="a_b") == {companies["a_b"]}
    assert hits(products, email="x@y.z") == set()  # no email field at all
    assert hits(leads, email="a\x00b") == set()


def test_recycle_bin_order_and_paging(corral: Corral) -> None:
    principal = corral.auth.authenticate(f"Zoho-oauthtoken {make_token(corral)}")
    mod = module(corral, "Leads")
    a, b, c = insert(corral, "Leads", {"Last_Name": "A"}, {"Last_Name": "B"},
                     {"Last_Name": "C"})
    corral.records.delete(mod, [str(a), str(b)], WriteContext(principal))
    set_row(corral, a, deleted_time=datetime(2024, 1, 2))
    set_row(corral, b, deleted_time=datetime(2024, 1, 1))
    recs, more = corral.query.deleted(mod, offset=0, limit=1)
    assert [r.id for r in recs] == [a] and more is True
    recs, more = corral.query.deleted(mod, offset=1, limit=1)
    assert [r.id for r in recs] == [b] and more is False
    assert corral.query.get_one(mod, a) is None
    assert corral.query.get_one(mod, c) is not None
    assert corral.query.deleted(module(corral, "Contacts"), offset=0, limit=5) == ([], False)


def test_lookup_names_and_views(corral: Corral) -> None:
    (acc,) = insert(corral, "Accounts", {"Account_Name": "Zylker"})
    (con,) = insert(corral, "Contacts", {"Last_Name": "Daly", "Account_Name": {"id": str(acc)}})
    contacts = module(corral, "Contacts")
    rec = corral.query.get_one(contacts, con)
    assert rec is not None
    assert corral.query.lookup_names(contacts, [rec]) == {acc: "Zylker"}
    views = corral.query.views(module(corral, "Leads"))
    assert {"ALLVIEWS", "CONVERTEDVIEWS"} <= {v.system_name for v in views}
    some = views[0]
    assert corral.query.view(module(corral, "Leads"), some.id) is not None
    assert corral.query.view(contacts, some.id) is None


def test_principal_time_zone(corral: Corral) -> None:
    user = corral.auth.create_user("k@zylker.com", "K", time_zone="Asia/Kolkata")
    token = corral.auth.create_access_token(user.id, "ZohoCRM.modules.ALL")
    principal = corral.auth.authenticate(f"Zoho-oauthtoken {token}")
    assert corral.query.principal_tz(principal) == KOLKATA
    assert isinstance(corral.query, RecordQuery)
