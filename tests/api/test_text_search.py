"""Substring searches answered from the text index (issue 15): search `equals` on text, `phone=`,
`word=`, `actions/count` with criteria and COQL `like '%x%'` name the index in their plan
(FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL), select exactly what the scan selected,
and the index follows every write and field change."""

from __future__ import annotations

import re
from datetime import UTC

import pytest
import sqlalchemy as sa

from corral.records import criteria as cr
from corral.records.coql_compile import CoqlService
from corral.records.query import Filters, RecordQuery
from corral.services import Corral
from corral.storage.filters import And, Filter
from corral.storage.repositories.record_search import RecordSearch
from tests.conftest import Api

COMPANIES = [
    "Acme Widgets Inc", "ACME%PCT", "under_score", 'say "hi" twice', "star*power",
    "paren(thesis)", "this AND that", "OR else", "NEAR(a b)", "NOT me", "Zürich Straße",
    "日本語テキスト", "abc", "xyz abcd", "a/b//c",
]


def criteria(field: str, value: str, op: str = "equals") -> str:
    return cr.render_criteria(cr.Condition(field, op, value))


def searched(api: Api, params: dict[str, str], module: str = "Leads") -> set[str]:
    r = api.get(f"{module}/search", params=params)
    if r.status_code == 204:
        return set()
    assert r.status_code == 200, r.text
    return {d["id"] for d in r.json()["data"]}


def contains(stored: str, text: str) -> bool:
    """What the exact condition selects: ASCII letters fold, other characters compare as
    they are (the test values have non-ASCII text in one case only)."""
    def fold(s: str) -> str:
        return "".join(ch.lower() if ch.isascii() else ch for ch in s)
    return fold(text) in fold(stored)


def plan(corral: Corral, where: Filter, *, count: bool = False) -> str:
    """The plan as on a large table (see `RecordSearch.explain`), with fresh statistics."""
    if corral.settings.database_url.startswith("postgresql"):
        with corral.db.write() as tx:
            tx.exec_driver_sql("ANALYZE records")
    with corral.db.read() as tx:
        return RecordSearch().explain(tx, where, prefer_indexes=True, count=count)


def uses_index(corral: Corral, text: str, module: str = "Leads") -> bool:
    """The plan looks values up in the module's text index (on PostgreSQL: with a condition,
    not just reading the partial index to find the module's records)."""
    m = corral.registry.require(module)
    if corral.settings.database_url.startswith("sqlite"):
        return f"fts_m{m.id} VIRTUAL TABLE INDEX 0:M" in text
    return re.search(rf"ix_trgm_m{m.id}_\w+ .*\n\s+Index Cond: \(+lower", text) is not None


def search_where(corral: Corral, criteria_text: str, module: str = "Leads") -> Filter:
    m = corral.registry.require(module)
    crit = cr.parse_criteria(criteria_text)
    return And((*RecordQuery.base_where(m, Filters()),
                corral.query.compile(m, crit, tz=UTC, mode="search")))


def special(corral: Corral, module: str = "Leads", **kw: str) -> Filter:
    m = corral.registry.require(module)
    return And((*RecordQuery.base_where(m, Filters()), corral.query.special_where(m, **kw)))


def coql_where(corral: Corral, query: str) -> Filter:
    m = corral.registry.require("Leads")
    return corral.coql.compile(CoqlService.parse(query), m, version="v8",
                               tz=UTC).selection.where


def fill(api: Api, module: str = "Leads", n: int = 200) -> None:
    """Some records, for statistics closer to a real table's."""
    for start in range(0, n, 100):
        api.insert(module, *[{"Last_Name": f"N{i}", "Company": f"Company {i}",
                              "Mobile": f"+1 555 {i:04d}"} for i in range(start, start + 100)])


# ----------------------------------------------------------------------------- plans
def test_each_contains_search_is_answered_from_the_index(api: Api, corral: Corral) -> None:
    fill(api)
    assert uses_index(corral, plan(corral, search_where(corral, "(Company:equals:widget)")))
    assert uses_index(corral, plan(corral, search_where(corral, "(Company:equals:widget)"),
                                   count=True))
    assert uses_index(corral, plan(corral, special(corral, phone="5550")))
    assert uses_index(corral, plan(corral, special(corral, word="widget")))
    assert uses_index(corral, plan(corral, coql_where(
        corral, "select Last_Name from Leads where Company like '%widget%'")))


