"""Substring indexes over a module's text fields, so that "contains" searches (search `equals`
on text, `phone=`, `word=`, COQL `like '%x%'`) look values up instead of scanning every record.

SQLite: one FTS5 table per module, `fts_m<module id>`, with the `trigram` tokenizer, one column
per indexed field (`f<field id>`), rowid = the record id. It is contentless (`content=''`): the
values live in `records.data` only. Triggers on `records` queue each written record in
`text_index_pending` with the document the index holds for it, and the repository call that
wrote the records indexes the queue in the writing transaction (`flush_since`: one DELETE, whose
trigger takes the old document out and puts the record's current one in; SQLite 3.40 has no
`contentless_delete`, so FTS5 is handed the old values, read exactly as the insert read them).
Rows written in plain SQL by another program stay queued: every lookup adds the queued records
to its candidates, and `flush_pending` (the background step) indexes them. The update trigger
queues nothing unless an indexed value (or the module) changed: most updates leave the text
alone, and it compares the values in one `json_extract` per 100 fields instead of re-tokenising
them (a contentless table can only re-index a whole row, so an update that changes one text
field still re-indexes all of the record's). Deleted records stay indexed (the search's own
condition drops them), so a restore needs no index work. A search looks up only the text's
trigrams that are not in most of the module's records (`_sqlite_query`), so its cost does not
grow with the module; text of fewer than three characters is not narrowed (scanned).

PostgreSQL: one pg_trgm GIN index per module, partial (`WHERE module_id = <id>`), on the
lower-cased concatenation of its text fields (`lower(coalesce(data ->> 'A', '') || ' ' || ...)`):
a value containing the text implies the concatenation does, so `TextMatch` renders that same
expression LIKE the pattern (key and module id literal, so the planner matches the index in
generic plans too) and the exact condition rechecks. One index rather than one per field: a
Leads insert then updates one GIN index instead of ~24 (each also storing an entry for every
empty field), and `word=` is one index scan instead of a BitmapOr of ~24. The index name
carries a digest of its field list, so a changed list builds a new index. Without the pg_trgm
extension (it could not be created) no index is built and the narrowing is a redundant
condition, still correct. pg_trgm reads every trigram's whole posting list and PostgreSQL keeps
no per-trigram statistics, so a search's `TextMatch`es are resolved before its statement is
compiled (`resolve_text_matches`, called by `RecordSearch`): a small sample of the module's
documents, kept in-process, picks the uncommon parts of the text, looked up as `LIKE` each
(`choose_parts`); every part is a substring of the lower-cased text, bound, never SQL text.

Which fields are indexed is decided above storage (`metadata/text_index.py`); here is the DDL,
checked to be a no-op when nothing changed, and how a `TextMatch` becomes SQL. Both are built
from integers and keys matching `KEY_RE` only: no user text reaches SQL as text.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal

from corral.storage import tables as t
from corral.storage.database import Tx
from corral.storage.filters import And, Filter, IndexedText, Not, Or, TextMatch

log = logging.getLogger(__name__)

# Keys rendered as literal JSON paths in DDL and queries: nothing else is indexed.
KEY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")
# Indexed paths per json_extract call in the update trigger's comparison.
TRIGGER_PATHS = 100
# Trigram indexes find values of three characters or more; shorter text is not narrowed.
MIN_INDEXED_LENGTH = 3


def indexable_key(key: str) -> bool:
    return KEY_RE.match(key) is not None


def fts_table(module_id: int) -> str:
    return f"fts_m{int(module_id)}"


def _column(field_id: int) -> str:
    return f"f{int(field_id)}"


def _pg_index_prefix(module_id: int) -> str:
    return f"ix_trgm_m{int(module_id)}_"


def _pg_index_name(module_id: int, fields: Sequence[IndexedText]) -> str:
    listed = ",".join(f"{f.field_id}:{f.key}" for f in fields)
    return _pg_index_prefix(module_id) + hashlib.sha1(listed.encode()).hexdigest()[:12]


def _pg_document(data: str, fields: Sequence[IndexedText]) -> str:
    """The indexed expression: every field's text, lower-cased, one space apart."""
    parts = " || ' ' || ".join(f"coalesce({data} ->> '{f.key}', '')" for f in fields)
    return f"lower({parts})"


