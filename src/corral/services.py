"""Wires the services together once per process: database, registry, auth, records, metadata.

Also the one place that says what the write path does and in which order (`write_steps`) and
which job kinds the worker runs (`job_handlers`): the core never names its add-ons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from corral.auth.scopes import ALL_SCOPES
from corral.auth.service import AuthService
from corral.automation.notifications import InstantNotifications, NotificationService
from corral.automation.service import AutomationService
from corral.automation.steps import (
    ApprovalEntry,
    ApprovalLock,
    LayoutRules,
    WorkflowActions,
    WorkflowFieldUpdates,
)
from corral.automation.webhooks import WebhookDeliverer
from corral.config import Settings
from corral.jobs.runner import JobHandler, JobRunner, Worker
from corral.metadata.currencies import CurrencyService
from corral.metadata.preferences import PreferenceService
from corral.metadata.registry import Registry
from corral.metadata.roles import ProfileService, RoleService
from corral.metadata.seed import seed
from corral.metadata.service import MetadataService
from corral.metadata.territories import TerritoryService
from corral.metadata.users import UserAdminService
from corral.records.attachments import AttachmentService
from corral.records.blueprints import BlueprintGuard, BlueprintService
from corral.records.bulk_read import BulkReadJobs, BulkReadService
from corral.records.bulk_write import BulkWriteJobs, BulkWriter, BulkWriteService
from corral.records.computed import ComputedFields
from corral.records.conversion import ConversionService
from corral.records.coql_compile import CoqlService
from corral.records.currency import CurrencyDefaults
from corral.records.duplicate_sets import DuplicateFinder
from corral.records.idempotency import IdempotencyKeys
from corral.records.mass_update import MassUpdateJobs, MassUpdateService
from corral.records.merge import MergeJobs, MergeService
from corral.records.notes import NotesFollowParents
from corral.records.query import RecordQuery
from corral.records.related import RelatedRecords, UniqueLinks
from corral.records.revert import RevertJobs, RevertService
from corral.records.service import RecordService
from corral.records.steps import DuplicateCheckPreference, Lookups, OwnerAndMandatory, UniqueKeys
from corral.records.tags import RecordTags, TagService
from corral.records.timeline import TimelineService
from corral.records.views import ViewService
from corral.records.writes import Step
from corral.storage.database import Database, Tx
from corral.storage.migrate import migrate

FIRST_TOKEN_TTL = 30 * 24 * 3600


def utc_now() -> datetime:
    """Naive UTC, as stored in the database."""
    return datetime.now(UTC).replace(tzinfo=None)


def write_steps(registry: Registry,
                lock: Callable[[Tx, list[tuple[int, str]]], None] = lambda tx, keys: None,
                ) -> list[Step]:
    """The write path's checks and effects, in the order they run for each record.

    The order is behaviour: a record in a blueprint is refused before its mandatory fields are
    looked at; workflow field updates change the record before approval criteria, lookups and
    unique keys see it; computed fields (Expected_Revenue, inventory totals) follow workflow
    updates of their inputs and are seen by approval criteria; duplicate clashes of unique
    fields and of the preference are reported together. To add a step, write a
    `records.writes.Step` and put it here.
    """
    return [
        RecordTags(),                   # Tag names/ids given on insert/update -> stored ids
        BlueprintGuard(),               # RECORD_IN_BLUEPRINT
        OwnerAndMandatory(),            # owner is an active user; MANDATORY_NOT_FOUND
        CurrencyDefaults(),             # multi-currency: Currency and Exchange_Rate defaults
        ApprovalLock(),                 # a record waiting for approval is locked
        LayoutRules(),                  # apply_feature_execution: layout_rules
        WorkflowFieldUpdates(),         # field updates of workflow rules that fire
        ComputedFields(),               # Expected_Revenue, Call_Duration_in_seconds, totals
        ApprovalEntry(),                # records meeting an approval process wait for it
        Lookups(registry),              # lookups name live records, user lookups users
        UniqueKeys(),                   # DUPLICATE_DATA on unique fields
        DuplicateCheckPreference(registry),  # Leads' duplicate check preference
        UniqueLinks(lock),              # a pair of records is linked once (many-to-many)
        WorkflowActions(),              # webhooks to the outbox, tasks as follow-up writes
        NotesFollowParents(registry),   # a deleted record's notes go to the recycle bin too
        InstantNotifications(registry),  # /actions/watch callbacks to the outbox
    ]


def job_handlers(records: RecordService, auth: AuthService,
                 query: RecordQuery) -> dict[str, JobHandler]:
    """What the worker does for each kind of job."""
    return {"mass_update": MassUpdateJobs(records, auth.principal_for_user),
            "bulk_write": BulkWriteJobs(BulkWriter(records, query), auth.principal_for_user,
                                        query.users),
            "bulk_read": BulkReadJobs(query, query.users),
            "revert": RevertJobs(RevertService(records), auth.principal_for_user),
            "merge": MergeJobs(MergeService(records, query), auth.principal_for_user)}


@dataclass
class Corral:
    settings: Settings
    db: Database
    registry: Registry
    auth: AuthService
    records: RecordService
    query: RecordQuery
    related: RelatedRecords
    metadata: MetadataService
    preferences: PreferenceService
    conversion: ConversionService
    mass_update: MassUpdateService
    bulk_write: BulkWriteService
    bulk_read: BulkReadService
    jobs: JobRunner
    views: ViewService
    territories: TerritoryService
    blueprints: BlueprintService
    automation: AutomationService
    webhooks: WebhookDeliverer
    notifications: NotificationService
    tags: TagService
    attachments: AttachmentService
    users: UserAdminService
    roles: RoleService
    profiles: ProfileService
    currencies: CurrencyService
    coql: CoqlService
    revert: RevertService
    timeline: TimelineService
    duplicates: DuplicateFinder
    merge: MergeService
    clock: Callable[[], datetime]
    idempotency: IdempotencyKeys

    @classmethod
    def open(cls, settings: Settings, *, clock: Callable[[], datetime] = utc_now,
             prepare: bool = True) -> Corral:
        db = Database(settings.database_url)
        if prepare:
            migrate(db)
        registry = Registry(db)
        records = RecordService(db, registry, clock, write_steps(registry, db.lock_keys))
        auth = AuthService(db, clock, settings.access_token_ttl)
        query = RecordQuery(db, registry, records)
        corral = cls(settings=settings, db=db, registry=registry, auth=auth,
                     records=records, query=query,
                     related=RelatedRecords(registry, query, records),
                     mass_update=MassUpdateService(records, query),
                     jobs=JobRunner(db, registry, clock, job_handlers(records, auth, query)),
                     bulk_write=BulkWriteService(BulkWriter(records, query), query.users),
                     bulk_read=BulkReadService(query, settings.bulk_read_page_size),
                     views=ViewService(query), territories=TerritoryService(db, clock),
                     blueprints=BlueprintService(records),
                     automation=AutomationService(records),
                     webhooks=WebhookDeliverer(db, clock),
                     notifications=NotificationService(db, registry, clock),
                     tags=TagService(records, clock),
                     attachments=AttachmentService(records, clock),
                     metadata=MetadataService(db, registry, clock, records.rebuild_keys),
                     preferences=PreferenceService(db, registry, clock),
                     conversion=ConversionService(records),
                     users=UserAdminService(db, clock), roles=RoleService(db, clock),
                     profiles=ProfileService(db, registry, clock),
                     currencies=CurrencyService(db, registry, clock),
                     coql=CoqlService(db, registry),
                     idempotency=IdempotencyKeys(db, clock, settings.idempotency_wait),
                     revert=RevertService(records), timeline=TimelineService(db, registry),
                     duplicates=DuplicateFinder(db), merge=MergeService(records, query),
                     clock=clock)
        return corral

    def seed(self) -> str | None:
        """Seed on first start; returns a new all-scopes admin token when it seeded."""
        admin_id = seed(self.db, self.clock())
        self.registry.refresh()
        self.metadata.sync_indexes()  # search indexes of large modules; repairs what is missing
        if admin_id is None:
            return None
        return self.auth.create_access_token(admin_id, list(ALL_SCOPES),
                                             expires_in=FIRST_TOKEN_TTL)

    def worker(self) -> Worker:
        return Worker([self.jobs.run_once, self.webhooks.deliver_once,
                       self.metadata.maintain_indexes],
                      self.settings.worker_poll_seconds)

    def close(self) -> None:
        self.db.dispose()
