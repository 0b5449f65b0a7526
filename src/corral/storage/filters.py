"""Which records to select, as plain values: the neutral query the services build and storage
compiles to SQL.

`records/query.py` builds these from Zoho search criteria, custom views and base filters, and
`records/coql.py` from COQL (which adds a `Selection`: outputs, lookup paths, aggregates, order);
`storage/repositories/record_search.py` is the only code that turns them into SQL. Nothing here
knows SQLAlchemy, so the nodes can be built, compared, hashed and printed anywhere.

A filter is a tree: `And`/`Or`/`Not` over `Cond` leaves (one operand, one operator, its values),
`InTerritories`, the index narrowings `HasKey` and `TextMatch`, and the constants
`Always`/`Never`. `Not` follows SQL's three-valued logic: where
an operand is NULL (a missing JSON key) the condition is unknown and so is its negation, and the
record is not selected either way; `Op.NE` is the operator that also selects NULL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal, TypeAlias, cast, get_args

ColumnName = Literal["id", "module_id", "owner_id", "created_by", "modified_by",
                     "created_time", "modified_time", "deleted_time", "deleted_by",
                     "converted", "approval_state"]
COLUMN_NAMES: frozenset[str] = frozenset(get_args(ColumnName))

# How a JSON value of `data` is read for comparison: its text (strings, dates, datetimes, lookup
# ids; an array or object reads as its JSON text), a float (numbers), a 64-bit integer compared
# exactly (bigint fields, stored as strings of up to 18 digits), or a boolean.
JsonKind = Literal["text", "float", "bigint", "boolean"]

Value: TypeAlias = str | int | float | bool | datetime  # datetimes are naive UTC


@dataclass(frozen=True)
class Column:
    """A column of the records table."""

    name: ColumnName

    def __post_init__(self) -> None:
        if self.name not in COLUMN_NAMES:
            raise ValueError(f"not a record column: {self.name!r}")


@dataclass(frozen=True)
class JsonField:
    """The value under `key` in a record's `data`; a missing key or JSON null reads as NULL."""

    key: str
    kind: JsonKind = "text"


UserAttrName = Literal["email", "first_name", "last_name"]


@dataclass(frozen=True)
class Related:
    """`target` read on the live record whose id the lookup `via` holds (a COQL lookup path
    such as `Account_Name.Account_Name`); NULL when the lookup is empty or its record is gone."""

    via: JsonField | Related
    target: Column | JsonField


@dataclass(frozen=True)
class UserAttr:
    """An attribute of the user whose id `via` holds (`Owner.email`); NULL when none."""

    via: Column | JsonField | Related
    name: UserAttrName


Operand: TypeAlias = Column | JsonField | Related | UserAttr


class Op(Enum):
    """Comparison operators. Those starting with I_ compare case-insensitively: lower() on both
    sides, done by the database (SQLite folds ASCII letters only). Pattern operators (starts
    with, contains, the HAS_ITEM pair) match their value literally: `%`, `_` and the escape
    character are escaped. STARTS_WITH and HAS_ITEM* are SQL LIKE, which SQLite runs ignoring
    ASCII case and PostgreSQL runs case-sensitively. A comparison with a boolean value is an
    identity test (IS / IS NOT)."""

    EQ = "eq"
    NE = "ne"  # not equal, or NULL (Zoho's not_equal)
    IN = "in"  # equal to one of the values
    NOT_IN = "not_in"  # plain SQL NOT IN: NULL is not selected
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    BETWEEN = "between"  # two values, both ends included
    STARTS_WITH = "starts_with"
    I_EQ = "i_eq"
    I_IN = "i_in"
    I_STARTS_WITH = "i_starts_with"
    I_CONTAINS = "i_contains"
    I_ENDS_WITH = "i_ends_with"
    # A JSON array of strings (multi-select picklist) holds one of the values as a whole item /
    # holds an item starting with the value. Matched in the array's JSON text, so the storage
    # layer, which knows how values are serialised, builds the string literals.
    HAS_ITEM = "has_item"
    HAS_ITEM_PREFIX = "has_item_prefix"
    IS_NULL = "is_null"
    IS_NOT_NULL = "is_not_null"