def test_text_too_short_for_trigrams_is_not_narrowed(api: Api, corral: Corral) -> None:
    fill(api)
    assert not uses_index(corral, plan(corral, search_where(corral, "(Company:equals:wi)")))
    assert uses_index(corral, plan(corral, search_where(corral, "(Company:equals:wid)")))


def test_a_negated_like_does_not_use_the_text_index(corral: Corral) -> None:
    assert not uses_index(corral, plan(corral, coql_where(
        corral, "select Last_Name from Leads where Company not like '%widget%'")))


# ----------------------------------------------------------------------------- results
@pytest.fixture
def companies(api: Api) -> dict[str, str]:
    ids = api.insert("Leads", *[{"Last_Name": f"L{i}", "Company": c}
                                for i, c in enumerate(COMPANIES)])
    return dict(zip(ids, COMPANIES, strict=True))


@pytest.mark.parametrize("text", [
    "widget", "WIDGETS", "acme", "%", "%P", "_", "r_s", '"hi"', '"', "*", "r*p", "(", "(the",
    "AND", "and that", "OR", "NEAR(", "NOT", "NOT me", "ürich", "Straße", "本語テ", "日本",
    "a", "ab", "abc", "bcd", "/", "b//", "zzz", "this AND",
])
def test_contains_search_selects_exactly_what_the_scan_selects(
        api: Api, companies: dict[str, str], text: str) -> None:
    expected = {i for i, c in companies.items() if contains(c, text)}
    assert searched(api, {"criteria": criteria("Company", text)}) == expected


def test_word_and_phone_and_coql_select_what_the_scan_selects(
        api: Api, companies: dict[str, str]) -> None:
    assert searched(api, {"word": "widgets"}) == {
        i for i, c in companies.items() if "widgets" in c.lower()}
    [phone_id] = api.insert("Leads", {"Last_Name": "P", "Mobile": "+1 (555) 010-2030"})
    assert searched(api, {"phone": "010-20"}) == {phone_id}
    assert searched(api, {"phone": "010-21"}) == set()
    r = api.post("coql", json={"select_query":
                               "select id from Leads where Company like '%abc%'"})
    assert r.status_code == 200, r.text
    assert {d["id"] for d in r.json()["data"]} == {
        i for i, c in companies.items() if "abc" in c}
    count = api.get("Leads/actions/count", params={"criteria": criteria("Company", "acme")})
    assert count.json() == {"count": 2}


# ----------------------------------------------------------------------------- upkeep
def company_search(api: Api, text: str) -> set[str]:
    return searched(api, {"criteria": criteria("Company", text)})


def test_index_follows_insert_update_delete_and_restore(api: Api, corral: Corral) -> None:
    [a] = api.insert("Leads", {"Last_Name": "A", "Company": "Quokka Labs"})
    assert company_search(api, "okka") == {a}
    r = api.put("Leads", json={"data": [{"id": a, "Company": "Wombat Works"}]})
    assert r.status_code == 200, r.text
    assert company_search(api, "okka") == set()
    assert company_search(api, "mbat") == {a}
    d = api.delete(f"Leads/{a}")
    assert d.status_code == 200, d.text
    assert company_search(api, "mbat") == set()
    r = api.post("actions/revert", json={"request_id": d.headers["X-Request-Id"]})
    assert r.status_code == 202, r.text
    corral.jobs.run_until_idle()
    assert company_search(api, "mbat") == {a}


def test_index_follows_merge(api: Api, corral: Corral) -> None:
    master, child = api.insert("Accounts", {"Account_Name": "Zylker", "Phone": "111"},
                               {"Account_Name": "Zylker Inc", "Phone": "555-867-5309"})
    r = api.post(f"Accounts/{master}/actions/merge", json={"merge": [{"data": [
        {"id": child, "_fields": [{"api_name": "Phone"}]}]}]})
    assert r.status_code == 201, r.text
    corral.jobs.run_until_idle()
    assert searched(api, {"phone": "867-53"}, "Accounts") == {master}
    assert searched(api, {"phone": "111"}, "Accounts") == set()