def _checked(fields: Sequence[IndexedText]) -> list[IndexedText]:
    for f in fields:
        if not indexable_key(f.key):
            raise ValueError(f"not an indexable key: {f.key!r}")
    return sorted(set(fields), key=lambda f: f.field_id)


# ----------------------------------------------------------------------------- DDL
class TextIndexRepository:
    """Creates, rebuilds and drops the text index of a module."""

    def sync(self, tx: Tx, module_id: int, fields: Sequence[IndexedText]) -> bool:
        """Make the module's index cover exactly `fields` (none: no index); True when it
        changed. On SQLite a changed field set rebuilds the module's table from its records."""
        wanted = _checked(fields)
        if tx.dialect.name == "sqlite":
            return _sync_sqlite(tx, int(module_id), wanted)
        return _sync_postgresql(tx, int(module_id), wanted)

    def fts_query(self, tx: Tx, module_id: int, fields: Sequence[IndexedText],
                  text: str) -> str:
        """SQLite only: the FTS5 query a `TextMatch` of `text` in `fields` runs now (which
        trigrams it kept), for tests and benchmarks."""
        columns = " ".join(_column(f.field_id) for f in _checked(fields))
        query = _sqlite_query(fts_table(module_id), columns, int(module_id), ":text")
        return str(tx.execute(sa.text(f"SELECT {query}"), {"text": text}).scalar_one())

    def merge(self, tx: Tx, module_id: int, pages: int) -> bool:
        """SQLite: merge the module's FTS5 segments, writing about `pages` pages at most
        (FTS5 `'merge', -pages`: any level with two segments or more); True when there was
        work, so more may remain. A contains search probes every segment, so fewer segments
        make each probe cheaper. PostgreSQL: nothing to do (False)."""
        name = fts_table(module_id)
        if tx.dialect.name != "sqlite" or tx.execute(sa.text(
                "SELECT 1 FROM sqlite_master WHERE name = :t"), {"t": name}).first() is None:
            return False
        before = int(tx.exec_driver_sql("SELECT total_changes()").scalar_one())
        tx.execute(sa.text(f"INSERT INTO {name}({name}, rank) VALUES ('merge', :pages)"),
                   {"pages": -abs(int(pages))})
        # FTS5's documented test: two changes or more mean that segments were merged.
        return int(tx.exec_driver_sql("SELECT total_changes()").scalar_one()) - before >= 2

    def has_trigram(self, tx: Tx) -> bool:
        """PostgreSQL only: whether pg_trgm is installed (indexes are built only then)."""
        return tx.execute(sa.text(
            "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first() is not None


PENDING = "text_index_pending"
# A queued record: its module now (None: deleted) and, when the index holds it, the module and
# document it was indexed as.
PENDING_DDL = (f"CREATE TABLE IF NOT EXISTS {PENDING} (seq INTEGER PRIMARY KEY, "
               "record_id INTEGER NOT NULL UNIQUE, module_id INTEGER, old_module_id INTEGER, "
               "old_data TEXT)")


def _sqlite_ddl(module_id: int, fields: list[IndexedText]) -> list[str]:
    """The table, then the triggers that queue its records' changes (insert, delete, update
    of `records`) and the one that applies them (delete from the queue).

    Writing the FTS5 table from the `records` triggers cost ~45 us more per record than
    writing the same rows in one statement: every row of an executemany is a statement of
    its own, and FTS5 flushes its pending terms to a new segment at each statement's
    savepoint. So a write queues the record (`PENDING`, one small row; its old document
    when that is what the index holds) and `flush_since` applies the queue in one DELETE
    whose trigger re-indexes each record. The queue keeps the first old document of a
    record (a later write of a queued record only updates its module): the one the index
    holds until the queue is applied."""
    name = fts_table(module_id)
    cols = ", ".join(_column(f.field_id) for f in fields)

    def values(data: str) -> str:
        return ", ".join(f"json_extract({data}, '$.{f.key}')" for f in fields)

    # The indexed values compared in a few calls (one JSON parse each; a function takes at
    # most 127 arguments on older SQLite builds).
    groups = [fields[i:i + TRIGGER_PATHS] for i in range(0, len(fields), TRIGGER_PATHS)]

    def texts(row: str, group: list[IndexedText]) -> str:
        return f"json_extract({row}.data, " + ", ".join(f"'$.{f.key}'" for f in group) + ")"

    changed = " OR ".join(f"{texts('old', g)} IS NOT {texts('new', g)}" for g in groups)

    def queue(record: str, module: str, old_module: str, old_data: str) -> str:
        return (f"INSERT INTO {PENDING}(record_id, module_id, old_module_id, old_data) "
                f"VALUES ({record}, {module}, {old_module}, {old_data}) "
                "ON CONFLICT (record_id) DO UPDATE SET module_id = excluded.module_id")

    return [
        f"CREATE VIRTUAL TABLE {name} USING fts5({cols}, content='', "
        f"tokenize='trigram case_sensitive 0')",
        f"CREATE TRIGGER {name}_ai AFTER INSERT ON records WHEN new.module_id = {module_id} "
        f"BEGIN {queue('new.id', 'new.module_id', 'NULL', 'NULL')}; END",
        f"CREATE TRIGGER {name}_ad AFTER DELETE ON records WHEN old.module_id = {module_id} "
        f"BEGIN {queue('old.id', 'NULL', 'old.module_id', 'old.data')}; END",
        # Only when an indexed value (or the module) changed: most updates leave the text
        # fields alone, and re-tokenising them (old and new) cost more than the comparison.
        f"CREATE TRIGGER {name}_au AFTER UPDATE OF data, module_id ON records "
        f"WHEN (old.module_id = {module_id} OR new.module_id = {module_id}) "
        f"AND (old.module_id IS NOT new.module_id OR {changed}) "
        f"BEGIN {queue('old.id', 'new.module_id', 'old.module_id', 'old.data')}; END",
        # Applying one queued record: out with the document the index holds (a contentless
        # table needs its exact values), in with the record as it is now.
        f"CREATE TRIGGER {name}_ap AFTER DELETE ON {PENDING} "
        f"WHEN old.old_module_id = {module_id} OR old.module_id = {module_id} "
        f"BEGIN INSERT INTO {name}({name}, rowid, {cols}) "
        f"SELECT 'delete', old.record_id, {values('old.old_data')} "
        f"WHERE old.old_module_id = {module_id} AND old.old_data IS NOT NULL; "
        f"INSERT INTO {name}(rowid, {cols}) SELECT id, {values('data')} FROM records "
        f"WHERE id = old.record_id AND module_id = {module_id}; END",
    ]


_TRIGGERS = ("_ai", "_ad", "_au", "_ap")


def pending_mark(tx: Tx) -> int:
    """SQLite: the queue's last position, before a write whose records `flush_since` will
    index (0 on PostgreSQL, which has no queue)."""
    if tx.dialect.name != "sqlite":
        return 0
    return int(tx.exec_driver_sql(f"SELECT coalesce(max(seq), 0) FROM {PENDING}").scalar_one())


def flush_since(tx: Tx, mark: int) -> None:
    """SQLite: index the records queued after `mark` (by the write since `pending_mark`), in
    the writing transaction: one statement, so FTS5 writes one segment for all of them.
    Records queued earlier (written by SQL outside Corral) are left to `flush_pending`."""
    if tx.dialect.name == "sqlite":
        tx.exec_driver_sql(f"DELETE FROM {PENDING} WHERE seq > ?", (int(mark),))


@contextmanager
def indexing_text(tx: Tx) -> Iterator[None]:
    """Around a write of `records` rows: index the text of the records it wrote, once the
    block ends (`pending_mark`, then `flush_since`)."""
    mark = pending_mark(tx)
    yield
    flush_since(tx, mark)


def flush_pending(tx: Tx, limit: int) -> int:
    """SQLite: index at most `limit` of the oldest queued records (a backlog left by writes
    that bypassed Corral, e.g. a bulk load in plain SQL); how many it indexed. Until then
    searches still find them: a text lookup adds every queued record to its candidates."""
    if tx.dialect.name != "sqlite" or not _has_queue(tx):
        return 0
    return int(tx.exec_driver_sql(
        f"DELETE FROM {PENDING} WHERE seq IN (SELECT seq FROM {PENDING} ORDER BY seq "
        "LIMIT ?)", (int(limit),)).rowcount)


def queued(tx: Tx) -> bool:
    """SQLite: whether any record waits in the queue (a read)."""
    return (tx.dialect.name == "sqlite" and _has_queue(tx)
            and tx.exec_driver_sql(f"SELECT 1 FROM {PENDING} LIMIT 1").first() is not None)


def _has_queue(tx: Tx) -> bool:
    return tx.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                              (PENDING,)).first() is not None


def _sync_sqlite(tx: Tx, module_id: int, fields: list[IndexedText]) -> bool:
    name = fts_table(module_id)
    wanted = _sqlite_ddl(module_id, fields) if fields else []
    names = [name, *(name + suffix for suffix in _TRIGGERS)]
    found: dict[str, str] = dict(tx.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE name IN ({', '.join('?' * len(names))})",
        tuple(names)).all())
    have = [found[n] for n in names if n in found]
    if have == wanted:
        return False
    if _has_queue(tx):
        # What is queued for this module goes into the index it was queued for, by the
        # triggers that queued it, before they change (a rebuild then starts from records
        # that nothing is queued for; old documents never meet an index they are not in).
        tx.exec_driver_sql(f"DELETE FROM {PENDING} WHERE old_module_id = ? OR module_id = ?",
                           (module_id, module_id))
    else:
        tx.exec_driver_sql(PENDING_DDL)
    for suffix in _TRIGGERS:
        tx.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}{suffix}")
    if wanted and have[:1] == wanted[:1]:
        # The same table (same fields): only the triggers changed (e.g. a newer Corral's);
        # the index holds the right values already, no rebuild.
        for statement in wanted[1:]:
            tx.exec_driver_sql(statement)
        return True
    tx.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    for statement in wanted:
        tx.exec_driver_sql(statement)
    if fields:
        cols = ", ".join(_column(f.field_id) for f in fields)
        values = ", ".join(f"json_extract(data, '$.{f.key}')" for f in fields)
        tx.exec_driver_sql(f"INSERT INTO {name}(rowid, {cols}) SELECT id, {values} "
                           f"FROM records WHERE module_id = {module_id}")
    return True


