"""The neutral filter compiler and RecordSearch, on SQLite and PostgreSQL.

Every test asserts which records come back, never the SQL text: the same filter must select the
same records on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Database
from corral.storage.filters import (
    Always,
    And,
    Column,
    Cond,
    Filter,
    InTerritories,
    JsonField,
    Never,
    Not,
    Op,
    Or,
    column,
)
from corral.storage.repositories.record_search import RecordSearch
from corral.storage.repositories.records import RecordRepository, StoredRecord

MODULE = 77  # no seeded module uses it; every query below is limited to it
OTHER_MODULE = 78
T0 = datetime(2024, 1, 10, 12, 0, 0)

# name -> data; ids are assigned in this order, so id order is this order.
ROWS: dict[str, dict[str, Any]] = {
    "pct": {"Name": "100%_Pure", "Num": 1.5, "Big": "100000000000000001", "Flag": True,
            "Tags": ["Vat", "Ünï \"x\""], "Day": "2024-01-02"},
    "plain": {"Name": "100 Pure", "Num": 10, "Big": "100000000000000002", "Flag": False,
              "Tags": ["Vat2", "%_"], "Day": "2024-02-01"},
    "under": {"Name": "a_b", "Num": -3},
    "axb": {"Name": "axb"},
    "back": {"Name": "Back\\slash"},
    "fwd": {"Name": "x/y"},
    "upper": {"Name": "ZYLKER Inc"},
    "umlaut": {"Name": "ÜBER GmbH"},
    "nulls": {"Name": None, "Num": None, "Flag": None, "Tags": None},
    "empty": {},
}
ALL = frozenset(ROWS)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def ids(db: Database) -> dict[str, int]:
    """The rows above in MODULE (owner i+1, created a minute apart), plus one other module's."""
    new = db.new_ids(len(ROWS) + 1)
    recs = [StoredRecord(id=rid, module_id=MODULE, data=data, owner_id=i + 1, created_by=1,
                         modified_by=1, created_time=T0 + timedelta(minutes=i),
                         modified_time=T0 + timedelta(minutes=i))
            for i, (rid, data) in enumerate(zip(new, ROWS.values(), strict=False))]
    recs.append(StoredRecord(id=new[-1], module_id=OTHER_MODULE, data={"Name": "a_b"},
                             owner_id=1, created_by=1, modified_by=1, created_time=T0,
                             modified_time=T0))
    with db.write() as tx:
        RecordRepository().insert_many(tx, recs)
    return dict(zip(ROWS, new, strict=False))


def in_module(node: Filter) -> Filter:
    return And((Cond(Column("module_id"), Op.EQ, (MODULE,)), node))


def select(db: Database, ids: dict[str, int], node: Filter) -> set[str]:
    """Names of the MODULE rows `node` selects (checked against count() as well)."""
    with db.read() as tx:
        recs, more = RecordSearch().fetch(tx, in_module(node), offset=0, limit=100)
        counted = RecordSearch().count(tx, in_module(node))
    assert not more and counted == len(recs)
    names = {rid: name for name, rid in ids.items()}
    return {names[r.id] for r in recs}


def text(key: str, op: Op, *values: Any) -> Cond:
    return Cond(JsonField(key), op, values)


def set_columns(db: Database, rid: int, **values: Any) -> None:
    with db.write() as tx:
        tx.execute(sa.update(t.records).where(t.records.c.id == rid).values(**values))