def test_index_follows_mass_update(api: Api, corral: Corral) -> None:
    ids = api.insert("Leads", {"Last_Name": "M1", "Company": "Old Name"},
                     {"Last_Name": "M2", "Company": "Old Name"})
    r = api.post("Leads/actions/mass_update", json={"data": [{"Company": "Renamed Corp"}],
                                                    "ids": ids})
    assert r.status_code in {200, 202}, r.text
    corral.jobs.run_until_idle()
    assert company_search(api, "named co") == set(ids)
    assert company_search(api, "old na") == set()


def test_index_follows_an_added_field_and_a_new_module(api: Api, corral: Corral) -> None:
    [a] = api.insert("Leads", {"Last_Name": "F", "Company": "x"})
    leads = corral.registry.require("Leads")
    corral.metadata.add_field(leads, {"api_name": "Nickname", "label": "Nickname",
                                      "type": "text"})
    r = api.put("Leads", json={"data": [{"id": a, "Nickname": "Kangaroo"}]})
    assert r.status_code == 200, r.text
    fill(api)
    where = search_where(corral, "(Nickname:equals:garo)")
    assert uses_index(corral, plan(corral, where))
    assert searched(api, {"criteria": "(Nickname:equals:garo)"}) == {a}
    assert searched(api, {"word": "angaroo"}) == {a}
    m = corral.metadata.add_module("Gizmos", "Gizmo", "Gizmos")
    [g] = api.insert("Gizmos", {"Name": "Sprocket"})
    api.insert("Gizmos", *[{"Name": f"Gizmo {i}"} for i in range(100)])
    assert uses_index(corral, plan(corral, search_where(corral, "(Name:equals:rocke)",
                                                        "Gizmos")), "Gizmos")
    assert searched(api, {"criteria": "(Name:equals:rocke)"}, "Gizmos") == {g}
    assert m.api_name == "Gizmos"


def test_a_field_of_another_type_is_not_indexed(corral: Corral) -> None:
    leads = corral.registry.require("Leads")
    corral.metadata.add_field(leads, {"api_name": "Score_X", "label": "Score X",
                                      "type": "integer"})
    with corral.db.read() as tx:
        text = RecordSearch().explain(tx, special(corral, word="angaroo"))
    assert "Score_X" not in text


def test_database_migrated_from_0012_gets_the_index(database_url: str) -> None:
    from alembic import command

    from corral.config import Settings
    from corral.storage.migrate import alembic_config

    c = Corral.open(Settings(database_url=database_url, run_worker=False))
    c.seed()
    with c.db.write() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0012_revert")
    with c.db.read() as tx:
        objects = tx.execute(sa.text(
            "SELECT count(*) FROM sqlite_master WHERE name LIKE 'fts_m%'"
            if database_url.startswith("sqlite") else
            "SELECT count(*) FROM pg_indexes WHERE indexname LIKE 'ix_trgm_m%'")).scalar_one()
    assert objects == 0
    c.close()
    c = Corral.open(Settings(database_url=database_url, run_worker=False))  # migrates
    c.seed()
    assert uses_index(c, plan(c, search_where(c, "(Company:equals:widget)")))
    c.close()


def test_index_follows_bulk_write(api: Api, corral: Corral) -> None:
    from tests.api.test_bulk import file_id, finish, write_job

    fid = file_id(api, [["Last_Name", "Email", "Company"],
                        ["Ames", "ames@x.com", "Bandicoot Brands"]])
    write_job(api, "insert", fid)
    finish(corral)
    assert len(company_search(api, "dicoot")) == 1


# ----------------------------------------------------------------------------- narrowing
# More than the probes' sample (PROBE_ROWS), sharing trigrams as zero-padded bench values do:
# every one holds "com", "omm", ..., "dge", "get", " 00"; the digits are rarer.
COMMON = [f"Common Gadget {i:05d}" for i in range(150)]
LONG = "A very long company name that goes on and on, Common Gadget 00042 Holdings Ltd"