_NO_VALUE = frozenset({Op.IS_NULL, Op.IS_NOT_NULL})
_MANY_VALUES = frozenset({Op.IN, Op.NOT_IN, Op.I_IN, Op.HAS_ITEM})
_TEXT_VALUES = frozenset({Op.STARTS_WITH, Op.I_EQ, Op.I_IN, Op.I_STARTS_WITH, Op.I_CONTAINS,
                          Op.I_ENDS_WITH, Op.HAS_ITEM, Op.HAS_ITEM_PREFIX})


@dataclass(frozen=True)
class Cond:
    """`operand op values`: no value for IS_NULL / IS_NOT_NULL, two for BETWEEN, one or more for
    IN, NOT_IN, I_IN and HAS_ITEM, exactly one otherwise. Text operators take strings."""

    operand: Operand
    op: Op
    values: tuple[Value, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.values)
        if self.op in _NO_VALUE:
            ok = n == 0
        elif self.op is Op.BETWEEN:
            ok = n == 2
        elif self.op in _MANY_VALUES:
            ok = n >= 1
        else:
            ok = n == 1
        if not ok:
            raise ValueError(f"{self.op.value} takes another number of values than {n}")
        if self.op in _TEXT_VALUES and not all(isinstance(v, str) for v in self.values):
            raise ValueError(f"{self.op.value} compares text: {self.values!r}")


@dataclass(frozen=True)
class InTerritories:
    """The record is assigned to one of these territories (children are not implied)."""

    territory_ids: frozenset[int]


@dataclass(frozen=True)
class HasKey:
    """The record holds one of these normalised keys (`records/keys.py`) of a duplicate-check
    or unique field: a lookup in `record_keys` by its primary key. A narrowing for the index,
    not a comparison of its own: callers pair it with the exact condition."""

    field_id: int
    keys: frozenset[str]


@dataclass(frozen=True)
class IndexedText:
    """A text field kept in a module's text index: its id (names the index column) and its
    api_name (the key of `data` the index reads)."""

    field_id: int
    key: str


@dataclass(frozen=True)
class TextMatch:
    """A record of `module_id` whose value of one of `fields` contains `text`, ignoring case,
    looked up in the module's text index (`storage/repositories/text_index.py`). A narrowing
    for the index, not a comparison of its own: callers pair it with the exact condition
    (`Op.I_CONTAINS`), and the index may select more (it folds more than ASCII case) or, for
    text too short to index, every record."""

    module_id: int
    fields: tuple[IndexedText, ...]
    text: str
    index: tuple[IndexedText, ...] = ()  # every field the module's index covers


@dataclass(frozen=True)
class Always:
    """Every record."""


@dataclass(frozen=True)
class Never:
    """No record."""


@dataclass(frozen=True)
class And:
    """All parts hold; no parts: every record."""

    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    """At least one part holds; no parts: no record."""

    parts: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    """The part does not hold (unknown stays unknown, see the module docstring)."""

    part: Filter


Filter: TypeAlias = (And | Or | Not | Cond | InTerritories | HasKey | TextMatch | Always
                     | Never)


def column(name: str) -> Column:
    """The record column `name` (a `ValueError` for anything else): for names read from data."""
    return Column(cast(ColumnName, name))  # Column checks the name


# ----------------------------------------------------------------------------- selections
AggregateName = Literal["count", "sum", "min", "max", "avg"]


@dataclass(frozen=True)
class Aggregate:
    """`func` over the operand's non-NULL values of each group (COUNT counts them)."""

    func: AggregateName
    operand: Operand


Output: TypeAlias = Operand | Aggregate


@dataclass(frozen=True)
class Sort:
    """One ORDER BY key. NULLs sort first ascending and last descending on both databases."""

    key: Output
    descending: bool = False


@dataclass(frozen=True)
class Selection:
    """Values read from the records `where` selects (COQL): one row per record, or per group
    of equal `group_by` values when grouped or aggregated; `order` then the record id (for
    ungrouped rows) makes the order total; `offset`/`limit` cut one page."""

    where: Filter
    outputs: tuple[Output, ...]
    order: tuple[Sort, ...] = ()
    group_by: tuple[Operand, ...] = ()
    offset: int = 0
    limit: int = 200

    @property
    def grouped(self) -> bool:
        return bool(self.group_by) or any(isinstance(o, Aggregate) for o in self.outputs)
