"""PreferenceRepository (one preference per module) and TerritoryRepository."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from corral.services import Corral
from corral.storage.errors import UniqueViolation
from corral.storage.repositories.preferences import PreferenceRepository
from corral.storage.repositories.territories import Territory, TerritoryRepository
from tests.conftest import Api

prefs = PreferenceRepository()
terrs = TerritoryRepository()
NOW = datetime(2026, 12, 1, 8, 0, 0)
CONFIG = {"mapped_module_id": 1, "field_mappings": [[2, 3]]}


def test_a_preference_is_stored_replaced_and_removed(corral: Corral) -> None:
    leads = corral.registry.require("Leads").id
    with corral.db.write() as tx:
        assert prefs.find_preference(tx, leads) is None
        prefs.add_preference(tx, leads, "converted_records", None, now=NOW)
    later = NOW + timedelta(minutes=5)
    with corral.db.write() as tx:
        assert prefs.replace_preference(tx, leads, "mapped_module_records", CONFIG,
                                        modified_time=later)
    with corral.db.read() as tx:
        stored = prefs.find_preference(tx, leads)
    assert stored is not None
    assert (stored.type, stored.config) == ("mapped_module_records", CONFIG)
    assert (stored.created_time, stored.modified_time) == (NOW, later)
    with corral.db.write() as tx:
        assert prefs.remove_preference(tx, leads) == "mapped_module_records"
        assert prefs.remove_preference(tx, leads) is None
        assert prefs.find_preference(tx, leads) is None


def test_replacing_or_removing_a_missing_preference_says_so(corral: Corral) -> None:
    contacts = corral.registry.require("Contacts").id
    with corral.db.write() as tx:
        assert prefs.replace_preference(tx, contacts, "converted_records", None,
                                        modified_time=NOW) is False
        assert prefs.remove_preference(tx, contacts) is None
        assert prefs.find_preference(tx, contacts) is None


def test_a_second_preference_of_a_module_is_a_unique_violation(corral: Corral) -> None:
    leads = corral.registry.require("Leads").id
    with corral.db.write() as tx:
        prefs.add_preference(tx, leads, "converted_records", None, now=NOW)
    with pytest.raises(UniqueViolation), corral.db.write() as tx:
        prefs.add_preference(tx, leads, "mapped_module_records", CONFIG, now=NOW)
    with corral.db.read() as tx:
        kept = prefs.find_preference(tx, leads)
    assert kept is not None and kept.type == "converted_records"


def _territory(corral: Corral, name: str, parent: int | None = None) -> Territory:
    return Territory(id=corral.db.new_id(), name=name, api_name=name, parent_id=parent,
                     description=None, manager_id=None, created_by=1, created_time=NOW,
                     modified_time=NOW)


def test_territories_come_back_in_id_order_with_their_parent(corral: Corral) -> None:
    root = _territory(corral, "Root")
    child = _territory(corral, "Child", root.id)
    with corral.db.write() as tx:
        terrs.add_territory(tx, child)  # inserted first, listed second
        terrs.add_territory(tx, root)
    with corral.db.read() as tx:
        listed = terrs.all_territories(tx)
        assert terrs.territory_ids(tx) == {root.id, child.id}
        assert terrs.territory_exists(tx, root.id)
        assert not terrs.territory_exists(tx, 1)
        assert terrs.territory_name_taken(tx, "Root")
        assert not terrs.territory_name_taken(tx, "root")  # exact, like the unique index
    assert listed == [root, child]


def test_assignments_are_kept_per_record(corral: Corral) -> None:
    a, b = _territory(corral, "A"), _territory(corral, "B")
    with corral.db.write() as tx:
        terrs.add_territory(tx, a)
        terrs.add_territory(tx, b)
        terrs.assign_territories(tx, 42, [a.id])
        terrs.assign_territories(tx, 42, [b.id])
        terrs.assign_territories(tx, 43, [])
    with corral.db.read() as tx:
        assert terrs.territories_of_record(tx, 42) == {a.id, b.id}
        assert terrs.territories_of_record(tx, 43) == set()


def test_only_live_records_of_the_module_count(corral: Corral, api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Live"})
    (gone,) = api.insert("Leads", {"Last_Name": "Gone"})
    assert api.delete(f"Leads/{gone}").status_code == 200
    leads, contacts = (corral.registry.require(m).id for m in ("Leads", "Contacts"))
    with corral.db.read() as tx:
        assert terrs.is_live_record(tx, leads, int(rid))
        assert not terrs.is_live_record(tx, contacts, int(rid))
        assert not terrs.is_live_record(tx, leads, int(gone))