@pytest.fixture
def common(api: Api) -> dict[str, str]:
    values = COMMON + COMPANIES + [LONG]
    ids: list[str] = []
    for start in range(0, len(values), 100):
        ids += api.insert("Leads", *[{"Last_Name": f"C{i}", "Company": c}
                                     for i, c in enumerate(values[start:start + 100], start)])
    return dict(zip(ids, values, strict=True))


@pytest.mark.parametrize("text", [
    "Common Gadget 00042", "gadget 0012", "00042", "0004", "00149", "Common", "mmon Gad",
    "Gadget 0", "ommon gadget 00", "Gadget 00150", "dget 001", "Common Gadget", "co",
    "ab", "widget", '"hi"', "NOT me", "本語テ", "Straße", "a/b", "00042 x", "x 00042",
    LONG, LONG[40:], LONG.upper(), LONG[:-1] + "X",
])
def test_values_with_common_trigrams_select_what_the_scan_selects(
        api: Api, common: dict[str, str], text: str) -> None:
    expected = {i for i, c in common.items() if contains(c, text)}
    assert searched(api, {"criteria": criteria("Company", text)}) == expected
    if re.fullmatch(r"[A-Za-z0-9 ]{3,}", text):  # word= refuses special characters
        names = {i: f"C{n}" for n, i in enumerate(common)}
        assert searched(api, {"word": text}) == expected | {
            i for i, name in names.items() if contains(name, text)}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the FTS5 query
def test_common_trigrams_are_left_out_of_the_lookup(
        api: Api, corral: Corral, common: dict[str, str]) -> None:
    from corral.metadata.text_index import indexed_text
    from corral.storage.repositories.text_index import TextIndexRepository

    leads = corral.registry.require("Leads")
    company = [indexed_text(f) for f in leads.fields if f.api_name == "Company"]

    def query(text: str) -> str:
        with corral.db.read() as tx:
            return TextIndexRepository().fts_query(tx, leads.id, company, text)

    # Trigrams every record holds ("Com" ... " 00") are dropped: only a run of the rarer
    # ones (the digits) is looked up.
    for text, digits in (("Common Gadget 00042", "0042"), ("gadget 0012", "0012")):
        lookup = query(text).split(" : ", 1)[1]
        assert "Gadget" not in lookup and "gadget" not in lookup
        assert digits in lookup
    # A value made of common trigrams only keeps the rarest ones (here: all tie).
    assert query("Common").endswith(': ("Common")')
    assert uses_index(corral, plan(corral, search_where(corral, "(Company:equals:00042)")))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the FTS5 query
def test_a_small_module_looks_up_the_whole_text(api: Api, corral: Corral) -> None:
    from corral.metadata.text_index import indexed_text
    from corral.storage.repositories.text_index import TextIndexRepository

    api.insert("Leads", *[{"Last_Name": f"S{i}", "Company": f"Common Gadget {i}"}
                          for i in range(10)])
    leads = corral.registry.require("Leads")
    company = [indexed_text(f) for f in leads.fields if f.api_name == "Company"]
    with corral.db.read() as tx:
        q = TextIndexRepository().fts_query(tx, leads.id, company, 'Gadget "7"')
    assert q.endswith(': ("Gadget ""7""")')


def narrowed(corral: Corral, criteria_text: str) -> str:
    """What PostgreSQL looks up for a search: the parts chosen from the module's sample."""
    from corral.storage.repositories.text_index import describe_narrowing, resolve_text_matches

    with corral.db.read() as tx:
        return describe_narrowing(resolve_text_matches(tx, search_where(corral, criteria_text)))


