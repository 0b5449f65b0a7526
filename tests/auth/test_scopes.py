"""Zoho OAuth scopes (pure): parsing, what a granted scope covers, and bad scope strings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.auth.scopes import (
    ALL_SCOPES,
    Scope,
    ScopeError,
    allows,
    canonical_scopes,
    covers,
    parse_scope,
    parse_scopes,
)


def grants(granted: str, required: str) -> bool:
    return allows(parse_scopes(granted), required)


# ----------------------------------------------------------------------------- parsing
def test_parse_splits_service_names_and_operation() -> None:
    assert parse_scope("ZohoCRM.modules.leads.CREATE") == Scope("zohocrm", ("modules", "leads"),
                                                                "CREATE")
    assert parse_scope("  ZohoCRM.settings.ALL ") == Scope("zohocrm", ("settings",), "ALL")


def test_parse_scopes_accepts_comma_and_space_separated_lists() -> None:
    # The token endpoint gets scopes space separated (form), the CLI comma separated.
    expected = (parse_scope("ZohoCRM.modules.ALL"), parse_scope("ZohoCRM.users.READ"))
    assert parse_scopes("ZohoCRM.modules.ALL,ZohoCRM.users.READ") == expected
    assert parse_scopes("ZohoCRM.modules.ALL ZohoCRM.users.READ") == expected
    assert parse_scopes("ZohoCRM.modules.ALL, ZohoCRM.users.READ,") == expected
    assert parse_scopes(["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"]) == expected


def test_every_default_scope_parses() -> None:
    assert len(parse_scopes(ALL_SCOPES)) == len(ALL_SCOPES)


@pytest.mark.parametrize("text", [
    "", "ZohoCRM", "ZohoCRM.ALL", "ZohoCRM.modules", "ZohoCRM.modules.FETCH",
    "ZohoCRM..ALL", ".modules.ALL", "ZohoCRM.modules.", "ZohoCRM.modules.leads.READS",
])
def test_bad_scope_strings_raise_scope_error(text: str) -> None:
    with pytest.raises(ScopeError):
        parse_scope(text)


def test_scope_error_is_a_value_error() -> None:
    # Callers that only know ValueError (CLI argument parsing) still catch it.
    assert issubclass(ScopeError, ValueError)


@pytest.mark.parametrize("text", ["", " , ", ["  "], "ZohoCRM.modules.ALL,ZohoCRM.bogus"])
def test_canonical_scopes_refuses_empty_or_bad_lists(text: str | list[str]) -> None:
    with pytest.raises(ScopeError):
        canonical_scopes(text)


def test_canonical_scopes_keeps_the_given_spelling_comma_joined() -> None:
    assert (canonical_scopes(" ZohoCRM.modules.ALL  ZohoCRM.users.READ ")
            == "ZohoCRM.modules.ALL,ZohoCRM.users.READ")


def test_allows_with_a_malformed_requirement_raises() -> None:
    # A typo in a route's required scope must fail loudly, never silently grant or deny.
    with pytest.raises(ScopeError):
        allows(parse_scopes("ZohoCRM.modules.ALL"), "ZohoCRM.modules")


# ----------------------------------------------------------------------------- operations
@pytest.mark.parametrize("op", ["READ", "CREATE", "UPDATE", "DELETE", "WRITE", "CUSTOM", "ALL"])
def test_all_covers_every_operation(op: str) -> None:
    assert grants("ZohoCRM.modules.leads.ALL", f"ZohoCRM.modules.leads.{op}")


@pytest.mark.parametrize("op", ["CREATE", "UPDATE", "DELETE"])
def test_write_covers_create_update_delete(op: str) -> None:
    assert grants("ZohoCRM.modules.leads.WRITE", f"ZohoCRM.modules.leads.{op}")


@pytest.mark.parametrize("op", ["READ", "ALL", "CUSTOM"])
def test_write_does_not_cover_read_all_or_custom(op: str) -> None:
    assert not grants("ZohoCRM.modules.leads.WRITE", f"ZohoCRM.modules.leads.{op}")


@pytest.mark.parametrize("granted,required", [
    ("READ", "CREATE"), ("READ", "UPDATE"), ("READ", "DELETE"), ("READ", "WRITE"),
    ("CREATE", "READ"), ("CREATE", "UPDATE"), ("UPDATE", "DELETE"), ("DELETE", "CREATE"),
    ("CREATE", "WRITE"), ("READ", "ALL"),
])
def test_narrow_operations_cover_only_themselves(granted: str, required: str) -> None:
    assert grants(f"ZohoCRM.modules.leads.{granted}", f"ZohoCRM.modules.leads.{required}") is False
    assert grants(f"ZohoCRM.modules.leads.{granted}", f"ZohoCRM.modules.leads.{granted}")


# ----------------------------------------------------------------------------- names (prefix rule)
def test_module_wide_scope_covers_each_module() -> None:
    assert grants("ZohoCRM.modules.ALL", "ZohoCRM.modules.leads.CREATE")
    assert grants("ZohoCRM.modules.ALL", "ZohoCRM.modules.custom.DELETE")
    assert grants("ZohoCRM.modules.READ", "ZohoCRM.modules.contacts.READ")
    assert not grants("ZohoCRM.modules.READ", "ZohoCRM.modules.contacts.CREATE")
    assert grants("ZohoCRM.modules.WRITE", "ZohoCRM.modules.deals.UPDATE")


def test_one_module_does_not_cover_another() -> None:
    assert not grants("ZohoCRM.modules.contacts.ALL", "ZohoCRM.modules.leads.READ")
    assert not grants("ZohoCRM.modules.lead.ALL", "ZohoCRM.modules.leads.READ")
    assert not grants("ZohoCRM.modules.leadsx.ALL", "ZohoCRM.modules.leads.READ")


def test_a_narrow_grant_does_not_cover_a_wider_requirement() -> None:
    assert not grants("ZohoCRM.modules.leads.ALL", "ZohoCRM.modules.ALL")
    assert not grants("ZohoCRM.modules.leads.READ", "ZohoCRM.modules.READ")


def test_settings_scopes() -> None:
    assert grants("ZohoCRM.settings.ALL", "ZohoCRM.settings.fields.READ")
    assert grants("ZohoCRM.settings.ALL", "ZohoCRM.settings.fields.CREATE")
    assert grants("ZohoCRM.settings.fields.ALL", "ZohoCRM.settings.fields.CREATE")
    assert grants("ZohoCRM.settings.fields.READ", "ZohoCRM.settings.fields.READ")
    assert not grants("ZohoCRM.settings.fields.READ", "ZohoCRM.settings.fields.CREATE")
    assert not grants("ZohoCRM.settings.fields.READ", "ZohoCRM.settings.modules.READ")
    assert not grants("ZohoCRM.settings.fields.ALL", "ZohoCRM.settings.ALL")


def test_services_and_areas_are_kept_apart() -> None:
    assert not grants("ZohoCRM.modules.ALL", "ZohoCRM.settings.fields.READ")
    assert not grants("ZohoCRM.settings.ALL", "ZohoCRM.modules.leads.READ")
    assert not grants("ZohoCRM.users.ALL", "ZohoCRM.org.READ")
    assert not grants("ZohoSearch.securesearch.READ", "ZohoCRM.coql.READ")
    assert not grants("ZohoCRM.securesearch.READ", "ZohoSearch.securesearch.READ")
    assert grants("ZohoSearch.securesearch.READ", "ZohoSearch.securesearch.READ")


def test_case_of_service_and_names_does_not_matter() -> None:
    # Zoho documents the module part in lower case; clients send `Leads` as well.
    assert grants("ZohoCRM.modules.Leads.ALL", "ZohoCRM.modules.leads.READ")
    assert grants("ZohoCRM.modules.leads.ALL", "ZohoCRM.modules.LEADS.READ")
    assert grants("zohocrm.Modules.ALL", "ZohoCRM.modules.leads.READ")
    assert grants("ZohoCRM.modules.leads.read", "ZohoCRM.modules.leads.READ")


def test_allows_takes_alternatives() -> None:
    granted = parse_scopes("ZohoCRM.modules.price_books.READ")
    assert allows(granted, "ZohoCRM.modules.pricebooks.READ", "ZohoCRM.modules.price_books.READ")
    assert not allows(granted, "ZohoCRM.modules.pricebooks.READ")
    assert not allows((), "ZohoCRM.modules.leads.READ")


def test_str_round_trips() -> None:
    s = parse_scope("ZohoCRM.settings.fields.READ")
    assert str(s) == "zohocrm.settings.fields.READ"
    assert parse_scope(str(s)) == s


# ----------------------------------------------------------------------------- properties
_NAME = st.sampled_from(["modules", "settings", "leads", "contacts", "fields", "custom"])
_OPS = ["ALL", "READ", "CREATE", "UPDATE", "DELETE", "WRITE", "CUSTOM"]
_SCOPES = st.builds(Scope, st.sampled_from(["zohocrm", "zohosearch"]),
                    st.lists(_NAME, min_size=1, max_size=3).map(tuple), st.sampled_from(_OPS))


def _recase(text: str, flips: list[bool]) -> str:
    return "".join(c.upper() if i < len(flips) and flips[i] else c.lower()
                   for i, c in enumerate(text))


@given(_SCOPES)
def test_every_scope_covers_itself_and_all_covers_it(s: Scope) -> None:
    assert covers(s, s)
    assert covers(Scope(s.service, s.names[:1], "ALL"), s)


@given(_SCOPES, _SCOPES, _SCOPES)
def test_covers_is_transitive(a: Scope, b: Scope, c: Scope) -> None:
    if covers(a, b) and covers(b, c):
        assert covers(a, c)


@given(_SCOPES, _SCOPES)
def test_widening_a_grant_never_loses_coverage(g: Scope, r: Scope) -> None:
    """Dropping trailing names from a grant, or raising its operation to ALL, keeps coverage."""
    if covers(g, r):
        for n in range(1, len(g.names) + 1):
            assert covers(Scope(g.service, g.names[:n], g.operation), r)
        assert covers(Scope(g.service, g.names, "ALL"), r)


@given(_SCOPES, _SCOPES)
def test_only_all_covers_a_different_operation_except_write(g: Scope, r: Scope) -> None:
    if covers(g, r) and g.operation != r.operation:
        assert g.operation == "ALL" or (g.operation == "WRITE"
                                         and r.operation in {"CREATE", "UPDATE", "DELETE"})


@given(_SCOPES, _SCOPES, st.lists(st.booleans(), max_size=60),
       st.lists(st.booleans(), max_size=60))
def test_covering_ignores_letter_case(g: Scope, r: Scope, f1: list[bool],
                                      f2: list[bool]) -> None:
    assert (allows([parse_scope(_recase(str(g), f1))], _recase(str(r), f2))
            == covers(g, r))
