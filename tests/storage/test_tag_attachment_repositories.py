"""TagRepository and AttachmentRepository: what they write and read back, on both backends."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime

import pytest

from corral.services import Corral
from corral.storage.errors import StorageConflict
from corral.storage.repositories.attachments import AttachmentRepository, StoredAttachment
from corral.storage.repositories.tags import StoredTag, TagRepository

NOW = datetime(2026, 12, 1, 8, 0, 0)


def test_tags_of_a_module_in_id_order_update_and_delete(corral: Corral) -> None:
    repo = TagRepository()
    leads = corral.registry.require("Leads")
    contacts = corral.registry.require("Contacts")
    a, b, c = sorted(corral.db.new_ids(3))
    with corral.db.write() as tx:
        repo.insert_many(tx, [StoredTag(b, leads.id, "B", None, 1, NOW, 1, NOW),
                              StoredTag(a, leads.id, "A", "#57B1FD", 1, NOW, 1, NOW),
                              StoredTag(c, contacts.id, "C", None, 1, NOW, 1, NOW)])
        repo.insert_many(tx, [])
    with corral.db.read() as tx:
        assert [t.name for t in repo.of_module(tx, leads.id)] == ["A", "B"]
        assert set(repo.by_ids(tx, [a, c])) == {a, c}
        assert repo.by_ids(tx, []) == {}
    with corral.db.write() as tx:
        old = repo.by_ids(tx, [a])[a]
        repo.update(tx, replace(old, name="AA", color_code=None, modified_by=2))
        repo.delete(tx, b)
    with corral.db.read() as tx:
        (tag,) = repo.of_module(tx, leads.id)
    assert (tag.name, tag.color_code, tag.modified_by, tag.created_time) == ("AA", None, 2, NOW)


def test_attachments_rows_and_bytes_newest_first_and_deleted_together(corral: Corral) -> None:
    repo = AttachmentRepository()
    leads = corral.registry.require("Leads")
    f, link = sorted(corral.db.new_ids(2))
    content = os.urandom(4096) + b"\x00"

    def att(aid: int, **kw: object) -> StoredAttachment:
        base = StoredAttachment(id=aid, module_id=leads.id, record_id=77, file_name="f.bin",
                                size=len(content), content_type="application/pdf",
                                sha256="ab", link_url=None, owner_id=1, created_by=1,
                                created_time=NOW, modified_by=1, modified_time=NOW)
        return replace(base, **kw)  # type: ignore[arg-type]

    with corral.db.write() as tx:
        repo.insert(tx, att(f), content)
        repo.insert(tx, att(link, link_url="https://x.example", size=0, sha256=None), None)
    with corral.db.read() as tx:
        assert [a.id for a in repo.of_record(tx, 77)] == [link, f]
        assert [a.id for a in repo.of_record(tx, 77, offset=1, limit=1)] == [f]
        assert repo.of_record(tx, 78) == []
        assert repo.by_ids(tx, 77, [f])[f] == att(f)
        assert repo.by_ids(tx, 78, [f]) == {} and repo.by_ids(tx, 77, []) == {}
        assert repo.content(tx, f) == content
        assert repo.content(tx, link) is None
    with corral.db.write() as tx:
        repo.delete(tx, [f])
        repo.delete(tx, [])
    with corral.db.read() as tx:
        assert [a.id for a in repo.of_record(tx, 77)] == [link]
        assert repo.content(tx, f) is None


def test_the_database_refuses_two_tags_of_a_module_differing_in_case_only(
        corral: Corral) -> None:
    repo = TagRepository()
    leads = corral.registry.require("Leads")
    contacts = corral.registry.require("Contacts")
    a, b, c = corral.db.new_ids(3)
    with corral.db.write() as tx:
        repo.insert_many(tx, [StoredTag(a, leads.id, "Hot", None, 1, NOW, 1, NOW),
                              StoredTag(c, contacts.id, "HOT", None, 1, NOW, 1, NOW)])
    with pytest.raises(StorageConflict), corral.db.write() as tx:
        repo.insert_many(tx, [StoredTag(b, leads.id, "hOT", None, 1, NOW, 1, NOW)])