# SQLite chooses inside the statement: test_common_trigrams_are_left_out_of_the_lookup
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_looks_up_only_the_uncommon_parts(api: Api, corral: Corral) -> None:
    api.insert("Leads", *[{"Last_Name": f"S{i}", "Company": f"Shop {i}"} for i in range(10)])
    # No trigram of it is common yet: the whole text.
    assert narrowed(corral, "(Company:equals:Common Gadget 00332598)") == (
        "'common gadget 00332598'")
    values = [f"Common Gadget {i * 7919:08d}" for i in range(150)]
    ids: list[str] = []
    for start in range(0, len(values), 100):  # the sample follows the module's new records
        ids += api.insert("Leads", *[{"Last_Name": f"C{i}", "Company": c}
                                     for i, c in enumerate(values[start:start + 100], start)])
    # "com", "gad", "get", "000" are in (nearly) every record: only the digits are looked up,
    # and the plan still reads the trigram index.
    for text in ("Common Gadget 00332598", "gadget 01179931"):  # the 42nd and the 149th
        parts = narrowed(corral, f"(Company:equals:{text})")
        assert "gad" not in parts, parts
        assert all(p.strip("'") in text.lower() for p in parts.split(" AND ")), parts
        assert uses_index(corral, plan(corral, search_where(corral, f"(Company:equals:{text})")))
        assert searched(api, {"criteria": criteria("Company", text)}) == {
            i for i, c in zip(ids, values, strict=True) if contains(c, text)}
    # Made of common trigrams only, or whose uncommon part is short (the planner would think
    # it common and walk the whole module for a page): the whole text.
    assert narrowed(corral, "(Company:equals:Common Gadget)") == "'common gadget'"
    assert narrowed(corral, "(Company:equals:Gadget 0033)") == "'gadget 0033'"
    assert narrowed(corral, "(Company:equals:ab)") == ""  # too short: not narrowed at all


def test_merging_the_index_segments_keeps_every_result(api: Api, corral: Corral) -> None:
    from corral.metadata.text_index import merge_text_indexes
    from corral.storage.repositories.text_index import TextIndexRepository

    leads = corral.registry.require("Leads")
    ids: list[str] = []
    for start in range(0, 300, 20):  # one FTS5 segment (SQLite) per transaction
        ids += api.insert("Leads", *[{"Last_Name": f"M{i}", "Company": f"Merged {i:04d}"}
                                     for i in range(start, start + 20)])
    r = api.delete("Leads", params={"ids": ",".join(ids[:5])})
    assert r.status_code == 200, r.text
    with corral.db.write() as tx:
        merged = TextIndexRepository().merge(tx, leads.id, 4)
    assert merged is corral.settings.database_url.startswith("sqlite")
    steps = 0
    while merge_text_indexes(corral.db, [leads.id]):  # what the background step does
        steps += 1
        assert steps < 1000
    assert company_search(api, "rged 021") == set(ids[210:220])
    assert company_search(api, "Merged 0003") == set()  # deleted
    assert company_search(api, "erged 0299") == {ids[299]}
    assert corral.metadata.maintain_indexes() is False  # the background step runs it too


def test_index_unchanged_when_only_other_fields_change(api: Api, corral: Corral) -> None:
    [a] = api.insert("Leads", {"Last_Name": "U", "Company": "Echidna Estates",
                               "No_of_Employees": 3})
    r = api.put("Leads", json={"data": [{"id": a, "No_of_Employees": 4, "Rating": "Hot"}]})
    assert r.status_code == 200, r.text
    assert company_search(api, "chidna") == {a}
    r = api.put("Leads", json={"data": [{"id": a, "Last_Name": "Numbat"}]})
    assert r.status_code == 200, r.text
    assert company_search(api, "chidna") == {a}
    assert searched(api, {"word": "numba"}) == {a}
    assert searched(api, {"word": "chidna"}) == {a}
    r = api.put("Leads", json={"data": [{"id": a, "Company": "Dingo Digs",
                                         "No_of_Employees": 5}]})
    assert r.status_code == 200, r.text
    assert company_search(api, "chidna") == set()
    assert searched(api, {"word": "ingo dig"}) == {a}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PG: no triggers
