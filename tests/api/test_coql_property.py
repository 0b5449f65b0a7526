"""Property: a random COQL WHERE over random records selects exactly the records a Python
reference evaluation of the same WHERE selects (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Api

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

TEXT = st.text(alphabet="aAbB_%'", min_size=1, max_size=4)
PATTERN = st.text(alphabet="aAbB_'", min_size=1, max_size=3)  # `%` is COQL's wildcard
SOURCES = ["Advertisement", "Cold Call", "Chat"]
EMAILS = ["a@x.com", "A@X.com", "b@x.com", "ab@x.com"]  # Email: the key-indexed field
INTS = st.integers(min_value=0, max_value=5)
MONEY = st.sampled_from([0.0, 0.5, 1.0, 2.5, 100.0])

RECORD = st.fixed_dictionaries({
    "Last_Name": TEXT,
    "Company": st.none() | TEXT,
    "Email": st.none() | st.sampled_from(EMAILS),
    "Lead_Source": st.none() | st.sampled_from(SOURCES),
    "No_of_Employees": st.none() | INTS,
    "Annual_Revenue": st.none() | MONEY,
    "Email_Opt_Out": st.none() | st.booleans(),
})


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _text_condition(draw: st.DrawFn, field: str) -> tuple[str, Predicate]:
    values = {"Lead_Source": st.sampled_from([*SOURCES, "advertisement", "CHAT", "Trade Show"]),
              "Email": st.sampled_from([*EMAILS, "B@x.COM", "c@x.com"])}.get(field, TEXT)
    op = draw(st.sampled_from(["=", "!=", "in", "not in", "like", "not like", "is null",
                               "is not null"]))

    def get(r: Record) -> str | None:
        v = r.get(field)
        return v.lower() if isinstance(v, str) else None

    if op in {"is null", "is not null"}:
        return f"{field} {op}", lambda r: (get(r) is None) == (op == "is null")
    if op in {"in", "not in"}:
        items = draw(st.lists(values, min_size=1, max_size=3))
        wanted = {i.lower() for i in items}

        def member(r: Record) -> bool:
            return get(r) in wanted

        text = f"{field} {op} ({', '.join(quote(i) for i in items)})"
        return text, member if op == "in" else (lambda r: get(r) is None or not member(r))
    if op in {"=", "!="}:
        value = draw(values)

        def equal(r: Record) -> bool:
            return get(r) == value.lower()

        return (f"{field} {op} {quote(value)}",
                equal if op == "=" else (lambda r: get(r) is None or not equal(r)))
    core = draw(PATTERN)
    shape = draw(st.sampled_from(["start", "end", "contain"]))
    pattern = {"start": f"{core}%", "end": f"%{core}", "contain": f"%{core}%"}[shape]
    c = core.lower()

    def like(r: Record) -> bool:
        v = get(r)
        if v is None:
            return False
        return {"start": v.startswith(c), "end": v.endswith(c), "contain": c in v}[shape]

    return (f"{field} {op} {quote(pattern)}",
            like if op == "like" else (lambda r: get(r) is None or not like(r)))


def _number_condition(draw: st.DrawFn, field: str) -> tuple[str, Predicate]:
    values = INTS if field == "No_of_Employees" else MONEY
    op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "between", "in", "not in",
                               "is null", "is not null"]))

    def get(r: Record) -> float | None:
        v = r.get(field)
        return None if v is None else float(v)

    if op in {"is null", "is not null"}:
        return f"{field} {op}", lambda r: (get(r) is None) == (op == "is null")
    if op == "between":
        lo, hi = draw(values), draw(values)
        return (f"{field} between {lo} and {hi}",
                lambda r: (v := get(r)) is not None and lo <= v <= hi)
    if op in {"in", "not in"}:
        items = draw(st.lists(values, min_size=1, max_size=3))
        wanted = {float(i) for i in items}
        text = f"{field} {op} ({', '.join(str(i) for i in items)})"
        if op == "in":
            return text, lambda r: get(r) in wanted
        return text, lambda r: get(r) is None or get(r) not in wanted
    value = float(draw(values))
    compare: dict[str, Callable[[float], bool]] = {
        "=": lambda v: v == value, "!=": lambda v: v != value, "<": lambda v: v < value,
        "<=": lambda v: v <= value, ">": lambda v: v > value, ">=": lambda v: v >= value}
    if op == "!=":
        return f"{field} != {value}", lambda r: (v := get(r)) is None or v != value
    return f"{field} {op} {value}", lambda r: (v := get(r)) is not None and compare[op](v)


@st.composite
def condition(draw: st.DrawFn) -> tuple[str, Predicate]:
    field = draw(st.sampled_from(["Last_Name", "Company", "Email", "Lead_Source",
                                  "No_of_Employees", "Annual_Revenue", "Email_Opt_Out"]))
    if field in {"No_of_Employees", "Annual_Revenue"}:
        return _number_condition(draw, field)
    if field == "Email_Opt_Out":
        op, value = draw(st.sampled_from(["=", "!="])), draw(st.booleans())
        text = f"Email_Opt_Out {op} {str(value).lower()}"
        if op == "=":
            return text, lambda r: r.get("Email_Opt_Out") is value
        return text, lambda r: r.get("Email_Opt_Out") is not value
    return _text_condition(draw, field)


def where(depth: int) -> st.SearchStrategy[tuple[str, Predicate]]:
    if depth == 0:
        return condition()

    @st.composite
    def combined(draw: st.DrawFn) -> tuple[str, Predicate]:
        (lt, lp), (rt, rp) = draw(where(depth - 1)), draw(where(depth - 1))
        if draw(st.booleans()):
            return f"({lt} and {rt})", lambda r: lp(r) and rp(r)
        return f"({lt} or {rt})", lambda r: lp(r) or rp(r)

    return st.one_of(condition(), combined())


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(records=st.lists(RECORD, min_size=1, max_size=10, unique_by=lambda r: (
    r["Email"].casefold() if r["Email"] else id(r))),  # Email is Leads' duplicate check
       data=st.data())
def test_random_where_matches_the_reference(api: Api, records: list[Record],
                                            data: st.DataObject) -> None:
    stored = [{k: v for k, v in r.items() if v is not None} for r in records]
    _delete_all_leads(api)  # whatever an earlier, failed example left
    ids = api.insert("Leads", *stored)
    try:
        for _ in range(5):
            text, predicate = data.draw(where(3), label="where")
            api.version = "v8"
            r = api.post("coql", json={"select_query": f"select id from Leads where {text} "
                                                       "limit 2000"})
            assert r.status_code == 200, (text, r.text)
            got = {row["id"] for row in r.json()["data"]}
            expected = {i for i, rec in zip(ids, stored, strict=True) if predicate(rec)}
            assert got == expected, text
    finally:
        _delete_all_leads(api)


def _delete_all_leads(api: Api) -> None:
    api.version = "v8"
    r = api.post("coql", json={"select_query": "select id from Leads limit 2000"})
    ids = [row["id"] for row in r.json()["data"]]
    for start in range(0, len(ids), 100):
        assert api.delete("Leads", params={"ids": ",".join(ids[start:start + 100])}
                          ).status_code == 200
