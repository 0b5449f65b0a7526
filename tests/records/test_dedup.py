"""The upsert check order of Kaizen #56's table (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from corral.errors import InvalidData, NotSupported
from corral.metadata.model import Field, Module
from corral.records.dedup import check_order


def _module(*, system: str | None = "Email", system_unique: bool = True) -> Module:
    fields = [
        Field(id=1, module_id=9, api_name="Last_Name", label="Last Name", data_type="text",
              mandatory=True),
        Field(id=2, module_id=9, api_name="unique1", label="u1", data_type="text", unique=True),
        Field(id=3, module_id=9, api_name="unique2", label="u2", data_type="text", unique=True),
    ]
    if system:
        fields.insert(1, Field(id=4, module_id=9, api_name=system, label=system,
                               data_type="email", unique=system_unique))
    return Module(id=9, api_name="Leads", singular_label="Lead", plural_label="Leads",
                  scope_name="leads", dup_check_field=system, generated_type="default",
                  layout_id=1, sequence=1, fields=tuple(fields))


@pytest.mark.parametrize(("given_fields", "expected"), [
    (["unique1"], ["unique1", "unique2"]),
    (["unique2"], ["unique2", "unique1"]),
    (["unique1", "unique2"], ["unique1", "unique2"]),
    (["Email"], ["Email", "unique1", "unique2"]),
    (None, ["Email", "unique1", "unique2"]),
])
def test_order_table_of_the_seeds(given_fields: list[str] | None, expected: list[str]) -> None:
    assert [f.api_name for f in check_order(_module(), given_fields)] == expected


def test_system_field_not_flagged_unique_keeps_its_role() -> None:
    order = check_order(_module(system_unique=False), None)
    assert [f.api_name for f in order] == ["Email", "unique1", "unique2"]


@pytest.mark.parametrize("bad", [["Last_Name"], ["unique1", "Nope"], [3], "Email"])
def test_only_duplicate_check_and_unique_fields_may_be_listed(bad: object) -> None:
    with pytest.raises(InvalidData) as exc:
        check_order(_module(), bad)
    if isinstance(bad, list):
        index = next(i for i, x in enumerate(bad) if x not in ("unique1", "unique2", "Email"))
        assert exc.value.details["json_path"] == f"$.duplicate_check_fields[{index}]"


def test_module_without_any_check_field_is_not_supported() -> None:
    with pytest.raises(NotSupported):
        check_order(_module(system=None).__class__(**{
            **_module(system=None).__dict__,
            "fields": (_module(system=None).fields[0],)}), None)


@given(st.lists(st.sampled_from(["Email", "unique1", "unique2"]), max_size=5))
def test_listed_first_in_order_then_remaining_unique_fields(listed: list[str]) -> None:
    order = [f.api_name for f in check_order(_module(), listed)]
    distinct = list(dict.fromkeys(listed))
    assert order[:len(distinct)] == distinct
    assert set(order[len(distinct):]) == {"unique1", "unique2"} - set(distinct)
    assert ("Email" in order) == ("Email" in listed)