def test_database_migrated_from_0015_gets_the_new_triggers_without_a_rebuild(
        database_url: str) -> None:
    from alembic import command

    from corral.config import Settings
    from corral.storage.migrate import alembic_config

    c = Corral.open(Settings(database_url=database_url, run_worker=False))
    c.seed()
    leads = c.registry.require("Leads")
    name = f"fts_m{leads.id}"
    with c.db.read() as tx:
        new = tx.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = :n"),
                         {"n": f"{name}_au"}).scalar_one()
    assert "IS NOT" in new
    old = new.split(" AND (old.module_id IS NOT")[0] + " BEGIN" + new.split(" BEGIN", 1)[1]
    with c.db.write() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0015_field_indexes")
        conn.exec_driver_sql(f"DROP TRIGGER {name}_au")
        conn.exec_driver_sql(old)  # the trigger as 0015 left it
        # A row no record has: gone if the table were rebuilt from the records.
        column = conn.exec_driver_sql(f"SELECT name FROM pragma_table_info('{name}')").scalar()
        conn.exec_driver_sql(f"INSERT INTO {name}(rowid, {column}) VALUES (1, 'Marker')")
    c.close()
    c = Corral.open(Settings(database_url=database_url, run_worker=False))  # migrates
    with c.db.read() as tx:
        assert tx.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = :n"),
                          {"n": f"{name}_au"}).scalar_one() == new
        assert tx.exec_driver_sql(
            f"SELECT rowid FROM {name} WHERE {name} MATCH '\"arker\"'").scalar() == 1
    c.close()


# ----------------------------------------------------------------------------- the queue
def queue_length(corral: Corral) -> int:
    with corral.db.read() as tx:
        return int(tx.exec_driver_sql("SELECT count(*) FROM text_index_pending").scalar_one())


def write_plain_sql(corral: Corral, statement: str, **values: object) -> None:
    """A write that bypasses Corral (a bulk load in plain SQL): it leaves its records queued."""
    with corral.db.write() as tx:
        tx.execute(sa.text(statement), values)


def fts_integrity(corral: Corral, module: str = "Leads") -> None:
    """FTS5's own check of the index structure (raises on a corrupt index)."""
    name = f"fts_m{corral.registry.require(module).id}"
    with corral.db.write() as tx:
        tx.exec_driver_sql(f"INSERT INTO {name}({name}, rank) VALUES ('integrity-check', 0)")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PG: no queue
def test_corral_writes_leave_nothing_queued(api: Api, corral: Corral) -> None:
    ids = api.insert("Leads", *[{"Last_Name": f"Q{i}", "Company": f"Queued {i}"}
                                for i in range(5)])
    assert api.put("Leads", json={"data": [{"id": ids[0], "Company": "Numbat Nest"}]}
                   ).status_code == 200
    assert api.post("Leads/upsert", json={"data": [{"Last_Name": "Q9", "Company": "Upserted"}]}
                    ).status_code in {200, 201}
    assert api.delete(f"Leads/{ids[1]}").status_code == 200
    assert queue_length(corral) == 0
    assert company_search(api, "mbat ne") == {ids[0]}
    assert company_search(api, "ueued 1") == set()  # deleted
    fts_integrity(corral)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PG: no queue
def test_records_written_in_plain_sql_are_found_while_queued_and_once_indexed(
        api: Api, corral: Corral) -> None:
    a, b = api.insert("Leads", {"Last_Name": "P1", "Company": "Platypus Place"},
                      {"Last_Name": "P2", "Company": "Echidna End"})
    # Updated twice outside Corral: the index holds the first document until the queue is
    # applied, and must lose exactly that one.
    for company in ("Wallaby Way", "Wombat Walk"):
        write_plain_sql(corral, "UPDATE records SET data = json_set(data, '$.Company', :c) "
                        "WHERE id = :id", c=company, id=int(a))
    write_plain_sql(corral, "DELETE FROM records WHERE id = :id", id=int(b))
    assert queue_length(corral) == 2
    assert company_search(api, "atypus") == set()
    assert company_search(api, "allaby") == set()
    assert company_search(api, "mbat wa") == {a}
    assert company_search(api, "chidna") == set()
    # A Corral write of a queued record keeps it queued with the document the index holds.
    assert api.put("Leads", json={"data": [{"id": a, "Company": "Koala Korner"}]}
                   ).status_code == 200
    assert company_search(api, "mbat wa") == set()
    assert company_search(api, "ala kor") == {a}
    assert corral.metadata.maintain_indexes() is False  # indexed the whole backlog
    assert queue_length(corral) == 0
    assert company_search(api, "ala kor") == {a}
    assert company_search(api, "atypus") == set()
    fts_integrity(corral)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PG: no queue