def _sync_postgresql(tx: Tx, module_id: int, fields: list[IndexedText]) -> bool:
    prefix = _pg_index_prefix(module_id)
    have = {r[0] for r in tx.execute(sa.text(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'records' "
        "AND starts_with(indexname, :prefix)"), {"prefix": prefix})}
    wanted = {_pg_index_name(module_id, fields)} if fields else set()
    for name in sorted(have - wanted):
        tx.exec_driver_sql(f"DROP INDEX {name}")
    missing = wanted - have
    if missing and not TextIndexRepository().has_trigram(tx):
        log.warning("pg_trgm is not installed: text searches scan their module")
        return bool(have - wanted)
    for name in missing:
        tx.exec_driver_sql(f"CREATE INDEX {name} ON records USING gin "
                           f"({_pg_document('data', fields)} gin_trgm_ops) "
                           f"WHERE module_id = {module_id}")
    return have != wanted


# ----------------------------------------------------------------------------- queries
class _TextMatchClause(ColumnElement[bool]):
    """`TextMatch` as SQL, rendered per dialect below. The module id and the fields are part
    of the statement's cache key (they are literals in the SQL); the text is a bound value."""

    inherit_cache = True
    type = sa.Boolean()
    _is_implicitly_boolean = True  # a predicate: no "= 1" where booleans are integers
    _traverse_internals = [
        ("module_id", InternalTraversal.dp_plain_obj),
        ("fields", InternalTraversal.dp_plain_obj),
        ("index", InternalTraversal.dp_plain_obj),
        ("text", InternalTraversal.dp_clauseelement),
        ("bounds", InternalTraversal.dp_clauseelement_list),
    ]

    def __init__(self, module_id: int, fields: tuple[IndexedText, ...],
                 index: tuple[IndexedText, ...], text: str,
                 parts: tuple[tuple[int, int], ...] = ()) -> None:
        self.module_id = int(module_id)
        self.fields = fields
        self.index = index
        self.text = sa.bindparam("text_match", text, type_=sa.String, unique=True)
        # PostgreSQL: (start, length) of each part, bound values (the count is the structure)
        self.bounds = [sa.bindparam("text_part", int(v), type_=sa.Integer, unique=True)
                       for part in parts for v in part]


