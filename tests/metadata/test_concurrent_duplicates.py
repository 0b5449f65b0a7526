"""Concurrent duplicate creates of settings objects answer Zoho's duplicate error, never 500.

Each door checks for a duplicate inside its write transaction; on PostgreSQL (READ COMMITTED)
two requests can both pass that check, and the unique index then refuses the second insert.
The door maps storage's UniqueViolation to the error the check itself gives. Each case is run
twice: as a race of threads, and as the exact interleaving (the other request commits between
our check and our insert), forced by a check that misses the committed row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from corral.errors import AlreadyConfigured, CorralError, DuplicateData
from corral.services import Corral
from corral.storage.repositories.metadata import MetadataRepository
from corral.storage.repositories.preferences import PreferenceRepository
from corral.storage.repositories.territories import TerritoryRepository
from tests.conftest import make_token

RACERS = 4


def _admin(corral: Corral) -> Any:
    return corral.auth.authenticate(f"Zoho-oauthtoken {make_token(corral)}")


def _doors(corral: Corral, n: int) -> dict[str, Callable[[], Any]]:
    """Each door's create, the n-th time with a fresh name (so each round races anew)."""
    admin = _admin(corral)
    leads = corral.registry.require("Leads")
    contacts = corral.registry.require("Contacts")
    pref = {"duplicate_check_preference": {"type": "converted_records"}}
    return {
        "territory": lambda: corral.territories.create({"name": f"West {n}"}, admin),
        "field": lambda: corral.metadata.add_field(
            leads, {"api_name": f"Region_{n}", "label": f"Region {n}", "type": "text"}),
        "module": lambda: corral.metadata.add_module(f"Projects_{n}", "Project", "Projects"),
        "preference": lambda: corral.preferences.create(
            [leads, contacts][n % 2], pref),
        "user": lambda: corral.users.create(
            {"last_name": "Kim", "email": f"kim{n}@zylker.com",
             "role": str(admin.user.role_id), "profile": str(admin.user.profile_id)}, admin),
    }


EXPECTED: dict[str, type[CorralError]] = {
    "territory": DuplicateData, "field": DuplicateData, "module": DuplicateData,
    "preference": AlreadyConfigured, "user": DuplicateData}


def _attempt(create: Callable[[], Any], barrier: threading.Barrier) -> Any:
    barrier.wait()
    try:
        create()
        return "created"
    except CorralError as err:
        return err


@pytest.mark.parametrize("door", sorted(EXPECTED))
def test_racing_creates_of_one_name_give_one_object_and_duplicate_errors(
        corral: Corral, door: str) -> None:
    for n in range(2):
        create = _doors(corral, n)[door]
        barrier = threading.Barrier(RACERS)
        with ThreadPoolExecutor(RACERS) as pool:
            outcomes = [f.result() for f in
                        [pool.submit(_attempt, create, barrier) for _ in range(RACERS)]]
        assert outcomes.count("created") == 1, outcomes
        assert all(isinstance(o, EXPECTED[door]) for o in outcomes if o != "created"), outcomes


# The check each door runs before inserting; patched to miss a row committed meanwhile.
CHECKS = {"territory": (TerritoryRepository, "territory_name_taken"),
          "field": (MetadataRepository, "field_exists"),
          "module": (MetadataRepository, "module_api_name_taken"),
          "preference": (PreferenceRepository, "find_preference")}


@pytest.mark.parametrize("door", sorted(CHECKS))
def test_a_duplicate_committed_after_the_check_is_the_duplicate_error(
        corral: Corral, door: str, monkeypatch: pytest.MonkeyPatch) -> None:
    create = _doors(corral, 0)[door]
    create()
    repo, check = CHECKS[door]
    monkeypatch.setattr(repo, check, lambda *a, **k: None if door == "preference" else False)
    if door == "module":  # its cached metadata would see the first one before the check
        known = corral.registry.get
        monkeypatch.setattr(corral.registry, "get",
                            lambda name: None if name == "Projects_0" else known(name))
    with pytest.raises(EXPECTED[door]):
        create()
