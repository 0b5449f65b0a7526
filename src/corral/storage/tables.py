"""SQLAlchemy Core table definitions: the one schema both SQLite and PostgreSQL use.

Records are JSON documents (one row per record, `data` holds field api_name -> stored value);
the columns every query sorts or filters on (module, owner, times, deleted, converted) are real
columns. Lookups by duplicate-check or unique field go through `record_keys`: one row per
(field, normalised value, record), with a partial unique index over the rows of unique fields,
so the database itself refuses a second live record with one unique value.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()


orgs = sa.Table(
    "orgs", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("company_name", sa.String(200), nullable=False),
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("currency", sa.String(8), nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
)

profiles = sa.Table(
    "profiles", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    # {"modules": {"*" | api_name: ["view","create","edit","delete"]},
    #  "read_only_fields": {api_name: [field api_name, ...]}, "admin": bool}
    sa.Column("permissions", sa.JSON, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("custom", sa.Boolean, nullable=False, server_default=sa.false()),
    # Null for the profiles of the seed, as Zoho shows its built-in ones.
    sa.Column("created_by", sa.BigInteger, nullable=True),
    sa.Column("created_time", sa.DateTime, nullable=True),
    sa.Column("modified_by", sa.BigInteger, nullable=True),
    sa.Column("modified_time", sa.DateTime, nullable=True),
)

# The role hierarchy: each role reports to another (null: the top, e.g. CEO).
roles = sa.Table(
    "roles", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("reporting_to", sa.BigInteger, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("share_with_peers", sa.Boolean, nullable=False),
    sa.Column("forecast_manager", sa.BigInteger, nullable=True),  # a user id
    sa.Column("created_by", sa.BigInteger, nullable=True),
    sa.Column("created_time", sa.DateTime, nullable=True),
    sa.Column("modified_by", sa.BigInteger, nullable=True),
    sa.Column("modified_time", sa.DateTime, nullable=True),
)

users = sa.Table(
    "users", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("zuid", sa.String(20), nullable=False),
    sa.Column("email", sa.String(200), nullable=False, unique=True),
    sa.Column("first_name", sa.String(100), nullable=True),
    sa.Column("last_name", sa.String(100), nullable=False),
    sa.Column("profile_id", sa.BigInteger, sa.ForeignKey("profiles.id"), nullable=False),
    sa.Column("role_id", sa.BigInteger, sa.ForeignKey("roles.id"), nullable=False),
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # active | disabled | deleted
    sa.Column("confirmed", sa.Boolean, nullable=False, server_default=sa.true()),
    # Further user fields set through PUT /users (phone, dob, locale, formats ...).
    sa.Column("attributes", sa.JSON, nullable=True),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.BigInteger, nullable=True),
    sa.Column("modified_by", sa.BigInteger, nullable=True),
    sa.Column("modified_time", sa.DateTime, nullable=True),
)

# The org's currencies once multi-currency is enabled (none before): one is the home
# (base) currency. Exchange rates are decimal text, exactly as given.
currencies = sa.Table(
    "currencies", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("iso_code", sa.String(8), nullable=False, unique=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("symbol", sa.String(20), nullable=False),
    sa.Column("exchange_rate", sa.String(32), nullable=False),
    sa.Column("is_active", sa.Boolean, nullable=False),
    sa.Column("is_base", sa.Boolean, nullable=False),
    sa.Column("prefix_symbol", sa.Boolean, nullable=False),
    sa.Column("format", sa.JSON, nullable=False),
    sa.Column("created_by", sa.BigInteger, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("modified_by", sa.BigInteger, nullable=False),
    sa.Column("modified_time", sa.DateTime, nullable=False),
)

modules = sa.Table(
    "modules", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("api_name", sa.String(100), nullable=False, unique=True),
    sa.Column("singular_label", sa.String(100), nullable=False),
    sa.Column("plural_label", sa.String(100), nullable=False),
    sa.Column("scope_name", sa.String(100), nullable=False),
    sa.Column("dup_check_field", sa.String(100), nullable=True),
    sa.Column("generated_type", sa.String(20), nullable=False),
    sa.Column("layout_id", sa.BigInteger, nullable=False),
    sa.Column("sequence_number", sa.Integer, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("modified_time", sa.DateTime, nullable=False),
)

fields = sa.Table(
    "fields", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("module_id", sa.BigInteger, sa.ForeignKey("modules.id"), nullable=False),
    sa.Column("api_name", sa.String(100), nullable=False),
    sa.Column("field_label", sa.String(200), nullable=False),
    sa.Column("data_type", sa.String(40), nullable=False),
    sa.Column("length", sa.Integer, nullable=True),
    sa.Column("system_mandatory", sa.Boolean, nullable=False, default=False),
    sa.Column("read_only", sa.Boolean, nullable=False, default=False),
    sa.Column("is_unique", sa.Boolean, nullable=False, default=False),
    sa.Column("custom_field", sa.Boolean, nullable=False, default=False),
    sa.Column("pick_list", sa.JSON, nullable=True),
    sa.Column("lookup_module", sa.String(100), nullable=True),
    sa.Column("textarea_type", sa.String(20), nullable=True),
    sa.Column("mass_update", sa.Boolean, nullable=True),
    # Lead conversion mapping of a Leads field: {"Contacts": api_name, "Accounts": ...}
    sa.Column("convert_mapping", sa.JSON, nullable=True),
    sa.Column("sequence_number", sa.Integer, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("modified_time", sa.DateTime, nullable=False),
    sa.UniqueConstraint("module_id", "api_name", name="uq_fields_module_api_name"),
)

custom_views = sa.Table(
    "custom_views", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("module_id", sa.BigInteger, sa.ForeignKey("modules.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("system_name", sa.String(100), nullable=True),
    sa.Column("system_defined", sa.Boolean, nullable=False),
    sa.Column("is_default", sa.Boolean, nullable=False),
    sa.Column("criteria", sa.Text, nullable=True),
    sa.Column("owner_id", sa.BigInteger, nullable=True),
    sa.Column("shared", sa.Boolean, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("modified_time", sa.DateTime, nullable=False),
)

records = sa.Table(
    "records", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("module_id", sa.BigInteger, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("owner_id", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.BigInteger, nullable=False),
    sa.Column("modified_by", sa.BigInteger, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("modified_time", sa.DateTime, nullable=False),
    sa.Column("deleted_time", sa.DateTime, nullable=True),
    sa.Column("deleted_by", sa.BigInteger, nullable=True),
    sa.Column("converted", sa.Boolean, nullable=False, default=False),
    sa.Column("approval_state", sa.String(40), nullable=False, default="approved"),
    sa.Index("ix_records_module_live", "module_id", "deleted_time", "id"),
    sa.Index("ix_records_module_modified", "module_id", "modified_time"),
    sa.Index("ix_records_module_created", "module_id", "created_time"),
)

# Normalised values of duplicate-check and unique fields (the upsert / uniqueness hot path).
record_keys = sa.Table(
    "record_keys", metadata,
    sa.Column("field_id", sa.BigInteger, nullable=False),
    sa.Column("value", sa.String(400), nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("is_unique", sa.Boolean, nullable=False),
    # Keys of converted Leads stay for the converted_records preference but match nothing else.
    sa.Column("converted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.PrimaryKeyConstraint("field_id", "value", "record_id", name="pk_record_keys"),
    sa.Index("ix_record_keys_record", "record_id"),
    sa.Index(
        "uq_record_keys_unique", "field_id", "value", unique=True,
        sqlite_where=sa.text("is_unique = 1"), postgresql_where=sa.text("is_unique"),
    ),
)

territories = sa.Table(
    "territories", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("api_name", sa.String(200), nullable=False),
    sa.Column("parent_id", sa.BigInteger, nullable=True),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("manager_id", sa.BigInteger, nullable=True),
    sa.Column("created_by", sa.BigInteger, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("modified_time", sa.DateTime, nullable=False),
)

record_territories = sa.Table(
    "record_territories", metadata,
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("territory_id", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("record_id", "territory_id", name="pk_record_territories"),
    sa.Index("ix_record_territories_territory", "territory_id", "record_id"),
)

# Durable background jobs (mass update by view). The records a job covers are fixed when it
# is scheduled, as job_items rows; a worker processes pending items in chunks, committing each
# chunk's record writes and the items' new state together.
jobs = sa.Table(
    "jobs", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("module_id", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # SCHEDULED RUNNING COMPLETED FAILED
    sa.Column("cvid", sa.BigInteger, nullable=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("total", sa.Integer, nullable=False),
    sa.Column("created_by", sa.BigInteger, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("started_time", sa.DateTime, nullable=True),
    sa.Column("finished_time", sa.DateTime, nullable=True),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Index("ix_jobs_status", "status", "created_time"),
)

job_items = sa.Table(
    "job_items", metadata,
    sa.Column("job_id", sa.BigInteger, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),  # pending updated failed skipped
    sa.Column("error", sa.JSON, nullable=True),
    sa.Column("data", sa.JSON, nullable=True),  # a bulk write item: its CSV row
    sa.PrimaryKeyConstraint("job_id", "seq", name="pk_job_items"),
    sa.Index("ix_job_items_state", "job_id", "state", "seq"),
)

# Bulk write: uploaded zip files (`/crm/{v}/upload`, feature bulk-write), read when a job is
# created. Bulk read: the result CSV of a job, one part per processed chunk of its items, read
# in order by the download, which streams them into a zip.
bulk_files = sa.Table(
    "bulk_files", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("file_name", sa.String(500), nullable=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("created_by", sa.BigInteger, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
)

bulk_result_parts = sa.Table(
    "bulk_result_parts", metadata,
    sa.Column("job_id", sa.BigInteger, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("job_id", "seq", name="pk_bulk_result_parts"),
)

# Blueprints on a picklist field: states, transitions between them, and entry criteria.
blueprints = sa.Table(
    "blueprints", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("module_id", sa.BigInteger, nullable=False),
    sa.Column("field_id", sa.BigInteger, nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    # {"states": [...], "transitions": [{"id","name","from","to"}], "criteria": v8 | null}
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.BigInteger, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Index("ix_blueprints_module", "module_id"),
)

# Workflow rules, approval processes and layout rules of a module.
automation_rules = sa.Table(
    "automation_rules", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("module_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # workflow | approval | layout_rule
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.BigInteger, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Index("ix_automation_rules_module", "module_id", "kind"),
)

# Webhook deliveries: written in the triggering transaction, delivered by a worker.
webhook_outbox = sa.Table(
    "webhook_outbox", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("rule_id", sa.BigInteger, nullable=False),
    sa.Column("module_id", sa.BigInteger, nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending delivered failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_time", sa.DateTime, nullable=False),
    sa.Column("last_status_code", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("delivered_time", sa.DateTime, nullable=True),
    # Rows of one notification channel are delivered in id order (NULL: a workflow webhook,
    # no order among them).
    sa.Column("channel_key", sa.String(120), nullable=True),
    sa.Index("ix_webhook_outbox_due", "status", "next_attempt_time"),
    sa.Index("ix_webhook_outbox_channel", "channel_key", "status", "id"),
)

# Every delivery attempt of an outbox row (the deliveries listing shows them).
delivery_attempts = sa.Table(
    "delivery_attempts", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("outbox_id", sa.BigInteger, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("attempted_time", sa.DateTime, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Index("ix_delivery_attempts_outbox", "outbox_id", "attempt"),
)

# Instant notification channels (/actions/watch): one row per channel and module.
notification_channels = sa.Table(
    "notification_channels", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("channel_id", sa.String(40), nullable=False),
    sa.Column("module_id", sa.BigInteger, nullable=False),
    sa.Column("events", sa.JSON, nullable=False),  # ["create", "edit", "delete"] subset
    sa.Column("notify_url", sa.String(2000), nullable=False),
    sa.Column("token", sa.String(50), nullable=True),
    sa.Column("channel_expiry", sa.DateTime, nullable=False),
    sa.Column("resource_uri", sa.String(2000), nullable=False),
    sa.Column("notify_on_related_action", sa.Boolean, nullable=False),
    sa.Column("return_affected_field_values", sa.Boolean, nullable=False),
    sa.Column("fields", sa.JSON, nullable=True),  # field api_names whose values are sent
    sa.Column("condition", sa.JSON, nullable=True),  # notification_condition as given
    sa.Column("created_by", sa.BigInteger, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.UniqueConstraint("channel_id", "module_id", name="uq_notification_channel_module"),
    sa.Index("ix_notification_channels_module", "module_id", "channel_expiry"),
)

# Duplicate Check Preference (Leads only in Zoho): one row per module.
dup_check_preferences = sa.Table(
    "dup_check_preferences", metadata,
    sa.Column("module_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("type", sa.String(40), nullable=False),
    # mapped_module_records: {"mapped_module_id": int, "field_mappings": [[current, mapped]]}
    sa.Column("config", sa.JSON, nullable=True),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("modified_time", sa.DateTime, nullable=False),
)

change_log = sa.Table(
    "change_log", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
              autoincrement=True),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("module_id", sa.BigInteger, nullable=False),
    sa.Column("operation", sa.String(20), nullable=False),
    sa.Column("field", sa.String(100), nullable=True),
    sa.Column("old_value", sa.JSON, nullable=True),
    sa.Column("new_value", sa.JSON, nullable=True),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("request_id", sa.String(64), nullable=True),
    sa.Column("job_id", sa.BigInteger, nullable=True),
    # What automation made the change, e.g. "workflow:<rule id>" (null: the request itself).
    sa.Column("automation", sa.String(80), nullable=True),
    # What made the write: api, mass_update, revert, merge, conversion, bulk_write ...
    sa.Column("source", sa.String(40), nullable=True),
    sa.Index("ix_change_log_record", "record_id", "id"),
    sa.Index("ix_change_log_request", "request_id"),
    sa.Index("ix_change_log_job", "job_id"),
)

oauth_clients = sa.Table(
    "oauth_clients", metadata,
    sa.Column("client_id", sa.String(64), primary_key=True),
    sa.Column("secret_hash", sa.String(128), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("redirect_uri", sa.String(1000), nullable=True),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
)

# Grant codes, refresh tokens and access tokens share one table; only hashes are stored.
oauth_tokens = sa.Table(
    "oauth_tokens", metadata,
    sa.Column("token_hash", sa.String(128), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # grant | refresh | access | console
    sa.Column("client_id", sa.String(64), nullable=True),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("redirect_uri", sa.String(1000), nullable=True),
    sa.Column("parent_hash", sa.String(128), nullable=True),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("expires_time", sa.DateTime, nullable=True),
    sa.Column("used", sa.Boolean, nullable=False, default=False),
    # Grant codes of the authorize endpoint: "online" | "offline" (null: offline).
    sa.Column("access_type", sa.String(10), nullable=True),
)

counters = sa.Table(
    "counters", metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

# Server-side secrets generated once per database (the HMAC key that signs page tokens), so
# every process serving the same database signs and checks tokens alike.
secrets = sa.Table(
    "secrets", metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

# Tags of a module (Zoho's /settings/tags). Records carry their tags' ids in `data["Tag"]`, so a
# rename or recolour is a change here only, while tagging, merge and delete change records through
# the write path.
tags = sa.Table(
    "tags", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("module_id", sa.BigInteger, nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    # lower(name): the database itself refuses two tags of a module whose names differ in case
    # only, whatever two concurrent requests checked (the write retries and sees the winner).
    sa.Column("name_key", sa.String(100), nullable=False),
    sa.Column("color_code", sa.String(10), nullable=True),
    sa.Column("created_by", sa.BigInteger, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("modified_by", sa.BigInteger, nullable=False),
    sa.Column("modified_time", sa.DateTime, nullable=False),
    sa.Index("ix_tags_module", "module_id", "id"),
    sa.UniqueConstraint("module_id", "name_key", name="uq_tags_name"),
)

# Attachments of records (Zoho's /{module}/{id}/Attachments). A row is a file (bytes in
# `attachment_contents`, written in the same transaction) or a link (`link_url`, no bytes).
attachments = sa.Table(
    "attachments", metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("module_id", sa.BigInteger, nullable=False),
    sa.Column("record_id", sa.BigInteger, nullable=False),
    sa.Column("file_name", sa.String(255), nullable=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content_type", sa.String(255), nullable=True),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("link_url", sa.String(2000), nullable=True),
    sa.Column("owner_id", sa.BigInteger, nullable=False),
    sa.Column("created_by", sa.BigInteger, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("modified_by", sa.BigInteger, nullable=False),
    sa.Column("modified_time", sa.DateTime, nullable=False),
    sa.Index("ix_attachments_record", "record_id", "id"),
)

attachment_contents = sa.Table(
    "attachment_contents", metadata,
    sa.Column("attachment_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

# Answers of writes sent with an `Idempotency-Key` (per calling user), stored in the write's
# own transaction and replayed byte for byte to a repeat of the same request within 24 hours.
idempotency_keys = sa.Table(
    "idempotency_keys", metadata,
    sa.Column("user_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("headers", sa.JSON, nullable=False),  # [[name, value], ...]
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("created_time", sa.DateTime, nullable=False),
    sa.Column("expires_time", sa.DateTime, nullable=False, index=True),
)

# Emulator mode's state, shared by every server process on the database (`corral serve
# --workers N --emulator`): one row of settings and counters, the injected faults, the credits
# spent in the rolling window and the request journal. Not part of snapshots: a reset or a
# restore leaves them as they are (storage/snapshots.py), as it did when they lived in memory.
# A MetaData of their own, so that whatever walks `metadata` (snapshots, the tests' whole-
# database checksums) sees the CRM's data only.
emulator_metadata = sa.MetaData()

emulator_state = sa.Table(
    "emulator_state", emulator_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # always 1
    sa.Column("generation", sa.BigInteger, nullable=False),  # +1 per reset/restore
    sa.Column("version", sa.BigInteger, nullable=False),  # +1 per clock/worker/limits/faults change
    sa.Column("frozen_at", sa.DateTime, nullable=True),  # None: real time
    sa.Column("worker_paused", sa.Boolean, nullable=False),
    sa.Column("edition", sa.String(20), nullable=True),  # None: unlimited credits
    sa.Column("users", sa.Integer, nullable=False),
    sa.Column("spent", sa.BigInteger, nullable=False),  # credits in emulator_credits
    sa.Column("in_flight", sa.Integer, nullable=False),  # calls admitted under a limit
    sa.Column("heavy", sa.Integer, nullable=False),
    sa.Column("journal_next", sa.BigInteger, nullable=False),  # last journal id given
    sa.Column("fault_next", sa.BigInteger, nullable=False),  # last fault id given
    sa.Column("slots", sa.Integer, nullable=False),  # seeded processes started so far
)

emulator_faults = sa.Table(
    "emulator_faults", emulator_metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("method", sa.String(10), nullable=True),
    sa.Column("path", sa.String(2000), nullable=False),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("code", sa.String(100), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("latency_ms", sa.Integer, nullable=False),
    sa.Column("probability", sa.Float, nullable=False),
    sa.Column("times", sa.Integer, nullable=True),  # calls it still hits; None: unlimited
    sa.Column("hits", sa.Integer, nullable=False),
)

emulator_credits = sa.Table(
    "emulator_credits", emulator_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("spent_at", sa.DateTime, nullable=False, index=True),
    sa.Column("credits", sa.Integer, nullable=False),
)

emulator_journal = sa.Table(
    "emulator_journal", emulator_metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("time", sa.DateTime, nullable=False),
    sa.Column("direction", sa.String(3), nullable=False),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("path", sa.String(2000), nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("code", sa.String(100), nullable=True),
    sa.Column("credits", sa.Integer, nullable=False),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("request_body", sa.Text, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
)

EMULATOR_TABLES = (emulator_state, emulator_faults, emulator_credits, emulator_journal)