# Trigrams sampled per probe when choosing which to look up (see _sqlite_query).
PROBE_ROWS = 64
# Trigram positions probed and looked up: a longer text is narrowed by its first ones (a
# substring still), so the probes stay bounded.
MAX_PROBED = 32
# A trigram is looked up when at most this share of the module's newest records hold it.
COMMON_SHARE = 0.5


def _sqlite_query(name: str, columns: str, module_id: int, text: str) -> str:
    """The FTS5 query that narrows to the records containing `text` (`text` is SQL: the bound
    value), built by SQLite itself from the text and the index, in the same statement.

    The text's whole phrase reads the posting list of every one of its trigrams, and a trigram
    that most records hold (`lea` in every `lead000…` email) has a list as long as the
    module: the cost grows with the table. So each distinct trigram (of the first MAX_PROBED
    positions) is probed first: from three places in the module's ids (its first live
    record, a third and two thirds of the way to its last), at most PROBE_ROWS postings
    each; how many ids they span gives the
    trigram's density there, the median of the three its density (ids are allocated in
    time, so a trigram can cluster: `st7` of `Last7…` is in every record for a while). The
    module's density is the same for its newest live records. The trigrams held by more
    than COMMON_SHARE of the module's records are dropped (the rarest one is always kept),
    and the query is the AND of the phrases that the kept trigrams' maximal runs in the text
    spell: each is a substring of the text, so a record containing the text matches all of
    them (the same or more records than the whole phrase; the exact condition decides).
    FTS5 evaluates a phrase and an AND by seeking, so the cost follows the rarest trigrams;
    every probe reads at most PROBE_ROWS postings, whatever the module's size. Quotes in the
    text are doubled inside each phrase, so FTS5 operators in it are matched as characters."""
    def phrase(value: str) -> str:
        return f"'\"' || replace({value}, '\"', '\"\"') || '\"'"

    live = (f"FROM {t.records.name} WHERE module_id = {module_id} AND deleted_time IS NULL "
            f"ORDER BY id")

    def sample(start: str) -> str:  # the trigram's density from id `start` on (the span
        # counts from `start`: a trigram first found far away is rare there)
        return (f"(SELECT CASE WHEN count(*) < {PROBE_ROWS} "
                f"THEN count(*) / (b.hi - ({start}) + 1.0) "
                f"ELSE {PROBE_ROWS}.0 / (max(rid) - ({start}) + 1) END "
                f"FROM (SELECT rowid AS rid FROM {name} WHERE {name} MATCH "
                f"'{{{columns}}} : ' || {phrase('p.tri')} AND rowid >= ({start}) "
                f"ORDER BY rowid LIMIT {PROBE_ROWS}))")

    return (
        "(WITH RECURSIVE s(t) AS (SELECT " + text + "), "
        "g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g, s "
        f"WHERE i < min(length(s.t) - 2, {MAX_PROBED})), "
        "pos(i, tri) AS (SELECT i, substr(s.t, i, 3) FROM g, s), "
        f"b(lo, hi) AS (SELECT (SELECT id {live} LIMIT 1), (SELECT id {live} DESC LIMIT 1)), "
        # The module's density; a small module keeps every trigram.
        f"m(d) AS (SELECT CASE WHEN count(*) < {PROBE_ROWS} THEN 1e9 "
        f"ELSE {PROBE_ROWS - 1}.0 / (max(id) - min(id) + 1) END "
        f"FROM (SELECT id {live} DESC LIMIT {PROBE_ROWS})), "
        f"x(tri, d1, d2, d3) AS MATERIALIZED (SELECT p.tri, {sample('b.lo')}, "
        f"{sample('b.lo + (b.hi - b.lo) / 3')}, {sample('b.lo + 2 * (b.hi - b.lo) / 3')} "
        "FROM (SELECT DISTINCT tri FROM pos) AS p, b), "
        "r(tri, d) AS MATERIALIZED (SELECT tri, "  # the median of the three
        "coalesce(max(min(d1, d2), min(max(d1, d2), d3)), 0) FROM x), "
        "k(i) AS (SELECT pos.i FROM pos JOIN r ON r.tri = pos.tri "
        f"WHERE r.d <= {COMMON_SHARE} * (SELECT d FROM m) OR r.d = (SELECT min(d) FROM r)), "
        "runs(a, z) AS (SELECT min(i), max(i) FROM "
        "(SELECT i, i - row_number() OVER (ORDER BY i) AS run FROM k) GROUP BY run) "
        f"SELECT coalesce('{{{columns}}} : (' || "
        f"group_concat({phrase('substr(s.t, a, z - a + 3)')}, ' AND ') || ')', "
        f"'{{{columns}}} : ' || {phrase('s.t')}) FROM runs, s)")