# ----------------------------------------------------------------------------- JSON text
def test_text_comparisons(db: Database, ids: dict[str, int]) -> None:
    assert select(db, ids, text("Name", Op.EQ, "a_b")) == {"under"}
    assert select(db, ids, text("Name", Op.EQ, "A_B")) == set()  # EQ keeps case
    assert select(db, ids, text("Name", Op.IN, "a_b", "axb", "nope")) == {"under", "axb"}
    # ASCII bounds only: where non-ASCII text sorts depends on the database's collation.
    assert select(db, ids, And((text("Name", Op.GT, "x"), text("Name", Op.LT, "y")))) == {"fwd"}
    assert select(db, ids, text("Day", Op.GT, "2024-01-02")) == {"plain"}
    assert select(db, ids, text("Name", Op.BETWEEN, "a", "az")) == {"under", "axb"}
    assert select(db, ids, text("Day", Op.GE, "2024-01-15")) == {"plain"}
    assert select(db, ids, text("Day", Op.LT, "2024-01-15")) == {"pct"}
    assert select(db, ids, text("Day", Op.LE, "2024-01-02")) == {"pct"}


def test_not_equal_also_selects_null_and_missing(db: Database, ids: dict[str, int]) -> None:
    assert select(db, ids, text("Name", Op.NE, "a_b")) == ALL - {"under"}
    assert "nulls" in select(db, ids, text("Name", Op.NE, "x"))
    assert "empty" in select(db, ids, text("Name", Op.NE, "x"))
    # NOT IN and Not(...) follow SQL: an unknown value is not selected.
    assert select(db, ids, text("Name", Op.NOT_IN, "a_b")) == ALL - {"under", "nulls", "empty"}
    assert select(db, ids, Not(text("Name", Op.EQ, "a_b"))) == ALL - {"under", "nulls", "empty"}


def test_null_tests_treat_json_null_as_missing(db: Database, ids: dict[str, int]) -> None:
    assert select(db, ids, text("Name", Op.IS_NULL)) == {"nulls", "empty"}
    assert select(db, ids, text("Name", Op.IS_NOT_NULL)) == ALL - {"nulls", "empty"}
    assert select(db, ids, Cond(JsonField("Num", "float"), Op.IS_NULL)) == \
        ALL - {"pct", "plain", "under"}


def test_case_insensitive_operators(db: Database, ids: dict[str, int]) -> None:
    assert select(db, ids, text("Name", Op.I_EQ, "zylker inc")) == {"upper"}
    assert select(db, ids, text("Name", Op.I_EQ, "zylker")) == set()
    assert select(db, ids, text("Name", Op.I_IN, "ZYLKER INC", "A_B")) == {"upper", "under"}
    assert select(db, ids, text("Name", Op.I_STARTS_WITH, "zyl")) == {"upper"}
    assert select(db, ids, text("Name", Op.I_CONTAINS, "KER i")) == {"upper"}
    # Non-ASCII letters match in their own case on both databases.
    assert select(db, ids, text("Name", Op.I_EQ, "ÜBER gmbh")) == {"umlaut"}
    assert select(db, ids, text("Name", Op.I_CONTAINS, "Üb")) == {"umlaut"}


def test_like_wildcards_and_escapes_match_literally(db: Database, ids: dict[str, int]) -> None:
    assert select(db, ids, text("Name", Op.STARTS_WITH, "100%")) == {"pct"}
    assert select(db, ids, text("Name", Op.STARTS_WITH, "100%_")) == {"pct"}
    assert select(db, ids, text("Name", Op.STARTS_WITH, "a_")) == {"under"}
    assert select(db, ids, text("Name", Op.I_STARTS_WITH, "100%")) == {"pct"}
    assert select(db, ids, text("Name", Op.I_CONTAINS, "_")) == {"pct", "under"}
    assert select(db, ids, text("Name", Op.I_CONTAINS, "%")) == {"pct"}
    assert select(db, ids, text("Name", Op.I_CONTAINS, "k\\s")) == {"back"}
    assert select(db, ids, text("Name", Op.I_STARTS_WITH, "back\\")) == {"back"}
    assert select(db, ids, text("Name", Op.I_CONTAINS, "\\")) == {"back"}
    assert select(db, ids, text("Name", Op.I_CONTAINS, "/")) == {"fwd"}  # the escape character
    assert select(db, ids, text("Name", Op.I_CONTAINS, "x/y")) == {"fwd"}
    assert select(db, ids, text("Name", Op.I_CONTAINS, "a%b")) == set()


