"""Module and field definitions as frozen values, plus the rules that follow from a field's type."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

# data_type -> json_type, as Zoho's field metadata reports it.
JSON_TYPES: dict[str, str] = {
    "text": "string", "textarea": "string", "email": "string", "phone": "string",
    "website": "string", "picklist": "string", "date": "string", "datetime": "string",
    "integer": "integer", "bigint": "string", "double": "double", "currency": "double",
    "percent": "double", "decimal": "double", "boolean": "boolean",
    "multiselectpicklist": "jsonarray", "lookup": "jsonobject", "ownerlookup": "jsonobject",
    "subform": "jsonarray",
}
DATA_TYPES = frozenset(JSON_TYPES)
# Only Single Line, Email, Phone, Number, Long Integer and URL fields can be unique (Kaizen #56).
UNIQUE_ELIGIBLE = frozenset({"text", "email", "phone", "integer", "bigint", "website"})
DEFAULT_LENGTHS: dict[str, int] = {
    "text": 255, "email": 100, "phone": 30, "website": 255, "picklist": 120,
    "multiselectpicklist": 2000, "integer": 9, "bigint": 18, "double": 16, "currency": 16,
    "decimal": 16, "percent": 5, "lookup": 120, "ownerlookup": 120,
    # Zoho's field metadata gives every field a length, these too (v7 field-meta sample:
    # Created_Time 120, Email_Opt_Out 5); values are never checked against them.
    "datetime": 120, "boolean": 5, "date": 20,
}
# data_type -> `ui_type` of Zoho's field metadata, as its v7 field-meta sample shows them.
UI_TYPES: dict[str, int] = {
    "text": 1, "textarea": 3, "email": 25, "phone": 33, "website": 21, "picklist": 2,
    "multiselectpicklist": 100, "integer": 32, "bigint": 52, "double": 38, "decimal": 38,
    "currency": 36, "percent": 34, "boolean": 301, "date": 24, "datetime": 333, "lookup": 133,
    "ownerlookup": 8, "subform": 500,
}
# Standard fields whose ui_type in that sample differs from their data type's.
STANDARD_UI_TYPES: dict[str, int] = {
    "Created_By": 20, "Modified_By": 20, "Created_Time": 200, "Modified_Time": 200,
    "Last_Activity_Time": 786, "First_Name": 27, "Last_Name": 127, "Fax": 35, "Skype_ID": 37,
    "Twitter": 22,
}
# Fields kept in record columns rather than in the JSON document.
COLUMN_FIELDS: dict[str, str] = {
    "Owner": "owner_id", "Created_By": "created_by", "Modified_By": "modified_by",
    "Created_Time": "created_time", "Modified_Time": "modified_time",
}
# Per Zoho, these cannot be changed by mass update (facts §5).
_NO_MASS_UPDATE_TYPES = frozenset({"email", "lookup", "ownerlookup", "textarea", "subform"})


@dataclass(frozen=True)
class Field:
    """A field's definition. What follows from it (`column`, `system`, `case_insensitive` ...)
    is computed once per Field: the write path asks for every value of every record."""

    id: int
    module_id: int
    api_name: str
    label: str
    data_type: str
    length: int | None = None
    mandatory: bool = False
    read_only: bool = False
    unique: bool = False
    custom: bool = False
    pick_list: tuple[str, ...] = ()
    lookup_module: str | None = None
    textarea_type: str | None = None
    mass_update_flag: bool | None = None
    sequence: int = 0
    # Lead conversion: (target module api_name, target field api_name) pairs.
    convert_mapping: tuple[tuple[str, str], ...] = ()

    @cached_property
    def json_type(self) -> str:
        return JSON_TYPES[self.data_type]

    @cached_property
    def column(self) -> str | None:
        return COLUMN_FIELDS.get(self.api_name)

    @cached_property
    def system(self) -> bool:
        """Audit fields the server maintains; writes to them are ignored, as Zoho does."""
        return self.api_name in COLUMN_FIELDS and self.api_name != "Owner"

    @cached_property
    def max_length(self) -> int | None:
        if self.length is not None:
            return self.length
        if self.data_type == "textarea":
            return 32000 if self.textarea_type == "large" else 2000
        return DEFAULT_LENGTHS.get(self.data_type)

    @property
    def ui_type(self) -> int:
        if not self.custom and self.api_name in STANDARD_UI_TYPES:
            return STANDARD_UI_TYPES[self.api_name]
        if self.data_type == "textarea" and self.textarea_type == "small":
            return 110
        return UI_TYPES[self.data_type]

    @cached_property
    def unique_eligible(self) -> bool:
        return self.data_type in UNIQUE_ELIGIBLE and not self.read_only and self.column is None

    @cached_property
    def case_insensitive(self) -> bool:
        return self.data_type in {"text", "email", "website"}

    @property
    def mass_update(self) -> bool:
        if self.mass_update_flag is not None:
            return self.mass_update_flag
        return not (self.read_only or self.system or self.data_type in _NO_MASS_UPDATE_TYPES)


@dataclass(frozen=True)
class Module:
    id: int
    api_name: str
    singular_label: str
    plural_label: str
    scope_name: str
    dup_check_field: str | None
    generated_type: str
    layout_id: int
    sequence: int
    fields: tuple[Field, ...] = field(default=())

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.api_name: f for f in self.fields}

    def field(self, api_name: str) -> Field | None:
        return self.by_name.get(api_name)

    @cached_property
    def display_field(self) -> str:
        """The field whose value names a record in lookups ({"name": ..., "id": ...})."""
        for candidate in ("Full_Name", "Name"):
            if candidate in self.by_name:
                return candidate
        if self.dup_check_field:
            return self.dup_check_field
        for f in self.fields:
            if f.mandatory and f.data_type == "text":
                return f.api_name
        return "id"

    @cached_property
    def key_fields(self) -> tuple[Field, ...]:
        """Fields whose normalised values are kept in record_keys: dup-check field + unique ones."""
        return tuple(f for f in self.fields
                     if f.unique or f.api_name == self.dup_check_field)

    @cached_property
    def unique_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.unique)

    @cached_property
    def mandatory_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.mandatory)