def test_the_background_step_indexes_a_large_backlog_in_bounded_steps(
        api: Api, corral: Corral, monkeypatch: pytest.MonkeyPatch) -> None:
    from corral.metadata import text_index

    monkeypatch.setattr(text_index, "FLUSH_RECORDS", 3)
    ids = api.insert("Leads", *[{"Last_Name": f"B{i}", "Company": f"Bilby {i}"}
                                for i in range(7)])
    write_plain_sql(corral, "UPDATE records SET data = json_set(data, '$.Company', "
                    "'Bettong ' || id) WHERE module_id = :m",
                    m=corral.registry.require("Leads").id)
    assert queue_length(corral) == 7
    steps = 0
    while corral.metadata.maintain_indexes():  # True while a backlog remains
        steps += 1
    assert steps == 2 and queue_length(corral) == 0
    assert company_search(api, "bettong") == set(ids)
    assert company_search(api, "bilby") == set()
    fts_integrity(corral)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PG: no queue
def test_a_rebuild_with_records_queued_keeps_the_index_exact(api: Api, corral: Corral) -> None:
    [a] = api.insert("Leads", {"Last_Name": "R", "Company": "Rosella Rest"})
    write_plain_sql(corral, "UPDATE records SET data = json_set(data, '$.Company', "
                    "'Galah Grove') WHERE id = :id", id=int(a))
    leads = corral.registry.require("Leads")
    corral.metadata.add_field(leads, {"api_name": "Nickname", "label": "Nickname",
                                      "type": "text"})  # new fields: the table is rebuilt
    assert queue_length(corral) == 0
    assert company_search(api, "osella") == set()
    assert company_search(api, "alah gr") == {a}
    fts_integrity(corral)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PG: no triggers
def test_database_migrated_from_0016_queues_without_a_rebuild(database_url: str) -> None:
    from alembic import command

    from corral.config import Settings
    from corral.storage.migrate import alembic_config

    c = Corral.open(Settings(database_url=database_url, run_worker=False))
    c.seed()
    name = f"fts_m{c.registry.require('Leads').id}"
    with c.db.write() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0016_text2")
        for suffix in ("_ai", "_ad", "_au", "_ap"):  # as if 0016's Corral had built them
            conn.exec_driver_sql(f"DROP TRIGGER {name}{suffix}")
        conn.exec_driver_sql("DROP TABLE text_index_pending")
        column = conn.exec_driver_sql(f"SELECT name FROM pragma_table_info('{name}')").scalar()
        conn.exec_driver_sql(f"INSERT INTO {name}(rowid, {column}) VALUES (1, 'Marker')")
    c.close()
    c = Corral.open(Settings(database_url=database_url, run_worker=False))  # migrates
    with c.db.read() as tx:
        assert tx.exec_driver_sql(
            f"SELECT count(*) FROM sqlite_master WHERE name LIKE '{name}__p'").scalar() == 1
        assert tx.exec_driver_sql(
            f"SELECT rowid FROM {name} WHERE {name} MATCH '\"arker\"'").scalar() == 1
    c.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PG: nothing to merge
def test_the_background_step_keeps_merging_while_segments_remain(
        api: Api, corral: Corral, monkeypatch: pytest.MonkeyPatch) -> None:
    from corral.metadata import text_index
    from corral.storage.repositories.text_index import TextIndexRepository

    monkeypatch.setattr(text_index, "MERGE_PAGES", 1)  # many small steps
    for start in range(0, 200, 10):  # one FTS5 segment per transaction
        api.insert("Leads", *[{"Last_Name": f"S{i}", "Company": f"Segment {i:04d}"}
                              for i in range(start, start + 10)])
    calls = 0
    while True:  # within the same minute: only the steps after a step that found work
        corral.metadata.maintain_indexes()
        calls += 1
        if not corral.metadata._merging:
            break
        assert calls < 500
    assert calls > 2
    with corral.db.write() as tx:  # nothing left that a merge of any size would do
        assert not TextIndexRepository().merge(tx, corral.registry.require("Leads").id, 1000)
    assert company_search(api, "gment 0123") == {
        i for i in searched(api, {"criteria": "(Last_Name:equals:S123)"})}