# ----------------------------------------------------------------------------- JSON kinds
def test_float_comparisons(db: Database, ids: dict[str, int]) -> None:
    num = JsonField("Num", "float")
    assert select(db, ids, Cond(num, Op.EQ, (1.5,))) == {"pct"}
    assert select(db, ids, Cond(num, Op.EQ, (10,))) == {"plain"}
    assert select(db, ids, Cond(num, Op.NE, (1.5,))) == ALL - {"pct"}
    assert select(db, ids, Cond(num, Op.IN, (-3, 10))) == {"under", "plain"}
    assert select(db, ids, Cond(num, Op.NOT_IN, (-3.0,))) == {"pct", "plain"}
    assert select(db, ids, Cond(num, Op.GT, (1.5,))) == {"plain"}
    assert select(db, ids, Cond(num, Op.GE, (1.5,))) == {"pct", "plain"}
    assert select(db, ids, Cond(num, Op.LT, (1.5,))) == {"under"}
    assert select(db, ids, Cond(num, Op.LE, (1.5,))) == {"pct", "under"}
    assert select(db, ids, Cond(num, Op.BETWEEN, (-3, 1.5))) == {"pct", "under"}


def test_bigint_compares_exactly(db: Database, ids: dict[str, int]) -> None:
    big = JsonField("Big", "bigint")
    n = 100000000000000000  # beyond a double's exact integers
    assert select(db, ids, Cond(big, Op.EQ, (n + 1,))) == {"pct"}
    assert select(db, ids, Cond(big, Op.GT, (n + 1,))) == {"plain"}
    assert select(db, ids, Cond(big, Op.GE, (n + 1,))) == {"pct", "plain"}
    assert select(db, ids, Cond(big, Op.LT, (n + 2,))) == {"pct"}
    assert select(db, ids, Cond(big, Op.LE, (n + 1,))) == {"pct"}
    assert select(db, ids, Cond(big, Op.BETWEEN, (n, n + 1))) == {"pct"}
    assert select(db, ids, Cond(big, Op.IN, (n + 2, 5))) == {"plain"}
    assert select(db, ids, Cond(big, Op.NOT_IN, (n + 2,))) == {"pct"}
    assert select(db, ids, Cond(big, Op.NE, (n + 2,))) == ALL - {"plain"}


def test_boolean_comparisons(db: Database, ids: dict[str, int]) -> None:
    flag = JsonField("Flag", "boolean")
    assert select(db, ids, Cond(flag, Op.EQ, (True,))) == {"pct"}
    assert select(db, ids, Cond(flag, Op.EQ, (False,))) == {"plain"}
    assert select(db, ids, Cond(flag, Op.NE, (True,))) == ALL - {"pct"}
    assert select(db, ids, Cond(flag, Op.NE, (False,))) == ALL - {"plain"}
    assert select(db, ids, Cond(flag, Op.IS_NOT_NULL)) == {"pct", "plain"}


def test_multiselect_items_match_whole_values(db: Database, ids: dict[str, int]) -> None:
    assert select(db, ids, text("Tags", Op.HAS_ITEM, "Vat")) == {"pct"}
    assert select(db, ids, text("Tags", Op.HAS_ITEM, "Vat2", "nope")) == {"plain"}
    assert select(db, ids, text("Tags", Op.HAS_ITEM, "Ünï \"x\"")) == {"pct"}
    assert select(db, ids, text("Tags", Op.HAS_ITEM, "%_")) == {"plain"}
    assert select(db, ids, text("Tags", Op.HAS_ITEM, "%")) == set()
    assert select(db, ids, text("Tags", Op.HAS_ITEM, "at")) == set()
    assert select(db, ids, text("Tags", Op.HAS_ITEM_PREFIX, "Vat")) == {"pct", "plain"}
    assert select(db, ids, text("Tags", Op.HAS_ITEM_PREFIX, "Ünï")) == {"pct"}
    assert select(db, ids, text("Tags", Op.HAS_ITEM_PREFIX, "%")) == {"plain"}
    assert select(db, ids, text("Tags", Op.HAS_ITEM_PREFIX, "at")) == set()


