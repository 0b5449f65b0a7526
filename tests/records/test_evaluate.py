"""In-memory criteria evaluation agrees with the SQL compiled for custom views."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from corral.metadata.model import Field, Module
from corral.records.criteria import parse_criteria
from corral.records.evaluate import matches

UTC = ZoneInfo("UTC")
MODULE = Module(id=1, api_name="Leads", singular_label="Lead", plural_label="Leads",
                scope_name="leads", dup_check_field="Email", generated_type="default",
                layout_id=2, sequence=1, fields=(
                    Field(id=1, module_id=1, api_name="City", label="City", data_type="text"),
                    Field(id=2, module_id=1, api_name="N", label="N", data_type="integer"),
                    Field(id=3, module_id=1, api_name="Tags", label="Tags",
                          data_type="multiselectpicklist"),
                    Field(id=4, module_id=1, api_name="Ok", label="Ok", data_type="boolean"),
                    Field(id=5, module_id=1, api_name="Owner", label="Owner",
                          data_type="ownerlookup"),
                    Field(id=6, module_id=1, api_name="Created_Time", label="Created",
                          data_type="datetime", read_only=True),
                ))
REC = SimpleNamespace(id=7, owner_id=42, created_time=datetime(2024, 2, 1, 10, 0),
                      data={"City": "Pune", "N": 5, "Tags": ["A", "B"], "Ok": True})


@pytest.mark.parametrize(("criteria", "expected"), [
    ("(City:equals:pune)", True), ("(City:equals:Pun)", False),
    ("(City:starts_with:pu)", True), ("(City:in:Delhi,PUNE)", True),
    ("(City:not_equal:Pune)", False), ("(N:greater_than:4)", True),
    ("(N:between:6,9)", False), ("(Tags:equals:b)", True), ("(Tags:not_equal:C)", True),
    ("(Ok:equals:true)", True), ("(Owner:equals:42)", True),
    ("(Created_Time:greater_than:2024-02-01T15:00:00+05:30)", True),
    ("((City:equals:Pune)and(N:less_than:5))", False),
    ("((City:equals:Delhi)or(N:less_equal:5))", True),
    ("(Missing:equals:x)", False), ("(Missing:not_equal:x)", True),
])
def test_matches(criteria: str, expected: bool) -> None:
    assert matches(MODULE, parse_criteria(criteria), REC, tz=UTC) is expected
