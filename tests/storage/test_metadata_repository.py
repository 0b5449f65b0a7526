"""MetadataRepository and SeedWriter: definitions round-trip, order, the version counter."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa

from corral.metadata.seed import seed
from corral.metadata.seed_data import STANDARD_MODULES
from corral.services import Corral
from corral.storage import tables as t
from corral.storage.database import Database
from corral.storage.repositories.metadata import FieldDefinition, MetadataRepository
from corral.storage.repositories.seed import SeedWriter

repo = MetadataRepository()
NOW = datetime(2026, 12, 1, 8, 0, 0)


def _module_id(corral: Corral, api_name: str) -> int:
    with corral.db.read() as tx:
        return next(m.id for m in repo.all_modules(tx) if m.api_name == api_name)


def _field(corral: Corral, module_id: int, api_name: str, sequence: int) -> FieldDefinition:
    return FieldDefinition(
        id=corral.db.new_id(), module_id=module_id, api_name=api_name, label=api_name,
        data_type="text", length=None, mandatory=False, read_only=False, unique=False,
        custom=True, pick_list=(), lookup_module=None, textarea_type=None, mass_update=None,
        convert_mapping=(), sequence=sequence, created_time=NOW, modified_time=NOW)


def test_modules_come_in_sequence_order(corral: Corral) -> None:
    with corral.db.read() as tx:
        modules = repo.all_modules(tx)
        last = repo.last_module_sequence(tx)
    assert [m.sequence for m in modules] == sorted(m.sequence for m in modules)
    assert modules[0].api_name == STANDARD_MODULES[0]["api_name"]
    assert last == modules[-1].sequence == len(STANDARD_MODULES)


def test_fields_of_a_module_come_in_sequence_order_then_id(corral: Corral) -> None:
    leads = _module_id(corral, "Leads")
    late = _field(corral, leads, "Late", 1)  # same sequence as Owner, larger id
    with corral.db.write() as tx:
        repo.add_field(tx, late)
    with corral.db.read() as tx:
        fields = repo.fields_by_module(tx)[leads]
    assert [(f.sequence, f.id) for f in fields] == sorted((f.sequence, f.id) for f in fields)
    assert [f.api_name for f in fields[:2]] == ["Owner", "Late"]
    assert all(f.module_id == leads for f in fields)


def test_a_field_definition_round_trips(corral: Corral) -> None:
    contacts = _module_id(corral, "Contacts")
    f = replace(_field(corral, contacts, "Tier", 90), data_type="picklist",
                pick_list=("Gold", "Silver"), mass_update=False,
                convert_mapping=(("Accounts", "Tier"), ("Contacts", "Tier")))
    plain = _field(corral, contacts, "Plain", 91)
    with corral.db.write() as tx:
        repo.add_field(tx, f)
        repo.add_field(tx, plain)
    with corral.db.read() as tx:
        stored = {x.api_name: x for x in repo.fields_by_module(tx)[contacts]}
        raw = tx.execute(sa.select(t.fields.c.pick_list, t.fields.c.convert_mapping)
                         .where(t.fields.c.id == plain.id)).one()
    assert stored["Tier"] == f
    assert stored["Plain"] == plain
    # Empty picklists and conversion mappings are stored as null, as before the repository.
    assert tuple(raw) == (None, None)


def test_field_exists_and_module_names_are_case_insensitive(corral: Corral) -> None:
    leads = _module_id(corral, "Leads")
    with corral.db.read() as tx:
        assert repo.field_exists(tx, leads, "Last_Name")
        assert not repo.field_exists(tx, leads, "No_Such_Field")
        assert repo.module_api_name_taken(tx, "leads")
        assert not repo.module_api_name_taken(tx, "Leadz")


def test_setting_unique_changes_only_that_field(corral: Corral) -> None:
    leads = _module_id(corral, "Leads")
    with corral.db.read() as tx:
        before = {f.id: f for f in repo.fields_by_module(tx)[leads]}
    email = next(f for f in before.values() if f.api_name == "Email")
    with corral.db.write() as tx:
        repo.set_field_unique(tx, email.id, True, modified_time=NOW)
    with corral.db.read() as tx:
        after = {f.id: f for f in repo.fields_by_module(tx)[leads]}
    assert after[email.id] == replace(email, unique=True, modified_time=NOW)
    assert {k: v for k, v in after.items() if k != email.id} == \
        {k: v for k, v in before.items() if k != email.id}


def test_bumping_the_version_is_seen_by_the_next_transaction(corral: Corral) -> None:
    with corral.db.read() as tx:
        start = repo.version(tx)
    with corral.db.write() as tx:
        repo.bump_version(tx)
        repo.bump_version(tx)
    with corral.db.read() as tx:
        assert repo.version(tx) == start + 2


def test_the_org_is_the_seeded_one(corral: Corral) -> None:
    with corral.db.read() as tx:
        org = repo.org(tx)
    assert org is not None and org.company_name == "Corral" and org.currency == "USD"


def test_seed_writes_everything_once(empty_db: Database) -> None:
    writer = SeedWriter()
    with empty_db.read() as tx:
        assert not writer.is_seeded(tx)
        assert repo.org(tx) is None and repo.version(tx) == 0
    admin_id = seed(empty_db, NOW)
    assert admin_id is not None
    assert seed(empty_db, NOW) is None  # already seeded: nothing written twice
    with empty_db.read() as tx:
        assert writer.is_seeded(tx)
        assert repo.version(tx) == 1
        modules = repo.all_modules(tx)
        fields = repo.fields_by_module(tx)
        admins = tx.execute(sa.select(t.users.c.id)).scalars().all()
        views = tx.execute(sa.select(t.custom_views.c.name)).scalars().all()
    assert [m.api_name for m in modules] == [s["api_name"] for s in STANDARD_MODULES]
    assert all([f.api_name for f in fields[m.id][:2]] == ["Owner", "Created_By"]
               for m in modules)
    assert admins == [admin_id]
    assert "Converted Leads" in views and "All Leads" in views
