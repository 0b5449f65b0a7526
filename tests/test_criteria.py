"""Tests for the pure search-criteria parser, renderer and v8 JSON conversion."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corral.records.criteria import (
    MAX_CONDITIONS,
    OPERATORS,
    Condition,
    Criteria,
    CriteriaError,
    Group,
    criteria_from_v8,
    criteria_to_v8,
    iter_conditions,
    parse_criteria,
    render_criteria,
)

C = Condition


def _chain(n: int, operator: str = "and") -> str:
    return operator.join(f"(F{i}:equals:{i})" for i in range(n))


# --- documented samples ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "((Last_Name:starts_with:G)and(Email:equals:deborah@healthnet.com))",
            Group(
                "and",
                (C("Last_Name", "starts_with", "G"), C("Email", "equals", "deborah@healthnet.com")),
            ),
        ),
        ("Campaign_Name:equals:CRM", C("Campaign_Name", "equals", "CRM")),
        ("(Campaign_Name:equals:CRM)", C("Campaign_Name", "equals", "CRM")),
        ("(Full_Name:in:Patricia,Boyle,Kate)", C("Full_Name", "in", ("Patricia", "Boyle", "Kate"))),
        (
            "(Created_Time:between:2024-02-01T18:52:56+00:00,2024-02-20T18:52:56+00:00)",
            C(
                "Created_Time",
                "between",
                ("2024-02-01T18:52:56+00:00", "2024-02-20T18:52:56+00:00"),
            ),
        ),
        (
            "((A:equals:1)or((B:equals:2)and(C:not_equal:3)))",
            Group(
                "or",
                (
                    C("A", "equals", "1"),
                    Group("and", (C("B", "equals", "2"), C("C", "not_equal", "3"))),
                ),
            ),
        ),
        (
            "((Last_Name:starts_with:G) and (Email:equals:deborah@healthnet.com))",
            Group(
                "and",
                (C("Last_Name", "starts_with", "G"), C("Email", "equals", "deborah@healthnet.com")),
            ),
        ),
        (
            "(a:equals:1) and (b:equals:2)",
            Group("and", (C("a", "equals", "1"), C("b", "equals", "2"))),
        ),
        (
            "(a:equals:1)AND(b:equals:2)And(c:equals:3)",
            Group("and", (C("a", "equals", "1"), C("b", "equals", "2"), C("c", "equals", "3"))),
        ),
        (
            "(a:equals:1)  OR\t(b:less_than:2)",
            Group("or", (C("a", "equals", "1"), C("b", "less_than", "2"))),
        ),
    ],
)
def test_parses_documented_samples(text: str, expected: Criteria) -> None:
    assert parse_criteria(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Values may hold colons: only the first two colons separate field and operator.
        ("(Website:equals:https://x.example:8080/a?b=c)", "https://x.example:8080/a?b=c"),
        ("(Created_Time:greater_equal:2024-02-01T18:52:56+05:30)", "2024-02-01T18:52:56+05:30"),
        ("(Last_Name:equals:Burns\\,B)", "Burns,B"),
        ("(Company:equals:ABC \\(India\\))", "ABC (India)"),
        ("(Path:equals:C:\\\\)", "C:\\"),  # doubled trailing backslash
        ("(Path:equals:a\\b)", "a\\b"),  # a backslash before an ordinary char is literal
        ("(Path:equals:a\\\\b)", "a\\b"),
        ("(Company:equals:Foo, Inc)", "Foo, Inc"),  # unescaped comma kept in single values
        ("(Last_Name:equals:Müller 東京)", "Müller 東京"),
        ("(Last_Name:equals: Smith )", " Smith "),  # values are not trimmed
    ],
)
def test_value_unescaping(text: str, expected: str) -> None:
    condition = parse_criteria(text)
    assert isinstance(condition, Condition)
    assert condition.value == expected


def test_in_splits_on_unescaped_commas_only() -> None:
    assert parse_criteria("(Last_Name:in:Burns\\,B,Kate\\\\,x\\(y\\))") == C(
        "Last_Name", "in", ("Burns,B", "Kate\\", "x(y)")
    )


def test_in_with_single_value_is_a_tuple() -> None:
    assert parse_criteria("(Lead_Status:in:Contacted)") == C("Lead_Status", "in", ("Contacted",))


def test_operator_and_surrounding_whitespace_are_normalised() -> None:
    assert parse_criteria("  ( Last_Name : STARTS_WITH :G)  ") == C("Last_Name", "starts_with", "G")


def test_redundant_parentheses_are_transparent() -> None:
    assert parse_criteria("(((A:equals:1)))") == C("A", "equals", "1")
    assert parse_criteria("( ( (A:equals:1)and(B:equals:2) ) )") == Group(
        "and", (C("A", "equals", "1"), C("B", "equals", "2"))
    )


def test_same_operator_nesting_is_kept_as_written() -> None:
    parsed = parse_criteria("(((A:equals:1)and(B:equals:2))and(C:equals:3))")
    assert parsed == Group(
        "and",
        (Group("and", (C("A", "equals", "1"), C("B", "equals", "2"))), C("C", "equals", "3")),
    )
    assert render_criteria(parsed) == "(((A:equals:1)and(B:equals:2))and(C:equals:3))"


def test_every_operator_is_accepted() -> None:
    for operator in OPERATORS:
        value = "a,b" if operator in ("in", "between") else "a"
        parsed = parse_criteria(f"(F:{operator}:{value})")
        assert isinstance(parsed, Condition)
        assert parsed.operator == operator


# --- rendering and walking ---------------------------------------------------------------------


def test_render_exact_strings() -> None:
    criteria = Group(
        "or",
        (
            C("Last_Name", "equals", "Burns,B (x)\\"),
            Group("and", (C("Full_Name", "in", ("a,b", "c")), C("Age", "greater_than", "3"))),
        ),
    )
    assert render_criteria(criteria) == (
        "((Last_Name:equals:Burns\\,B \\(x\\)\\\\)"
        "or((Full_Name:in:a\\,b,c)and(Age:greater_than:3)))"
    )
    assert render_criteria(C("Campaign_Name", "equals", "CRM")) == "(Campaign_Name:equals:CRM)"


def test_iter_conditions_depth_first_in_order() -> None:
    parsed = parse_criteria("((A:equals:1)or((B:equals:2)and(C:not_equal:3))or(D:in:x,y))")
    assert [c.field for c in iter_conditions(parsed)] == ["A", "B", "C", "D"]
    assert list(iter_conditions(C("A", "equals", "1"))) == [C("A", "equals", "1")]


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason_fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("(A:contains:1)", "'contains'"),
        ("(A:like:1)", "'like'"),
        ("((A:equals:1)", "missing ')'"),
        ("(A:equals:1", "missing ')'"),
        ("(A:equals:1\\)", "missing ')'"),  # a lone trailing backslash escapes the ')'
        ("(A:equals:1))", "unexpected ')'"),
        ("A:equals:1)", "unexpected ')'"),
        ("A:equals:1)and(B:equals:2)", "unexpected ')'"),
        ("(A:equals:a(b)", "unescaped '('"),
        ("(A:equals:)", "empty value"),
        ("(A:equals:   )", "empty value"),
        ("(A:in:a,,b)", "empty value"),
        ("(A:in:a,)", "empty value"),
        ("(A:between:,b)", "empty value"),
        ("(:equals:1)", "empty field"),
        ("( :equals:1)", "empty field"),
        ("(Last Name:equals:1)", "invalid field"),
        ("(A)", "field:operator:value"),
        ("(A:equals)", "field:operator:value"),
        ("()", "field:operator:value"),
        ("(A:between:1)", "exactly 2"),
        ("(A:between:1,2,3)", "exactly 2"),
        ("(A:equals:1)and(B:equals:2)or(C:equals:3)", "cannot mix"),
        ("((A:equals:1)or(B:equals:2)and(C:equals:3))", "cannot mix"),
        ("(A:equals:1)x", "expected 'and' or 'or'"),
        ("(A:equals:1)(B:equals:2)", "expected 'and' or 'or'"),
        ("(A:equals:1) andalso (B:equals:2)", "expected 'and' or 'or'"),
        ("(A:equals:1)and", "missing criterion"),
        ("((A:equals:1)and)", "expected '('"),
        ("(A:equals:1)and B:equals:2", "expected '('"),
        ("(" * 40 + "A:equals:1" + ")" * 40, "nested deeper"),
    ],
)
def test_invalid_criteria_are_rejected(text: str, reason_fragment: str) -> None:
    with pytest.raises(CriteriaError) as info:
        parse_criteria(text)
    assert reason_fragment in info.value.reason
    assert isinstance(info.value, ValueError)


def test_error_part_points_at_offending_criterion() -> None:
    with pytest.raises(CriteriaError) as info:
        parse_criteria("((Last_Name:equals:G)and(Email:contains:x))")
    assert info.value.reason == "unknown operator 'contains'"
    assert info.value.part == "Email:contains:x"
    assert "Email:contains:x" in str(info.value)


def test_ten_conditions_allowed_eleven_rejected() -> None:
    assert MAX_CONDITIONS == 10
    ten = parse_criteria(_chain(10))
    assert isinstance(ten, Group)
    assert [c.field for c in iter_conditions(ten)] == [f"F{i}" for i in range(10)]
    with pytest.raises(CriteriaError) as info:
        parse_criteria(_chain(11))
    assert "10" in info.value.reason
    assert "11" in info.value.reason


def test_condition_limit_counts_nested_conditions() -> None:
    nested = f"(({_chain(6)})or({_chain(5)}))"
    with pytest.raises(CriteriaError, match="limit is 10"):
        parse_criteria(nested)


def test_in_value_limit() -> None:
    hundred = ",".join(str(i) for i in range(100))
    parsed = parse_criteria(f"(A:in:{hundred})")
    assert isinstance(parsed, Condition)
    assert len(parsed.value) == 100
    with pytest.raises(CriteriaError, match="1 to 100"):
        parse_criteria(f"(A:in:{hundred},100)")


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: Group("and", (C("A", "equals", "1"),)), "at least 2"),
        (lambda: Group("xor", (C("A", "equals", "1"), C("B", "equals", "2"))), "xor"),
        (lambda: C("A", "equals", ("1",)), "must be a string"),
        (lambda: C("A", "in", "1"), "tuple"),
        (lambda: C("A", "contains", "1"), "unknown operator"),
        (lambda: C("", "equals", "1"), "empty field"),
        (lambda: C("A", "equals", ""), "empty value"),
    ],
)
def test_constructors_reject_unrenderable_values(build: Any, fragment: str) -> None:
    with pytest.raises(CriteriaError) as info:
        build()
    assert fragment in info.value.reason


# --- property tests ----------------------------------------------------------------------------

_fields = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True)
_values = st.text(
    alphabet=st.one_of(st.sampled_from("(),\\: "), st.characters(codec="utf-8")),
    min_size=1,
    max_size=30,
).filter(lambda v: v.strip() != "")


@st.composite
def _conditions(draw: st.DrawFn) -> Condition:
    operator = draw(st.sampled_from(OPERATORS))
    field = draw(_fields)
    if operator == "in":
        return C(field, operator, tuple(draw(st.lists(_values, min_size=1, max_size=5))))
    if operator == "between":
        return C(field, operator, (draw(_values), draw(_values)))
    return C(field, operator, draw(_values))


def _trees(max_leaves: int) -> st.SearchStrategy[Criteria]:
    return st.recursive(
        _conditions(),
        lambda children: st.builds(
            Group,
            st.sampled_from(("and", "or")),
            st.lists(children, min_size=2, max_size=3).map(tuple),
        ),
        max_leaves=max_leaves,
    )


@given(_conditions())
def test_escaping_round_trip(condition: Condition) -> None:
    assert parse_criteria(render_criteria(condition)) == condition


@given(_trees(max_leaves=MAX_CONDITIONS))
@settings(max_examples=200)
def test_tree_round_trip(criteria: Criteria) -> None:
    if sum(1 for _ in iter_conditions(criteria)) > MAX_CONDITIONS:
        with pytest.raises(CriteriaError):
            parse_criteria(render_criteria(criteria))
    else:
        assert parse_criteria(render_criteria(criteria)) == criteria


@given(_trees(max_leaves=15))
def test_v8_round_trip(criteria: Criteria) -> None:
    assert criteria_from_v8(criteria_to_v8(criteria)) == criteria


@given(st.text(alphabet=st.sampled_from("()\\,: aAnNdDoOrRFx_equals:in"), max_size=40))
def test_parser_only_raises_criteria_error(text: str) -> None:
    try:
        parsed = parse_criteria(text)
    except CriteriaError:
        return
    assert parse_criteria(render_criteria(parsed)) == parsed


# --- v8 criteria JSON --------------------------------------------------------------------------


def test_v8_condition_and_group() -> None:
    obj = {
        "group_operator": "and",
        "group": [
            {"comparator": "equal", "field": {"api_name": "Lead_Status"}, "value": "Contacted"},
            {
                "group_operator": "OR",
                "group": [
                    {
                        "comparator": "in",
                        "field": {"api_name": "Rating", "id": "1"},
                        "value": ["Hot", 3],
                    },
                    {"comparator": "between", "field": "Annual_Revenue", "value": [1.5, 10]},
                ],
            },
            {"comparator": "not_equal", "field": {"api_name": "Email_Opt_Out"}, "value": False},
        ],
    }
    assert criteria_from_v8(obj) == Group(
        "and",
        (
            C("Lead_Status", "equals", "Contacted"),
            Group(
                "or",
                (C("Rating", "in", ("Hot", "3")), C("Annual_Revenue", "between", ("1.5", "10"))),
            ),
            C("Email_Opt_Out", "not_equal", "false"),
        ),
    )


def test_v8_nullable_keys_and_single_item_group() -> None:
    obj = {
        "group_operator": "and",
        "group": [
            {
                "comparator": "greater_than",
                "field": {"api_name": "Amount", "id": "9"},
                "value": 100,
                "group_operator": None,
                "group": None,
            }
        ],
        "comparator": None,
        "field": None,
        "value": None,
    }
    assert criteria_from_v8(obj) == C("Amount", "greater_than", "100")


def test_v8_bool_true() -> None:
    obj = {"comparator": "equal", "field": {"api_name": "Flag"}, "value": True}
    assert criteria_from_v8(obj) == C("Flag", "equals", "true")


def test_criteria_to_v8_exact() -> None:
    criteria = Group("or", (C("Lead_Status", "equals", "Contacted"), C("Rating", "in", ("Hot",))))
    assert criteria_to_v8(criteria) == {
        "group_operator": "or",
        "group": [
            {"comparator": "equal", "field": {"api_name": "Lead_Status"}, "value": "Contacted"},
            {"comparator": "in", "field": {"api_name": "Rating"}, "value": ["Hot"]},
        ],
    }


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        ({"comparator": "contains", "field": {"api_name": "A"}, "value": "x"}, "'contains'"),
        ({"comparator": "like", "field": {"api_name": "A"}, "value": "x"}, "'like'"),
        ({"comparator": "not_in", "field": {"api_name": "A"}, "value": ["x"]}, "'not_in'"),
        ({"comparator": "equals", "field": {"api_name": "A"}, "value": "x"}, "'equals'"),
        ({"comparator": "equal", "field": {}, "value": "x"}, "api_name"),
        ({"comparator": "equal", "value": "x"}, "api_name"),
        ({"comparator": "equal", "field": {"api_name": "A"}}, "missing value"),
        ({"comparator": "equal", "field": {"api_name": "A"}, "value": ["x"]}, "not list"),
        ({"comparator": "equal", "field": {"api_name": "A"}, "value": {"id": "1"}}, "not dict"),
        ({"comparator": "equal", "field": {"api_name": "A"}, "value": ""}, "empty value"),
        ({"comparator": "in", "field": {"api_name": "A"}, "value": "x"}, "list value"),
        ({"comparator": "in", "field": {"api_name": "A"}, "value": []}, "1 to 100"),
        ({"comparator": "between", "field": {"api_name": "A"}, "value": [1]}, "exactly 2"),
        ({"group_operator": "xor", "group": [{}]}, "group_operator"),
        ({"group_operator": "and", "group": []}, "non-empty"),
        ({"group_operator": "and", "group": "x"}, "non-empty"),
        ({"group_operator": "and", "group": [1, 2]}, "JSON object"),
        ({}, "'comparator' or 'group'"),
        (
            {"comparator": "equal", "group_operator": "and", "group": [], "value": "x"},
            "both",
        ),
    ],
)
def test_v8_rejects(obj: dict[str, Any], fragment: str) -> None:
    with pytest.raises(CriteriaError) as info:
        criteria_from_v8(obj)
    assert fragment in info.value.reason
