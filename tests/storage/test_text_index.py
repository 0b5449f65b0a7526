"""The text index's DDL (`TextIndexRepository.sync`): a no-op when the fields are unchanged,
a rebuild from the module's records when they change, nothing left when none is indexed; and
which narrowing a `TextMatch` becomes."""

from __future__ import annotations

from sqlalchemy.sql.elements import True_

from corral.metadata.text_index import indexed_text, is_indexed
from corral.services import Corral
from corral.storage.filters import IndexedText, TextMatch
from corral.storage.repositories.text_index import (
    TextIndexRepository,
    TrigramSample,
    choose_parts,
    text_match_sql,
)
from tests.api.test_text_search import company_search
from tests.conftest import Api


def test_sync_is_a_no_op_until_the_fields_change_then_rebuilds(api: Api, corral: Corral) -> None:
    leads = corral.registry.require("Leads")
    fields = [indexed_text(f) for f in leads.fields if is_indexed(f)]
    repo = TextIndexRepository()
    with corral.db.write() as tx:
        assert repo.sync(tx, leads.id, fields) is False
    [a] = api.insert("Leads", {"Last_Name": "P", "Company": "Platypus Partners"})
    with corral.db.write() as tx:  # fewer fields: rebuilt from the records
        assert repo.sync(tx, leads.id, fields[:3]) is True
        assert repo.sync(tx, leads.id, []) is True  # none: nothing left
        assert repo.sync(tx, leads.id, []) is False
        assert repo.sync(tx, leads.id, fields) is True  # and back, with the records
    assert company_search(api, "atypus") == {a}


def test_a_narrowing_that_cannot_use_the_index_selects_every_record() -> None:
    def narrows(node: TextMatch) -> bool:
        return not isinstance(text_match_sql(node), True_)

    company, odd = IndexedText(1, "Company"), IndexedText(2, "Odd-Name")
    assert not narrows(TextMatch(7, (company,), "ab", (company,)))  # too short for trigrams
    assert not narrows(TextMatch(7, (odd,), "abc", (company, odd)))  # not a plain key
    assert not narrows(TextMatch(7, (company,), "abc", ()))  # not in the index
    assert narrows(TextMatch(7, (company,), "abc", (company,)))
    assert "Company" in str(text_match_sql(TextMatch(7, (company,), "abc", (company,))))


def parts_of(sample: TrigramSample, text: str) -> list[str]:
    low = text.lower()
    return [low[a - 1:a - 1 + n] for a, n in choose_parts(sample, text)]


def test_postgresql_looks_up_the_uncommon_parts_of_the_text() -> None:
    sample = TrigramSample([f"last{i} lead{i:08d}@example.com" for i in range(0, 1_000_000, 997)])
    # "lea", "ead", "ad0", "d00", "000" are in every document: left out.
    parts = parts_of(sample, "LEAD00000777")
    assert parts and all(p in "lead00000777" for p in parts)
    assert not any("lea" in p or "d00" in p for p in parts), parts
    parts = parts_of(sample, "Last123456")
    assert "las" not in "".join(parts) and "123456" in "".join(parts), parts
    # Common trigrams only, too short, no trigram pg_trgm indexes as it is, an empty sample,
    # a lower() that changes the length: the whole text.
    assert parts_of(sample, "example") == []
    assert parts_of(sample, "@example.com") == []
    assert parts_of(sample, "ab") == []
    assert parts_of(sample, "@.-_%") == []
    assert parts_of(TrigramSample([]), "lead00000777") == []
    assert parts_of(sample, "İstanbul 777") == []
    # Rare everywhere (none of its trigrams is in the sample): the whole text.
    assert parts_of(sample, "zzyzx") == []