@compiles(_TextMatchClause, "sqlite")
def _sqlite_match(element: _TextMatchClause, compiler: SQLCompiler, **kw: Any) -> str:
    name = fts_table(element.module_id)
    columns = " ".join(_column(f.field_id) for f in element.fields)
    query = _sqlite_query(name, columns, element.module_id,
                          compiler.process(element.text, **kw))
    # With every queued record (`PENDING`, normally empty: Corral's writes index their records
    # before they commit), which the index does not hold yet, or holds as it was.
    return (f"{compiler.process(t.records.c.id, **kw)} IN (SELECT rowid FROM {name} "
            f"WHERE {name} MATCH {query} UNION ALL SELECT record_id FROM {PENDING})")


@compiles(_TextMatchClause)  # also what str() of a statement shows
@compiles(_TextMatchClause, "postgresql")
def _postgresql_match(element: _TextMatchClause, compiler: SQLCompiler, **kw: Any) -> str:
    # The module's indexed expression, keys literal; the pattern escaped like Op.I_CONTAINS's.
    # Narrowed (`NarrowedTextMatch`): one LIKE per part, each a substring of the lower-cased
    # text (`substr(lower(text), start, length)`), so whatever lower() does, a document
    # holding the text holds every part. All bound values: constants in a custom plan.
    def escaped(value: ColumnElement[str]) -> ColumnElement[str]:
        return sa.func.replace(sa.func.replace(sa.func.replace(
            value, "/", "//"), "%", "/%"), "_", "/_")

    if element.bounds:
        patterns = [escaped(sa.func.substr(sa.func.lower(element.text), start, length))
                    for start, length in zip(element.bounds[::2], element.bounds[1::2],
                                             strict=True)]
    else:
        patterns = [sa.func.lower(escaped(element.text))]
    document = _pg_document(compiler.process(t.records.c.data, **kw), element.index)
    module = compiler.process(t.records.c.module_id, **kw)

    def like(pattern: ColumnElement[str]) -> str:
        wrapped = sa.literal("%", sa.String) + pattern + "%"
        return f"{document} LIKE {compiler.process(wrapped, **kw)} ESCAPE '/'"

    likes = " AND ".join(like(p) for p in patterns)
    return f"({module} = {element.module_id} AND {likes})"


