"""The COQL grammar (pure): what it reads, where it reports errors, and that no text makes it fail
with anything but a Zoho error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.errors import CorralError, LimitExceeded, QuerySyntaxError
from corral.records.coql import (
    AggregateCall,
    Condition,
    Item,
    Lit,
    Logic,
    Path,
    Query,
    SortKey,
    parse,
)


def test_reads_every_clause() -> None:
    q = parse("SELECT Last_Name, Account_Name.Account_Name, count(id) AS n FROM Contacts "
              "WHERE (Last_Name like 'o''b%' or Age between 1 and 5) and Owner.email is "
              "not null GROUP BY Last_Name ORDER BY n desc, Last_Name LIMIT 10 OFFSET 20")
    assert q == Query(
        items=(Item(Path(("Last_Name",))), Item(Path(("Account_Name", "Account_Name"))),
               Item(AggregateCall("count", Path(("id",))), "n")),
        module="Contacts",
        where=Logic("and",
                    Logic("or", Condition(Path(("Last_Name",)), "like", (Lit("string",
                                                                             "o'b%"),)),
                          Condition(Path(("Age",)), "between", (Lit("number", "1"),
                                                                Lit("number", "5")))),
                    Condition(Path(("Owner", "email")), "is not null")),
        group_by=(Path(("Last_Name",)),),
        order_by=(SortKey(Path(("n",)), True), SortKey(Path(("Last_Name",)), False)),
        limit=10, offset=20)


@pytest.mark.parametrize(("text", "limit", "offset"), [
    ("limit 5", 5, None), ("limit 3, 5", 5, 3), ("LIMIT 5 OFFSET 3", 5, 3), ("", None, None)])
def test_limit_forms(text: str, limit: int | None, offset: int | None) -> None:
    q = parse(f"select a from Leads where a is null {text}")
    assert (q.limit, q.offset) == (limit, offset)


@pytest.mark.parametrize(("text", "op", "values"), [
    ("= 'x'", "=", ("x",)), ("!= 'x'", "!=", ("x",)), ("<> 'x'", "!=", ("x",)),
    ("< 1", "<", ("1",)), ("<= 1", "<=", ("1",)), ("> 1", ">", ("1",)),
    (">= -1.5", ">=", ("-1.5",)), ("in ('a', 2)", "in", ("a", "2")),
    ("not in (\"a\")", "not in", ("a",)), ("like '%a'", "like", ("%a",)),
    ("NOT LIKE 'a%'", "not like", ("a%",)), ("between 1 and 2", "between", ("1", "2")),
    ("is null", "is null", ()), ("IS NOT NULL", "is not null", ()),
    ("= true", "=", ("true",)), ("= Advertisement", "=", ("Advertisement",)),
])
def test_comparators(text: str, op: str, values: tuple[str, ...]) -> None:
    where = parse(f"select a from Leads where a {text}").where
    assert isinstance(where, Condition)
    assert (where.op, tuple(v.text for v in where.values)) == (op, values)


def test_quoted_names_are_names_so_reserved_words_can_be_fields() -> None:
    q = parse("select 'External', \"Order\".Name from Leads where 'Limit' = 'x' "
              "order by 'External'")
    assert [i.expr for i in q.items] == [Path(("External",)), Path(("Order", "Name"))]
    assert q.where == Condition(Path(("Limit",)), "=", (Lit("string", "x"),))
    assert q.order_by == (SortKey(Path(("External",))),)


def test_keywords_are_not_field_names_but_prefixes_are() -> None:
    q = parse("select Order_Id, Selection, Fromage from Orders where Limit_Value = 1")
    assert [i.expr for i in q.items] == [Path(("Order_Id",)), Path(("Selection",)),
                                         Path(("Fromage",))]
    assert q.module == "Orders"


@pytest.mark.parametrize(("text", "details"), [
    ("select a from Leads where a = 1 and b = 2 and c = 3",
     {"near": "and", "line": 1, "column": 43}),
    ("select a from Leads where a = 1 or b = 2 and c = 3",
     {"near": "and", "line": 1, "column": 42}),
    ("select a\nfrom Leads\nwhere a ==1", {"near": "=", "line": 3, "column": 10}),
    ("select a from Leads where a = 'open", {"near": "'", "line": 1, "column": 31}),
    ("select a from Leads limit 1.5", {"near": "1.5", "line": 1, "column": 27}),
    ("select a from", {"near": "from", "line": 1, "column": 14}),
    ("", {"near": "", "line": 1, "column": 1}),
])
def test_syntax_errors_report_where(text: str, details: dict[str, object]) -> None:
    with pytest.raises(QuerySyntaxError) as err:
        parse(text)
    assert err.value.details == details


def test_deep_nesting_is_a_limit_not_a_crash() -> None:
    deep = "(a = 1 and " * 3000 + "a = 1" + ")" * 3000
    with pytest.raises(LimitExceeded):
        parse(f"select a from Leads where {deep}")
    parens = "(" * 5000 + "a = 1" + ")" * 5000
    assert isinstance(parse(f"select a from Leads where {parens}").where, Condition)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(
    list("select from where and or not like in between is null group order by limit offset "
         "as () ,.'\"=!<>%*;-0123456789 abAB_\n\x00é")), max_size=80))
def test_any_text_parses_or_fails_with_a_zoho_error(text: str) -> None:
    try:
        parse(text)
    except CorralError as err:
        assert err.code in {"SYNTAX_ERROR", "LIMIT_EXCEEDED"}
