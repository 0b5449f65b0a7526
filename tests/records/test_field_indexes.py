"""Searches are answered from the per-field expression indexes: the database's own plan
(EXPLAIN / EXPLAIN QUERY PLAN, after ANALYZE, on a module with realistic spread of values)
names the field's index for every query kind, on SQLite and PostgreSQL, and the results are
the right records. Also: the indexes follow field changes and the migration.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from corral.metadata.field_indexes import index_kind, wanted_indexes
from corral.metadata.model import Field, Module
from corral.records import criteria as cr
from corral.records.query import Filters
from corral.records.service import WriteContext
from corral.services import Corral
from corral.storage import tables as t
from corral.storage.field_values import indexed_value, literal_int
from corral.storage.filters import And, Cond, Filter, JsonField, Not, Op, Or
from corral.storage.repositories import field_indexes as repo_module
from corral.storage.repositories.field_indexes import FieldIndexRepository, WantedIndex
from tests.conftest import make_token

N = 1200
TIERS = 60
ACCOUNTS = 30
DAY0 = date(1950, 1, 1)
T0 = datetime(2024, 1, 1)


@dataclass(frozen=True)
class Loaded:
    corral: Corral
    module: Module
    accounts: list[str]
    ids: list[int]  # ids[i] is row i
    principal: Any


def row(i: int, accounts: list[str]) -> dict[str, Any]:
    return {"Last_Name": f"Name{i:04d}", "Email": f"u{i}@x{i % 50}.com",
            "Tier": f"T{i % TIERS}", "Account_Name": accounts[i % ACCOUNTS],
            "Date_of_Birth": (DAY0 + timedelta(days=7 * i)).isoformat(),
            "Visit_At": (T0 + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "Score": i, "Big": str(10**17 + i), "Email_Opt_Out": i % 100 == 0}


@pytest.fixture
def loaded(corral: Corral) -> Loaded:
    corral.metadata.index_min_records = N  # Contacts gets its indexes once loaded
    principal = corral.auth.authenticate(f"Zoho-oauthtoken {make_token(corral)}")
    ctx = WriteContext(principal)
    accounts = [str(o.record.id) for o in corral.records.insert(  # type: ignore[union-attr]
        corral.registry.require("Accounts"),
        [{"Account_Name": f"Account {i}"} for i in range(ACCOUNTS)], ctx)]
    contacts = corral.registry.require("Contacts")
    for spec in ({"label": "Visit At", "type": "datetime"},
                 {"label": "Score", "type": "integer"},
                 {"label": "Big", "type": "bigint"},
                 {"label": "Tier", "type": "picklist",
                  "pick_list": [f"T{i}" for i in range(TIERS)]}):
        corral.metadata.add_field(contacts, spec)
        contacts = corral.registry.require("Contacts")
    ids: list[int] = []
    for start in range(0, N, 200):
        outcomes = corral.records.insert(
            contacts, [row(i, accounts) for i in range(start, start + 200)], ctx)
        assert all(o.error is None for o in outcomes)
        ids += [o.record.id for o in outcomes]  # type: ignore[union-attr]
    assert corral.metadata.sync_indexes().created  # as the background loop would
    corral.metadata.analyze()
    return Loaded(corral, contacts, accounts, ids, principal)


def index_of(module: Module, api_name: str) -> str:
    f = module.field(api_name)
    assert f is not None
    return f"ix_rf_{module.id}_{f.id}_"


def where(loaded: Loaded, criteria: str, mode: str = "view") -> Filter:
    q = loaded.corral.query
    cond = q.compile(loaded.module, cr.parse_criteria(criteria), tz=UTC, mode=mode)
    return And((*q.base_where(loaded.module, Filters()), cond))


def plan(loaded: Loaded, filt: Filter, **kw: Any) -> str:
    with loaded.corral.db.read() as tx:
        return loaded.corral.query.search.explain(tx, filt, **kw)


def found(loaded: Loaded, filt: Filter) -> set[int]:
    with loaded.corral.db.read() as tx:
        recs, more = loaded.corral.query.search.fetch(tx, filt, offset=0, limit=200)
    assert not more
    return {loaded.ids.index(r.id) for r in recs}


def rows_where(test: Any) -> set[int]:
    return {i for i in range(N) if test(i)}


def criteria_cases(accounts: list[str]) -> list[tuple[str, str, set[int]]]:
    visit = T0 + timedelta(hours=24)
    return [
        ("(Last_Name:equals:name0005)", "Last_Name", {5}),
        ("(Last_Name:in:Name0001,NAME0002)", "Last_Name", {1, 2}),
        ("(Last_Name:starts_with:name001)", "Last_Name", set(range(10, 20))),
        ("(Email:equals:U7@X7.com)", "Email", {7}),
        ("(Email:in:u7@x7.com,u8@x8.com)", "Email", {7, 8}),
        ("(Email:starts_with:u12@)", "Email", {12}),
        ("(Tier:equals:T7)", "Tier", rows_where(lambda i: i % TIERS == 7)),
        ("(Tier:in:T7,T8)", "Tier", rows_where(lambda i: i % TIERS in (7, 8))),
        ("(Score:equals:10)", "Score", {10}),
        ("(Score:in:10,11)", "Score", {10, 11}),
        ("(Score:between:10,20)", "Score", set(range(10, 21))),
        (f"(Big:between:{10**17 + 5},{10**17 + 7})", "Big", {5, 6, 7}),
        ("(Date_of_Birth:between:1950-02-01,1950-03-01)", "Date_of_Birth",
         rows_where(lambda i: date(1950, 2, 1) <= DAY0 + timedelta(days=7 * i)
                    <= date(1950, 3, 1))),
        ("(Visit_At:between:2024-01-02T00:00:00+00:00,2024-01-02T05:00:00+00:00)",
         "Visit_At", rows_where(lambda i: visit <= T0 + timedelta(hours=i)
                                <= visit + timedelta(hours=5))),
        (f"(Account_Name:equals:{accounts[3]})", "Account_Name",
         rows_where(lambda i: i % ACCOUNTS == 3)),
        (f"(Account_Name:in:{accounts[3]},{accounts[4]})", "Account_Name",
         rows_where(lambda i: i % ACCOUNTS in (3, 4))),
    ]


def test_criteria_of_every_kind_use_the_field_index(loaded: Loaded) -> None:
    for criteria, field, expected in criteria_cases(loaded.accounts):
        filt = where(loaded, criteria)
        assert index_of(loaded.module, field) in plan(loaded, filt), criteria
        assert index_of(loaded.module, field) in plan(
            loaded, filt, sort_by="modified_time"), criteria
        assert found(loaded, filt) == expected, criteria


def test_indexed_searches_select_what_a_scan_selects(loaded: Loaded) -> None:
    # The indexes hold only records with a value; whatever a search reads from them, a scan
    # of the module (no field index at all) selects the same records.
    c = loaded.corral
    cases = [(criteria, where(loaded, criteria)) for criteria, _, _ in
             criteria_cases(loaded.accounts)]
    cases += [(criteria, where(loaded, criteria)) for criteria in (
        "(Email_Opt_Out:equals:true)", "(Email_Opt_Out:equals:false)",
        "(Email_Opt_Out:not_equal:true)", "(Score:not_equal:10)",
        "(Last_Name:not_equal:Name0005)", "((Score:equals:10)or(Big:equals:1))")]
    with_index = {criteria: (c.query.count([filt]), found(loaded, filt)
                             if c.query.count([filt]) <= 200 else None)
                  for criteria, filt in cases}
    with c.db.write() as tx:
        FieldIndexRepository().drop_all(tx)
    # SQLite: an EXPLAIN reads no page, so a pooled connection would not notice the schema
    # changed and would still plan with the dropped indexes.
    c.db.reload_statistics()
    for criteria, filt in cases:
        assert "ix_rf_" not in plan(loaded, filt, count=True)
        count = c.query.count([filt])
        assert (count, found(loaded, filt) if count <= 200 else None) == \
            with_index[criteria], criteria


def test_a_negated_comparison_still_leaves_out_records_without_the_field(
        loaded: Loaded) -> None:
    # PostgreSQL's searches state "the record names the field" beside each comparison for
    # the index; never under a NOT, where it would let in the records without the field.
    c = loaded.corral
    (extra,) = c.records.insert(loaded.module, [{"Last_Name": "No Score"}],
                                WriteContext(loaded.principal))
    assert extra.error is None
    q = c.query
    base = q.base_where(loaded.module, Filters())
    score = JsonField("Score", "float")
    negated = And((*base, Not(Cond(score, Op.EQ, (10,)))))
    assert q.count([negated]) == N - 1  # NOT (NULL = 10) is NULL: the new record is out
    assert q.count([And((*base, Cond(score, Op.EQ, (None,))))]) == 1  # IS NULL: it alone
    either = And((*base, Not(Or((Cond(score, Op.EQ, (10,)), Cond(score, Op.IN, (11, 12)))))))
    assert q.count([either]) == N - 3
    plain = And((*base, Cond(score, Op.LT, (5,))))
    assert q.count([plain]) == 5 and index_of(loaded.module, "Score") in plan(
        loaded, plain, count=True)


def test_count_and_search_mode_use_the_field_index(loaded: Loaded) -> None:
    for criteria, field in (("(Score:between:10,20)", "Score"),
                            ("(Last_Name:starts_with:Name001)", "Last_Name"),
                            ("(Tier:equals:T7)", "Tier")):
        filt = where(loaded, criteria, mode="search")
        assert index_of(loaded.module, field) in plan(loaded, filt, count=True), criteria
        assert index_of(loaded.module, field) in plan(loaded, filt), criteria
    assert loaded.corral.query.count(
        [where(loaded, "(Score:between:10,20)", mode="search")]) == 11


def test_boolean_equality_can_use_the_field_index(loaded: Loaded) -> None:
    # The condition must imply the index's `IS NOT NULL` (`IS true` alone does not, to
    # either database). A boolean's index has two keys, so for a page in id order the
    # planner may prefer to walk the primary key (SQLite's statistics: ~half the module per
    # key); a count of the rare value shows the index serves the condition.
    rare = where(loaded, "(Email_Opt_Out:equals:true)")
    assert index_of(loaded.module, "Email_Opt_Out") in plan(loaded, rare, count=True)
    assert found(loaded, rare) == rows_where(lambda i: i % 100 == 0)
    assert loaded.corral.query.count([rare]) == N // 100
    common = where(loaded, "(Email_Opt_Out:equals:false)")
    assert loaded.corral.query.count([common]) == N - N // 100


def test_criteria_or_across_fields_uses_both_indexes(loaded: Loaded) -> None:
    filt = where(loaded, "((Score:equals:10)or(Last_Name:equals:Name0011))")
    text = plan(loaded, filt)
    assert index_of(loaded.module, "Score") in text
    assert index_of(loaded.module, "Last_Name") in text
    assert found(loaded, filt) == {10, 11}


def test_email_search_uses_the_email_indexes(loaded: Loaded) -> None:
    q = loaded.corral.query
    filt = And((*q.base_where(loaded.module, Filters()),
                q.special_where(loaded.module, email="U7@x7.com ")))
    text = plan(loaded, filt)
    assert index_of(loaded.module, "Email") in text
    assert index_of(loaded.module, "Secondary_Email") in text
    assert found(loaded, filt) == {7}


def test_custom_view_listing_sorted_by_modified_time(loaded: Loaded) -> None:
    c, q = loaded.corral, loaded.corral.query
    selective = c.views.create(loaded.module, {"name": "Few", "criteria":
                                               "(Score:between:100,110)"}, loaded.principal)
    everyone = c.views.create(loaded.module, {"name": "All", "criteria":
                                              "(Score:greater_equal:0)"}, loaded.principal)

    def view_where(cvid: int) -> Filter:
        view = q.view(loaded.module, cvid)
        assert view is not None
        return And((*q.base_where(loaded.module, Filters()),
                    q.view_condition(loaded.module, view, loaded.principal)))

    assert index_of(loaded.module, "Score") in plan(
        loaded, view_where(selective), sort_by="modified_time", sort_order="desc")
    assert found(loaded, view_where(selective)) == set(range(100, 111))
    # Unselective: SQLite walks the module's modified-time index and stops at a page.
    # (PostgreSQL, on a table this small, reads it whole and sorts: its choice.)
    everyone_plan = plan(loaded, view_where(everyone), sort_by="modified_time",
                         sort_order="desc")
    if c.db.is_sqlite:
        assert "ix_records_module_modified" in everyone_plan
    recs, _ = q.fetch(loaded.module, [view_where(everyone)], offset=0, limit=5,
                      sort_by="Modified_Time", sort_order="desc")
    assert len(recs) == 5


@pytest.mark.parametrize(("coql", "field", "expected"), [
    ("Email = 'u7@x7.com'", "Email", {7}),
    ("Score in (10, 11)", "Score", {10, 11}),
    ("Score between 10 and 12", "Score", {10, 11, 12}),
    ("Last_Name like 'name001%'", "Last_Name", set(range(10, 20))),
    ("Tier = 'T7'", "Tier", set(range(7, N, TIERS))),
])
def test_coql_where_uses_the_field_index(loaded: Loaded, coql: str, field: str,
                                         expected: set[int]) -> None:
    c = loaded.corral
    compiled = c.coql.compile(c.coql.parse(f"select id from Contacts where {coql} limit 200"),
                              loaded.module, version="v8", tz=UTC)
    with c.db.read() as tx:
        text = c.coql.search.explain_select(tx, compiled.selection)
    # Email is the module's duplicate-check field: its `record_keys` index serves too.
    assert index_of(loaded.module, field) in text or (
        field == "Email" and "record_keys" in text), text
    page = c.coql.run(compiled)
    assert {loaded.ids.index(int(r[0])) for r in page.rows} == expected


# ----------------------------------------------------------------------------- field changes
def index_names(corral: Corral) -> dict[str, int]:
    with corral.db.read() as tx:
        return FieldIndexRepository().names(tx)


def test_only_modules_past_the_threshold_have_indexes(loaded: Loaded) -> None:
    names = index_names(loaded.corral)
    assert set(names.values()) == {loaded.module.id}
    ours = set(names)
    assert len(ours) == len(wanted_indexes(loaded.module))
    for w in wanted_indexes(loaded.module):
        assert any(n.startswith(f"ix_rf_{loaded.module.id}_{w.field_id}_") for n in ours)
    # A module keeps its indexes when it shrinks below the threshold.
    loaded.corral.metadata.index_min_records = 10 * N
    assert not loaded.corral.metadata.sync_indexes().any


def indexed_leads(corral: Corral) -> Module:
    corral.metadata.index_min_records = 0
    corral.metadata.sync_indexes(["Leads"])
    return corral.registry.require("Leads")


def test_adding_a_field_creates_its_index_and_long_text_gets_none(corral: Corral) -> None:
    leads = indexed_leads(corral)
    short = corral.metadata.add_field(leads, {"label": "Code", "type": "text", "length": 40})
    long = corral.metadata.add_field(leads, {"label": "Notes X", "type": "text",
                                             "length": 2000})
    area = corral.metadata.add_field(leads, {"label": "Body", "type": "textarea"})
    names = index_names(corral)
    assert any(n.startswith(f"ix_rf_{leads.id}_{short.id}_") for n in names)
    assert not any(f"_{long.id}_" in n or f"_{area.id}_" in n for n in names)


def test_sync_replaces_a_changed_kind_and_drops_a_removed_field(corral: Corral) -> None:
    leads = indexed_leads(corral)
    email = leads.field("Email")
    assert email is not None and index_kind(email) == "itext"
    before = {n for n, m in index_names(corral).items() if m == leads.id}
    # Email as if its type changed to a number, Website as if deleted.
    changed = Field(id=email.id, module_id=leads.id, api_name="Email", label="Email",
                    data_type="double")
    fields = tuple(changed if f.id == email.id else f for f in leads.fields
                   if f.api_name != "Website")
    altered = replace(leads, fields=fields)
    with corral.db.write() as tx:
        result = corral.metadata.indexes.sync(tx, [altered])
    assert len(result.created) == 1 and len(result.dropped) == 2
    after = {n for n, m in index_names(corral).items() if m == leads.id}
    assert after == (before - set(result.dropped)) | set(result.created)
    # At the next start the repair puts the real fields' indexes back.
    corral.metadata.index_min_records = 5000
    corral.seed()
    assert {n for n, m in index_names(corral).items() if m == leads.id} == before


def index_definitions(corral: Corral) -> dict[str, str]:
    with corral.db.read() as tx:
        if corral.db.is_sqlite:
            rows = tx.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'"
                                      " AND name LIKE 'ix_rf_%'")
        else:
            rows = tx.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes WHERE"
                                      " indexname LIKE 'ix_rf_%%'")
        return {str(n): str(d) for n, d in rows}


def old_form_index(name: str, module_id: int, wanted: WantedIndex) -> sa.Index:
    """An index as FORM 4 built it on PostgreSQL: an entry for every record of the module."""
    table = t.records.to_metadata(sa.MetaData())
    value = indexed_value(table, wanted.api_name, wanted.kind)
    return sa.Index(name, value.label("v"),
                    sqlite_where=table.c.module_id == literal_int(module_id),
                    postgresql_where=table.c.module_id == literal_int(module_id))


def test_start_replaces_indexes_built_by_an_older_form(loaded: Loaded,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    c = loaded.corral
    current = index_definitions(c)
    # SQLite: `<value> IS NOT NULL`; PostgreSQL: the JSON text names the field.
    assert current and all(("IS NOT NULL" if c.db.is_sqlite else "strpos") in d
                           for d in current.values())
    with monkeypatch.context() as m:  # a database an older release indexed
        m.setattr(repo_module, "FORMS", {"sqlite": 3, "postgresql": 4})
        m.setattr(repo_module, "_index", old_form_index)
        with c.db.write() as tx:
            FieldIndexRepository().drop_all(tx)
        c.metadata.sync_indexes()
        old = index_definitions(c)
    assert len(old) == len(current) and not set(old) & set(current)
    assert not any("IS NOT NULL" in d or "strpos" in d for d in old.values())
    c.seed()  # what every start does
    assert index_definitions(c) == current
    filt = where(loaded, "(Score:between:10,20)")
    assert index_of(loaded.module, "Score") in plan(loaded, filt)
    assert found(loaded, filt) == set(range(10, 21))


def test_migration_creates_the_indexes_of_a_0012_database(loaded: Loaded) -> None:
    from alembic import command

    from corral.storage.migrate import alembic_config

    corral = loaded.corral
    before = index_names(corral)
    assert before
    cfg = alembic_config()
    cfg.attributes["index_min_records"] = N
    with corral.db.write() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012_revert")
    assert index_names(corral) == {}
    with corral.db.write() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    assert index_names(corral) == before


def test_statistics_refresh_from_the_background_loop(loaded: Loaded) -> None:
    c = loaded.corral
    assert c.metadata.maintain_indexes() is False  # never counts as work done
    assert c.metadata.maintain_indexes() is False  # and checks at most every minute
    filt = where(loaded, "(Score:between:10,20)")
    assert index_of(loaded.module, "Score") in plan(loaded, filt)
    assert found(loaded, filt) == set(range(10, 21))