def _narrowable(node: TextMatch) -> bool:
    return (len(node.text) >= MIN_INDEXED_LENGTH and bool(node.fields)
            and set(node.fields) <= set(node.index)
            and all(indexable_key(f.key) for f in node.index))


def text_match_sql(node: TextMatch) -> ColumnElement[bool]:
    """The narrowing `node` asks for: every record when the text is too short for trigrams
    or a field is not in the index, else a lookup in the module's index (on PostgreSQL, of
    the uncommon parts a `NarrowedTextMatch` names)."""
    if not _narrowable(node):
        return sa.true()
    fields = tuple(sorted(set(node.fields), key=lambda f: f.field_id))
    index = tuple(sorted(set(node.index), key=lambda f: f.field_id))
    parts = node.parts if isinstance(node, NarrowedTextMatch) else ()
    return _TextMatchClause(node.module_id, fields, index, node.text, parts)




# ----------------------------------------------------------------------------- PostgreSQL
# pg_trgm reads the whole posting list of every trigram of a LIKE pattern, and PostgreSQL
# keeps no per-trigram statistics: `lead00001234` reads `lea`, `ead`, `ad0`, `d00`, each in
# every record of the bench Leads. So before a statement is compiled its `TextMatch`es are
# resolved (`resolve_text_matches`): the module's trigram frequencies, from a bounded random
# sample of its documents kept in-process, choose the uncommon parts of the text to look up.

