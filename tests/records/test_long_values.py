"""Every LIKE Corral builds stays within SQLite's pattern limit, whatever the value holds.

SQLite refuses LIKE patterns over 50,000 bytes. Search caps values at 255 characters, but custom
views and internal callers build conditions without that cap; RecordQuery refuses values over
MAX_LIKE_VALUE and everything up to it must run, on SQLite and PostgreSQL, with the characters
that grow most once escaped (4-byte UTF-8, JSON surrogate pairs, LIKE wildcards).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from corral.errors import InvalidQuery
from corral.records import criteria as cr
from corral.records.query import MAX_LIKE_VALUE, Filters
from corral.records.service import WriteContext
from corral.services import Corral
from tests.conftest import make_token

UTC = ZoneInfo("UTC")
WORST = ("\U0001f600", "%", "_", "/", '"')
# module, field, operator, mode: every place a condition turns into LIKE
LIKES = [
    ("Leads", "Description", "equals", "search"),  # contains
    ("Leads", "Description", "starts_with", "search"),
    ("Leads", "Description", "starts_with", "view"),
    ("Leads", "Last_Name", "in", "search"),
    ("Products", "Tax", "equals", "search"),  # multi-select: JSON literal inside the array text
    ("Products", "Tax", "starts_with", "view"),
]


@pytest.fixture(autouse=True)
def _rows(corral: Corral) -> None:
    """One row per module: SQLite checks a pattern only when it compares it with a row."""
    principal = corral.auth.authenticate(f"Zoho-oauthtoken {make_token(corral)}")
    for name, record in (("Leads", {"Last_Name": "Daly", "Description": "x"}),
                         ("Products", {"Product_Name": "Widget", "Tax": ["Vat"]})):
        (outcome,) = corral.records.insert(corral.registry.require(name), [record],
                                           WriteContext(principal))
        assert outcome.error is None, outcome.error.details


def _run(corral: Corral, module_name: str, cond: object) -> int:
    q = corral.query
    mod = corral.registry.require(module_name)
    return q.count([*q.base_where(mod, Filters()), cond])


@pytest.mark.parametrize("char", WORST)
@pytest.mark.parametrize(("module_name", "field", "op", "mode"), LIKES)
def test_conditions_up_to_the_limit_run(corral: Corral, module_name: str, field: str, op: str,
                                        mode: str, char: str) -> None:
    value = char * MAX_LIKE_VALUE
    mod = corral.registry.require(module_name)
    condition = cr.Condition(field, op, (value,) if op == "in" else value)
    assert _run(corral, module_name, corral.query.compile(mod, condition, tz=UTC,
                                                          mode=mode)) == 0
    longer = cr.Condition(field, op, (value + char,) if op == "in" else value + char)
    with pytest.raises(InvalidQuery) as info:
        corral.query.compile(mod, longer, tz=UTC, mode=mode)
    assert info.value.details["maximum_length"] == MAX_LIKE_VALUE


@pytest.mark.parametrize("char", WORST)
@pytest.mark.parametrize("kind", ["word", "phone", "email"])
def test_word_phone_email_up_to_the_limit_run(corral: Corral, kind: str, char: str) -> None:
    mod = corral.registry.require("Leads")
    value = char * MAX_LIKE_VALUE
    assert _run(corral, "Leads", corral.query.special_where(mod, **{kind: value})) == 0
    with pytest.raises(InvalidQuery):
        corral.query.special_where(mod, **{kind: value + char})