# ----------------------------------------------------------------------------- columns
def test_column_comparisons(db: Database, ids: dict[str, int]) -> None:
    created = Column("created_time")
    minute = timedelta(minutes=1)
    assert select(db, ids, Cond(created, Op.EQ, (T0,))) == {"pct"}
    assert select(db, ids, Cond(created, Op.LT, (T0 + minute,))) == {"pct"}
    assert select(db, ids, Cond(created, Op.LE, (T0 + minute,))) == {"pct", "plain"}
    assert select(db, ids, Cond(created, Op.GE, (T0 + 9 * minute,))) == {"empty"}
    assert select(db, ids, Cond(created, Op.GT, (T0 + 8 * minute,))) == {"empty"}
    assert select(db, ids, Cond(Column("modified_time"), Op.BETWEEN,
                                (T0 + minute, T0 + 2 * minute))) == {"plain", "under"}
    owner = Column("owner_id")
    assert select(db, ids, Cond(owner, Op.IN, (1, 3))) == {"pct", "under"}
    assert select(db, ids, Cond(owner, Op.NE, (1,))) == ALL - {"pct"}
    assert select(db, ids, Cond(Column("id"), Op.NOT_IN, (ids["pct"], ids["plain"]))) == \
        ALL - {"pct", "plain"}
    assert select(db, ids, Cond(Column("id"), Op.EQ, (ids["axb"],))) == {"axb"}


def test_boolean_and_state_columns(db: Database, ids: dict[str, int]) -> None:
    set_columns(db, ids["pct"], converted=True)
    set_columns(db, ids["plain"], approval_state="pending")
    set_columns(db, ids["under"], deleted_time=T0, deleted_by=1)
    converted = Column("converted")
    assert select(db, ids, Cond(converted, Op.EQ, (True,))) == {"pct"}
    assert select(db, ids, Cond(converted, Op.EQ, (False,))) == ALL - {"pct"}
    approved = Cond(Column("approval_state"), Op.EQ, ("approved",))
    assert select(db, ids, Not(approved)) == {"plain"}
    assert select(db, ids, Cond(Column("deleted_time"), Op.IS_NOT_NULL)) == {"under"}
    assert select(db, ids, Cond(Column("deleted_time"), Op.IS_NULL)) == ALL - {"under"}


# ----------------------------------------------------------------------------- logic
def test_logic_and_constants(db: Database, ids: dict[str, int]) -> None:
    a_b, axb = text("Name", Op.EQ, "a_b"), text("Name", Op.EQ, "axb")
    assert select(db, ids, Always()) == ALL
    assert select(db, ids, Never()) == set()
    assert select(db, ids, And(())) == ALL
    assert select(db, ids, Or(())) == set()
    assert select(db, ids, Or((a_b, axb))) == {"under", "axb"}
    assert select(db, ids, And((a_b, axb))) == set()
    assert select(db, ids, Or((Never(), a_b))) == {"under"}
    assert select(db, ids, And((Always(), a_b))) == {"under"}
    assert select(db, ids, Not(Or((a_b, axb, text("Name", Op.IS_NULL))))) == \
        ALL - {"under", "axb", "nulls", "empty"}
    assert select(db, ids, Not(Never())) == ALL


def test_territories(db: Database, ids: dict[str, int]) -> None:
    parent, child, other = db.new_ids(3)
    with db.write() as tx:
        tx.execute(sa.insert(t.territories), [
            {"id": tid, "name": f"T{tid}", "api_name": f"T{tid}", "parent_id": up,
             "created_by": 1, "created_time": T0, "modified_time": T0}
            for tid, up in ((parent, None), (child, parent), (other, None))])
        tx.execute(sa.insert(t.record_territories), [
            {"record_id": ids["pct"], "territory_id": parent},
            {"record_id": ids["plain"], "territory_id": child},
            {"record_id": ids["pct"], "territory_id": child},
            {"record_id": ids["axb"], "territory_id": other}])
    assert select(db, ids, InTerritories(frozenset({parent}))) == {"pct"}
    assert select(db, ids, InTerritories(frozenset({parent, child}))) == {"pct", "plain"}
    assert select(db, ids, InTerritories(frozenset())) == set()
    with db.read() as tx:
        parents = RecordSearch().territory_parents(tx)
    assert {parent: None, child: parent, other: None}.items() <= parents.items()


