"""Validation of wire values against field types (pure)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.metadata.model import Field, Module
from corral.records.keys import normalise, normalise_phone
from corral.records.validate import check_record, parse_record_id

TZ = ZoneInfo("Asia/Kolkata")


def _field(name: str, data_type: str, **kw: Any) -> Field:
    return Field(id=hash(name) % 10**6, module_id=1, api_name=name, label=name,
                 data_type=data_type, **kw)


MODULE = Module(id=1, api_name="Leads", singular_label="Lead", plural_label="Leads",
                scope_name="leads", dup_check_field="Email", generated_type="default",
                layout_id=2, sequence=1, fields=(
                    _field("Last_Name", "text", length=80, mandatory=True),
                    _field("Email", "email", unique=True),
                    _field("Phone", "phone"),
                    _field("Website", "website"),
                    _field("Count", "integer"),
                    _field("Big", "bigint"),
                    _field("Amount", "currency"),
                    _field("Rate", "percent"),
                    _field("Flag", "boolean"),
                    _field("Day", "date"),
                    _field("At", "datetime"),
                    _field("Status", "picklist", pick_list=("A", "B")),
                    _field("Tags", "multiselectpicklist", pick_list=("A", "B")),
                    _field("Account", "lookup", lookup_module="Accounts"),
                    _field("Owner", "ownerlookup"),
                    _field("Notes", "textarea", textarea_type="small"),
                    _field("Full_Name", "text", read_only=True),
                    _field("Created_Time", "datetime", read_only=True),
                ))


def check(record: dict[str, Any]) -> Any:
    return check_record(MODULE, record, 3, tz=TZ)


@pytest.mark.parametrize(("name", "value", "stored"), [
    ("Email", " p@zylker.com ", "p@zylker.com"),
    ("Phone", "+1 (555) 222-3333", "+1 (555) 222-3333"),
    ("Website", "https://www.zylker.com/a?b=1", "https://www.zylker.com/a?b=1"),
    ("Count", 123456789, 123456789),
    ("Big", "123456789012345678", 123456789012345678),
    ("Big", 415086800000100000, 415086800000100000),
    ("Amount", 12.5, 12.5),
    ("Rate", 99.5, 99.5),
    ("Flag", False, False),
    ("Day", "2024-02-29", "2024-02-29"),
    ("At", "2017-08-16T14:32:23+05:30", "2017-08-16T09:02:23+00:00"),
    ("At", "2017-08-16T14:32:23", "2017-08-16T09:02:23+00:00"),  # user's zone when no offset
    ("Status", "A", "A"),
    ("Status", "Not in list", "Not in list"),  # Zoho accepts new picklist values
    ("Status", "-None-", None),
    ("Tags", ["A", "B", "A"], ["A", "B"]),
    ("Account", {"id": "4876876000000001001"}, "4876876000000001001"),
    ("Account", 4876876000000001001, "4876876000000001001"),
    ("Owner", {"id": "4876876000000000004", "name": "x"}, "4876876000000000004"),
    ("Email", None, None),
    ("Email", "", None),
])
def test_valid_values_become_stored_values(name: str, value: Any, stored: Any) -> None:
    result = check({name: value})
    assert result.error is None
    assert result.values == {name: stored}


@pytest.mark.parametrize(("name", "value", "extra"), [
    ("Email", "not-an-email", {}),
    ("Email", 5, {"expected_data_type": "string"}),
    ("Phone", "call me", {}),
    ("Website", "not a url", {}),
    ("Count", "12", {"expected_data_type": "integer"}),
    ("Count", 1.5, {"expected_data_type": "integer"}),
    ("Count", True, {"expected_data_type": "integer"}),
    ("Count", 1234567890, {"maximum_length": 9}),
    ("Big", "12x", {"expected_data_type": "bigint"}),
    ("Big", 10**18, {"maximum_length": 18}),
    ("Amount", "12", {"expected_data_type": "double"}),
    ("Amount", 10.0**17, {"maximum_length": 16}),
    ("Rate", 123456.0, {"maximum_length": 5}),
    ("Flag", "true", {"expected_data_type": "boolean"}),
    ("Day", "2023-02-30", {"expected_data_type": "date"}),
    ("At", "yesterday", {"expected_data_type": "datetime"}),
    ("Tags", "A", {"expected_data_type": "jsonarray"}),
    ("Account", {"name": "no id"}, {"expected_data_type": "jsonobject"}),
    ("Account", "12ab", {"expected_data_type": "jsonobject"}),
    ("Last_Name", "x" * 81, {"maximum_length": 80}),
    ("Notes", "x" * 2001, {"maximum_length": 2000}),
    ("Full_Name", "Read Only", {}),
])
def test_invalid_values_are_invalid_data_with_path(name: str, value: Any,
                                                   extra: dict[str, Any]) -> None:
    err = check({name: value}).error
    assert err is not None and err.code == "INVALID_DATA"
    assert err.details == {**extra, "api_name": name, "json_path": f"$.data[3].{name}"}


def test_unknown_fields_and_system_fields_are_ignored() -> None:
    result = check({"Nope": 1, "Created_Time": "2020-01-01T00:00:00+00:00", "$foo": 1,
                    "id": "1", "Last_Name": "x"})
    assert result.error is None and result.values == {"Last_Name": "x"}


def test_append_values_flags() -> None:
    result = check({"Tags": ["A"], "$append_values": {"Tags": True, "Other": False}})
    assert result.append == frozenset({"Tags"})


def test_record_that_is_not_an_object() -> None:
    err = check_record(MODULE, ["x"], 0, tz=TZ).error
    assert err is not None and err.code == "INVALID_DATA"


@pytest.mark.parametrize(("raw", "expected"), [
    ("4876876000000001001", 4876876000000001001), (4150868000001000001, 4150868000001000001),
    ("12ab", None), (True, None), (-5, None), ("", None), (2**63, None), (1.5, None),
])
def test_record_ids_accept_numbers_and_digit_strings(raw: Any, expected: int | None) -> None:
    assert parse_record_id(raw) == expected


def test_phone_normalisation_matches_formatted_and_plain() -> None:
    assert normalise_phone("+1 (555) 222-3333") == normalise_phone("+15552223333")
    assert normalise_phone("555-222-3333") != normalise_phone("+15552223333")


@given(st.emails())
def test_email_keys_ignore_case_and_surrounding_space(email: str) -> None:
    f = MODULE.by_name["Email"]
    assert normalise(f, f"  {email.upper()} ") == normalise(f, email)


def _reference_ok(text: str) -> bool:
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@given(st.one_of(st.emails(),
                 st.from_regex(r"[a-z0-9.+_-]{0,70}@[a-z0-9.-]{0,70}", fullmatch=True)))
def test_email_fast_path_agrees_with_email_validator(text: str) -> None:
    from corral.records.validate import email_ok

    assert email_ok(text) == _reference_ok(text)
