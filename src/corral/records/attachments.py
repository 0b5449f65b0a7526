"""Attachments of records: files (bytes kept in the database) and links.

An attachment is not a record, but adding or removing one is a change of its parent: it runs as
an update of the parent through the one write path, whose `$attachments` pseudo-field (the ids
of the parent's attachments) is change-logged with its before and after lists, in the same
transaction as the attachment row and its bytes. The write path also refuses a parent that is
not live, so a record in the recycle bin gets no attachments, and its attachments are not listed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from corral.errors import CorralError, DownloadNotAllowed, InvalidData
from corral.metadata.model import Module
from corral.records import validate as v
from corral.records.service import RecordService
from corral.records.writes import Planned, WriteContext
from corral.storage.database import Tx
from corral.storage.repositories.attachments import AttachmentRepository, StoredAttachment

FIELD = "$attachments"
MAX_FILE_SIZE = 20 * 1024 * 1024  # Zoho: "File size should not exceed 20 MB"


def log_lists(records: RecordService, tx: Tx, module: Module, record_ids: Sequence[int],
              ctx: WriteContext) -> CorralError | None:
    """Each record's `$attachments` becomes the ids of the attachments it holds now, through
    the write path (after attachments moved between records: a merge, its revert)."""
    repo = AttachmentRepository()
    plans = [Planned(i, v.Checked(values={FIELD: [str(a) for a in sorted(
        att.id for att in repo.of_record(tx, rid))]}), target=rid, op="update")
             for i, rid in enumerate(dict.fromkeys(record_ids))]
    for outcome in records.write_batch(module, plans, replace(ctx, trigger=()), conn=tx,
                                       ids=[]):
        if outcome.error is not None:
            return outcome.error
    return None


def _invalid_record() -> InvalidData:
    return InvalidData("the related id given seems to be invalid", {"resource_path_index": 1})


class AttachmentService:
    def __init__(self, records: RecordService, clock: Callable[[], datetime]) -> None:
        self.records = records
        self.db = records.db
        self.clock = clock
        self.repo = AttachmentRepository()

    def _parent_live(self, tx: Tx, module: Module, record_id: int) -> None:
        if record_id not in self.records.load(tx, module, [record_id]):
            raise _invalid_record()

    def _log(self, tx: Tx, module: Module, record_id: int, ids: list[int],
             ctx: WriteContext) -> None:
        """The parent's `$attachments` becomes `ids`, through the write path."""
        plan = Planned(0, v.Checked(values={FIELD: [str(i) for i in ids]}), target=record_id,
                       op="update")
        (outcome,) = self.records.write_batch(module, [plan], replace(ctx, trigger=()),
                                              conn=tx)
        if outcome.error is not None:
            raise outcome.error

    def attach(self, module: Module, record_id: int, *, file_name: str | None,
               content_type: str | None, content: bytes | None, sha256: str | None,
               link_url: str | None, ctx: WriteContext) -> StoredAttachment:
        """Store a file (`content`) or a link (`link_url`) as the record's newest attachment."""
        (new_id,) = self.db.new_ids(1)
        now = self.clock()
        user = ctx.principal.user.id

        def work(tx: Tx) -> StoredAttachment:
            self._parent_live(tx, module, record_id)
            att = StoredAttachment(
                id=new_id, module_id=module.id, record_id=record_id, file_name=file_name,
                size=len(content) if content is not None else 0, content_type=content_type,
                sha256=sha256, link_url=link_url, owner_id=user, created_by=user,
                created_time=now, modified_by=user, modified_time=now)
            self.repo.insert(tx, att, content)
            ids = [a.id for a in self.repo.of_record(tx, record_id)]
            self._log(tx, module, record_id, sorted(ids), ctx)
            return att

        return self.records.in_write_transaction(work)

    def of_record(self, module: Module, record_id: int, *, offset: int,
                  limit: int) -> list[StoredAttachment]:
        with self.db.read() as tx:
            self._parent_live(tx, module, record_id)
            return self.repo.of_record(tx, record_id, offset=offset, limit=limit)

    def download(self, module: Module, record_id: int,
                 attachment_id: int) -> tuple[StoredAttachment, bytes]:
        with self.db.read() as tx:
            self._parent_live(tx, module, record_id)
            att = self.repo.by_ids(tx, record_id, [attachment_id]).get(attachment_id)
            if att is None:
                raise InvalidData("the id given seems to be invalid",
                                  {"resource_path_index": 3})
            if att.link_url is not None:
                raise DownloadNotAllowed("link attachments cannot be downloaded",
                                         {"id": str(att.id)})
            content = self.repo.content(tx, att.id)
        return att, content or b""

    def delete(self, module: Module, record_id: int, raw_ids: Sequence[str],
               ctx: WriteContext) -> list[tuple[str, CorralError | None]]:
        """Delete the given attachments of the record; one (id, error) per id."""

        def work(tx: Tx) -> list[tuple[str, CorralError | None]]:
            self._parent_live(tx, module, record_id)
            wanted = {raw: v.parse_record_id(raw) for raw in raw_ids}
            found = self.repo.by_ids(tx, record_id, {i for i in wanted.values() if i})
            out: list[tuple[str, CorralError | None]] = [
                (raw, None if rid in found else InvalidData(
                    "the id given seems to be invalid", {"id": raw}))
                for raw, rid in wanted.items()]
            if found:
                self.repo.delete(tx, list(found))
                ids = [a.id for a in self.repo.of_record(tx, record_id)]
                self._log(tx, module, record_id, sorted(ids), ctx)
            return out

        return self.records.in_write_transaction(work)