# ----------------------------------------------------------------------------- queries
def test_fetch_pages_sorts_and_reports_more(db: Database, ids: dict[str, int]) -> None:
    everything = in_module(Always())
    order = list(ROWS)
    search = RecordSearch()
    with db.read() as tx:
        page, more = search.fetch(tx, everything, offset=0, limit=3)
        assert [r.id for r in page] == [ids[n] for n in order[::-1][:3]] and more
        page, more = search.fetch(tx, everything, sort_by="created_time", sort_order="asc",
                                  offset=8, limit=3)
        assert [r.id for r in page] == [ids[n] for n in order[8:]] and not more
        page, more = search.fetch(tx, everything, offset=0, limit=len(ROWS))
        assert len(page) == len(ROWS) and not more
        assert page[-1].data == ROWS["pct"] and page[-1].module_id == MODULE
        assert search.count(tx, everything) == len(ROWS)
        assert search.count(tx, Always()) >= len(ROWS) + 1  # the other module's too


def test_ids_in_id_order_up_to_a_limit(db: Database, ids: dict[str, int]) -> None:
    search = RecordSearch()
    with db.read() as tx:
        assert search.ids(tx, in_module(Always()), limit=100) == sorted(ids.values())
        assert search.ids(tx, in_module(Always()), limit=2) == sorted(ids.values())[:2]
        assert search.ids(tx, in_module(text("Name", Op.I_CONTAINS, "_")), limit=100) == \
            sorted([ids["pct"], ids["under"]])
        assert search.ids(tx, in_module(Never()), limit=100) == []


def test_deleted_newest_first(db: Database, ids: dict[str, int]) -> None:
    set_columns(db, ids["pct"], deleted_time=T0, deleted_by=1)
    set_columns(db, ids["plain"], deleted_time=T0 + timedelta(days=1), deleted_by=1)
    search = RecordSearch()
    with db.read() as tx:
        recs, more = search.deleted(tx, MODULE, offset=0, limit=1)
        assert [r.id for r in recs] == [ids["plain"]] and more
        recs, more = search.deleted(tx, MODULE, offset=1, limit=5)
        assert [r.id for r in recs] == [ids["pct"]] and not more
        assert recs[0].deleted_time == T0
        assert search.deleted(tx, OTHER_MODULE, offset=0, limit=5) == ([], False)


# ----------------------------------------------------------------------------- values
@pytest.mark.parametrize("op,values", [
    (Op.EQ, ()), (Op.EQ, ("a", "b")), (Op.BETWEEN, ("a",)), (Op.IN, ()),
    (Op.IS_NULL, ("a",)), (Op.I_EQ, (1,)), (Op.HAS_ITEM, ("a", 2)),
])
def test_conditions_check_their_values(op: Op, values: tuple[Any, ...]) -> None:
    with pytest.raises(ValueError):
        Cond(JsonField("Name"), op, values)


def test_columns_are_checked() -> None:
    assert column("owner_id") == Column("owner_id")
    with pytest.raises(ValueError):
        column("data")
    with pytest.raises(ValueError):
        Column("Name")  # type: ignore[arg-type]


def test_filters_are_values() -> None:
    a = And((text("Name", Op.IN, "a", "b"), InTerritories(frozenset({1, 2}))))
    b = And((text("Name", Op.IN, "a", "b"), InTerritories(frozenset({2, 1}))))
    assert a == b and hash(a) == hash(b)
