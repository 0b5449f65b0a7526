"""The secrets repository: a named secret is generated once and then always read back."""

from __future__ import annotations

from corral.storage.database import Database
from corral.storage.repositories.secrets import SecretRepository


def test_first_candidate_wins_and_later_ones_are_ignored(empty_db: Database) -> None:
    repo = SecretRepository()
    with empty_db.write() as tx:
        assert repo.get_or_create(tx, "page_token", "aa") == "aa"
    with empty_db.write() as tx:
        assert repo.get_or_create(tx, "page_token", "bb") == "aa"
        assert repo.get_or_create(tx, "other", "cc") == "cc"
