"""The text index's DDL (`TextIndexRepository.sync`): a no-op when the fields are unchanged,
a rebuild from the module's records when they change, nothing left when none is indexed; and
which narrowing a `TextMatch` becomes."""

from __future__ import annotations

from sqlalchemy.sql.elements import True_

from corral.metadata.text_index import indexed_text, is_indexed
from corral.services import Corral
from corral.storage.filters import IndexedText, TextMatch
from corral.storage.repositories.text_index import TextIndexRepository, text_match_sql
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
