"""The job runner's hooks for kinds beyond mass update: items done with their own state and
record (ItemDone), and `finished` heard in the transaction that completes or fails a job."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from corral.errors import InvalidData
from corral.jobs.runner import ItemDone, ItemOutcome, JobCannotRun, JobRunner
from corral.services import Corral
from corral.storage import tables as t
from corral.storage.database import Tx
from corral.storage.repositories.jobs import Job, JobItem, JobRepository


class Rows:
    """Even rows become record 1000+seq `added`; odd ones fail; `broken` fails the job."""

    def __init__(self) -> None:
        self.heard: list[tuple[int, str]] = []
        self.broken = False

    def run_items(self, tx: Tx, job: Job, items: list[JobItem]) -> Sequence[ItemOutcome]:
        if self.broken:
            raise JobCannotRun("gone")
        return [ItemDone("added", 1000 + i.seq) if i.data[0] % 2 == 0 else InvalidData()
                for i in items]

    def finished(self, tx: Tx, job: Job) -> None:
        self.heard.append((job.id, job.status))
        # in the completing transaction: a write here commits with it
        tx.execute(sa.update(t.jobs).where(t.jobs.c.id == job.id).values(request_id="heard"))


def _job(job_id: int, module_id: int, now: datetime, n: int) -> Job:
    return Job(id=job_id, kind="rows", module_id=module_id, status="SCHEDULED", cvid=None,
               payload={}, total=n, created_by=1, created_time=now, started_time=None,
               finished_time=None, request_id=None)


def test_item_states_records_and_finished_hook(corral: Corral) -> None:
    rows = Rows()
    runner = JobRunner(corral.db, corral.registry, corral.clock, {"rows": rows}, chunk=3)
    repo = JobRepository()
    module_id = corral.registry.require("Leads").id
    with corral.db.write() as tx:
        repo.create(tx, _job(1, module_id, corral.clock(), 5), [], rows=[[i] for i in range(5)])
    assert runner.run_until_idle() == 2
    with corral.db.read() as tx:
        assert repo.item_counts(tx, 1) == {"added": 3, "failed": 2}
        results = repo.results(tx, 1, -1, 10)
        job = repo.get(tx, 1)
    assert [(r.state, r.record_id, r.data) for r in results] == [
        ("added", 1000, [0]), ("failed", 0, [1]), ("added", 1002, [2]), ("failed", 0, [3]),
        ("added", 1004, [4])]
    assert rows.heard == [(1, "COMPLETED")]
    assert job is not None and (job.status, job.request_id) == ("COMPLETED", "heard")

    rows.broken = True
    with corral.db.write() as tx:
        repo.create(tx, _job(2, module_id, corral.clock(), 2), [], rows=[[0], [2]])
    runner.run_until_idle()
    assert rows.heard[-1] == (2, "FAILED")