# Documents sampled per module: the newest ones when the module has no more, else
# SAMPLE_WINDOWS runs of consecutive live records from random places in its ids (many short
# runs: neighbouring records share trigrams, `Last1234`, `Last1235`...).
SAMPLE_ROWS = 1000
SAMPLE_WINDOWS = 100
# A sample is reused for this long (seconds) unless the module's live ids changed: any change
# for a module smaller than the sample, the id span by more than SPAN_CHANGE times for a
# larger one.
SAMPLE_TTL = 300.0
SPAN_CHANGE = 1.5
# Trigram shares tried as "uncommon" (each gives a candidate set of parts).
SHARES = (0.5, 0.2, 0.05, 0.01)
# What rechecking one candidate record costs, in posting-list entries read (a heap fetch and
# the document rebuilt from JSON against ~2 ns an entry): the lookup that reads least plus
# RECHECK x the share of the sample it leaves to recheck wins.
RECHECK = 2000.0
# The parts looked up spell at least this many characters (or the whole text, if shorter):
# the planner estimates a LIKE's matches from its length, and a short pattern looks common
# enough that it would walk the primary key for a page, reading the whole module (measured:
# `'%777%'` for `Last777` at 1M Leads, 4 s).
MIN_LOOKUP = 6
# Decisions remembered per sample; samples remembered per process.
MAX_DECISIONS = 512
MAX_SAMPLES = 256


@dataclass(frozen=True)
class NarrowedTextMatch(TextMatch):
    """A `TextMatch` resolved against its module (PostgreSQL): looked up as the AND of
    `parts` of the lower-cased text, (1-based start, length) each; none: the whole text."""

    parts: tuple[tuple[int, int], ...] = ()


