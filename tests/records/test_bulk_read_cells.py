"""Bulk Read cells (pure): how each kind of stored value is written into the result CSV."""

from __future__ import annotations

from datetime import datetime

from corral.records.bulk_read import column_reader
from corral.storage.repositories.records import StoredRecord


def test_each_kind_of_value_as_a_cell() -> None:
    rec = StoredRecord(
        id=7, module_id=1, owner_id=11, created_by=12, modified_by=13,
        created_time=datetime(2026, 1, 2, 3, 4, 5, 678), modified_time=datetime(2026, 2, 1),
        data={"Last_Name": "Ames", "Tags": [{"name": "a"}, {"id": "9"}, "c"],
              "Account_Name": {"id": "42", "name": "Zylker"}, "Opt": True, "No": False,
              "Score": 3, "Odd": {"x": 1}, "Empty": None})
    cells = {name: column_reader(name)(rec) for name in (
        "Id", "Owner", "Created_By", "Modified_By", "Created_Time", "Modified_Time",
        "Last_Name", "Tags", "Account_Name", "Opt", "No", "Score", "Odd", "Empty", "Missing")}
    assert cells == {
        "Id": 7, "Owner": 11, "Created_By": 12, "Modified_By": 13,
        "Created_Time": "2026-01-02T03:04:05+00:00",
        "Modified_Time": "2026-02-01T00:00:00+00:00", "Last_Name": "Ames", "Tags": "a;9;c",
        "Account_Name": "42", "Opt": "true", "No": "false", "Score": 3, "Odd": '{"x":1}',
        "Empty": None, "Missing": None}