@dataclass
class TrigramSample:
    """Some of a module's indexed documents (lower-cased) and where each trigram occurs."""

    docs: list[str]
    signature: tuple[int, int] = (0, 0)  # the module's lowest and highest live id
    complete: bool = True  # every live document of the module is in `docs`
    taken: float = 0.0
    postings: dict[str, list[int]] = field(default_factory=dict)
    decisions: dict[str, tuple[tuple[int, int], ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.postings:
            for n, doc in enumerate(self.docs):
                for tri in {doc[i:i + 3] for i in range(len(doc) - 2)}:
                    if _word(tri):
                        self.postings.setdefault(tri, []).append(n)

    def share(self, tri: str) -> float:
        return len(self.postings.get(tri, ())) / max(1, len(self.docs))

    def holding(self, parts: Sequence[str]) -> float:
        """The share of the documents holding every one of `parts`."""
        tris = [p[i:i + 3] for p in parts for i in range(len(p) - 2) if _word(p[i:i + 3])]
        if not self.docs or not tris:
            return 1.0
        rarest = min(tris, key=lambda tri: len(self.postings.get(tri, ())))
        hits = sum(1 for n in self.postings.get(rarest, ())
                   if all(p in self.docs[n] for p in parts))
        return hits / len(self.docs)


def _word(tri: str) -> bool:
    """A trigram pg_trgm indexes as it is (letters and digits only)."""
    return len(tri) == 3 and tri.isalnum()


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive trigram positions, as (start, end) positions."""
    runs: list[tuple[int, int]] = []
    for i in positions:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def choose_parts(sample: TrigramSample, text: str) -> tuple[tuple[int, int], ...]:
    """The parts of `text` (lower-cased) to look up instead of the whole: (1-based start,
    length) each, none for the whole text.

    Candidates: for each share in SHARES, the maximal runs of the text's trigrams that at
    most that share of the sample holds (only trigrams of letters and digits, which pg_trgm
    indexes as they are). Each costs the sum of its trigrams' shares (the posting lists
    read) plus RECHECK x the share of the sample holding all its parts (the candidates to
    recheck); the whole text likewise. The cheapest wins, among those spelling at least
    MIN_LOOKUP characters. Every part is a substring of the
    text, so no record is lost whatever the sample says; a wrong guess costs time only."""
    low = text.lower()
    if len(low) != len(text) or len(low) < MIN_INDEXED_LENGTH or not sample.docs:
        return ()
    known = sample.decisions.get(low)
    if known is not None:
        return known

    def cost(parts: Sequence[str]) -> float:
        tris = {p[i:i + 3] for p in parts for i in range(len(p) - 2)}
        return (sum(sample.share(tri) for tri in tris if _word(tri))
                + RECHECK * sample.holding(parts))

    tris = [low[i:i + 3] for i in range(len(low) - 2)]
    best: tuple[tuple[int, int], ...] = ()
    best_cost = cost([low]) if any(_word(tri) for tri in tris) else 0.0
    for share in SHARES:
        kept = [i for i, tri in enumerate(tris) if _word(tri) and sample.share(tri) <= share]
        if not kept:
            break
        parts = tuple((a + 1, z - a + 3) for a, z in _runs(kept))
        if sum(n for _, n in parts) < min(MIN_LOOKUP, len(low)):
            break
        here = cost([low[a - 1:a - 1 + n] for a, n in parts])
        if here < best_cost:
            best, best_cost = parts, here
    if len(sample.decisions) >= MAX_DECISIONS:
        sample.decisions.clear()
    sample.decisions[low] = best
    return best


_samples: dict[tuple[str, int, tuple[IndexedText, ...]], TrigramSample] = {}
_samples_lock = threading.Lock()


def _live_span(tx: Tx, module_id: int) -> tuple[int, int]:
    lo, hi = tx.execute(sa.text(
        f"SELECT min(id), max(id) FROM {t.records.name} "
        f"WHERE module_id = {module_id} AND deleted_time IS NULL")).one()
    return (int(lo or 0), int(hi or 0))


def _take_sample(tx: Tx, module_id: int, index: tuple[IndexedText, ...],
                 span: tuple[int, int]) -> TrigramSample:
    document = _pg_document("data", index)
    live = f"FROM {t.records.name} WHERE module_id = {module_id} AND deleted_time IS NULL"
    newest = [str(r[0]) for r in tx.execute(sa.text(
        f"SELECT {document} {live} ORDER BY id DESC LIMIT {SAMPLE_ROWS + 1}"))]
    if len(newest) <= SAMPLE_ROWS:
        return TrigramSample(newest, span, True, time.monotonic())
    per = SAMPLE_ROWS // SAMPLE_WINDOWS
    starts = {f"s{n}": random.randint(span[0], span[1]) for n in range(SAMPLE_WINDOWS)}
    windows = " UNION ALL ".join(
        f"(SELECT {document} {live} AND id >= :{name} ORDER BY id LIMIT {per})"
        for name in starts)
    docs = [str(r[0]) for r in tx.execute(sa.text(windows), starts)]
    return TrigramSample(docs, span, False, time.monotonic())


def module_sample(tx: Tx, module_id: int, index: Sequence[IndexedText]) -> TrigramSample:
    """The module's trigram sample (PostgreSQL), taken again when it is older than
    SAMPLE_TTL or the module's live ids changed (see SPAN_CHANGE)."""
    fields = tuple(_checked(index))
    key = (str(tx.engine.url), int(module_id), fields)
    span = _live_span(tx, int(module_id))
    have = _samples.get(key)
    if have is not None and time.monotonic() - have.taken < SAMPLE_TTL:
        if have.complete and have.signature == span:
            return have
        width, was = span[1] - span[0] + 1, have.signature[1] - have.signature[0] + 1
        if not have.complete and was / SPAN_CHANGE <= width <= was * SPAN_CHANGE:
            return have
    sample = _take_sample(tx, int(module_id), fields, span)
    with _samples_lock:
        if len(_samples) >= MAX_SAMPLES:
            _samples.clear()
        _samples[key] = sample
    return sample


def resolve_text_matches(tx: Tx, node: Filter) -> Filter:
    """`node` with each `TextMatch` narrowed to its text's uncommon parts (PostgreSQL; other
    databases choose in the statement itself, see `_sqlite_query`)."""
    if tx.dialect.name != "postgresql":
        return node
    return _resolve(tx, node)


def _resolve(tx: Tx, node: Filter) -> Filter:
    if isinstance(node, TextMatch):
        if isinstance(node, NarrowedTextMatch) or not _narrowable(node):
            return node
        parts = choose_parts(module_sample(tx, node.module_id, node.index), node.text)
        return NarrowedTextMatch(node.module_id, node.fields, node.text, node.index, parts)
    if isinstance(node, And | Or):
        return replace(node, parts=tuple(_resolve(tx, p) for p in node.parts))
    if isinstance(node, Not):
        return Not(_resolve(tx, node.part))
    return node


def describe_narrowing(node: Filter) -> str:
    """The parts each resolved `TextMatch` of `node` looks up (for tests and benchmarks)."""
    if isinstance(node, NarrowedTextMatch):
        low = node.text.lower()
        return " AND ".join(repr(low[a - 1:a - 1 + n]) for a, n in node.parts) or repr(low)
    if isinstance(node, And | Or):
        return "; ".join(d for d in (describe_narrowing(p) for p in node.parts) if d)
    if isinstance(node, Not):
        return describe_narrowing(node.part)
    return ""
