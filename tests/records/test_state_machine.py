"""Random insert/update/upsert/delete sequences against a simple model (hypothesis stateful).

Invariants: no two live records share a unique value (normalised); upserting the same batch
twice changes nothing the second time; every DUPLICATE_DATA names the record holding the value.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from corral.config import Settings
from corral.records.keys import normalise
from corral.records.service import Outcome, WriteContext
from corral.services import Corral

EMAILS = st.sampled_from(["a@x.com", "A@X.com ", "b@x.com", "c@x.com", "B@x.COM", None])
CODES = st.sampled_from(["k1", "K1", "k2", " k3", "k3", None])
RECORD = st.fixed_dictionaries({"Last_Name": st.sampled_from(["L1", "L2"])},
                               optional={"Email": EMAILS, "Code": CODES})


def _norm(value: Any) -> str | None:
    return value.strip().casefold() if isinstance(value, str) and value.strip() else None


def _disjoint_keys(records: list[dict[str, Any]]) -> bool:
    for field in ("Email", "Code"):
        keys = [_norm(r.get(field)) for r in records]
        keys = [k for k in keys if k is not None]
        if len(keys) != len(set(keys)):
            return False
    return True


class WriteMachine(RuleBasedStateMachine):
    backend_url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.corral = Corral.open(Settings(database_url=self.make_url()))
        self.corral.seed()
        module = self.corral.registry.require("Leads")
        if module.field("Code") is None:
            self.corral.metadata.add_field(module, {"api_name": "Code", "label": "Code",
                                                    "type": "text"})
            self.corral.metadata.set_unique(self.corral.registry.require("Leads"), "Code",
                                            True)
        user = self.corral.auth.user_by_email(None)
        token = self.corral.auth.create_access_token(user.id, "ZohoCRM.modules.ALL")
        self.ctx = WriteContext(self.corral.auth.authenticate(f"Zoho-oauthtoken {token}"))
        self.model: dict[str, dict[str, Any]] = {}

    def make_url(self) -> str:
        return type(self).backend_url_factory()  # type: ignore[attr-defined]

    @property
    def module(self) -> Any:
        return self.corral.registry.require("Leads")

    def teardown(self) -> None:
        self.corral.close()

    # -------------------------------------------------------------- model bookkeeping
    def _holder(self, field: str, value: Any, exclude: str | None = None) -> str | None:
        key = _norm(value)
        if key is None:
            return None
        for rid, rec in self.model.items():
            if rid != exclude and _norm(rec.get(field)) == key:
                return rid
        return None

    def _check_outcomes(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            if o.error is not None and o.error.code == "DUPLICATE_DATA":
                d = o.error.details
                holder = d["duplicate_record"]["id"]
                assert holder in self.model, "DUPLICATE_DATA names a record that is not live"
            if o.record is not None and o.action in {"insert", "update"}:
                self.model[str(o.record.id)] = {k: o.record.data.get(k)
                                                for k in ("Email", "Code", "Last_Name")}

    # -------------------------------------------------------------- rules
    @rule(records=st.lists(RECORD, min_size=1, max_size=4))
    def insert(self, records: list[dict[str, Any]]) -> None:
        outcomes = self.corral.records.insert(self.module, records, self.ctx)
        for rec, o in zip(records, outcomes, strict=True):
            if o.error is None:
                assert self._holder("Email", rec.get("Email")) is None or \
                    _norm(rec.get("Email")) is None
            elif o.error.code == "DUPLICATE_DATA":
                d = o.error.details
                field = d["api_name"]
                assert self._holder(field, rec.get(field)) == d["duplicate_record"]["id"] or \
                    any(str(x.record.id) == d["duplicate_record"]["id"]
                        for x in outcomes if x.record is not None)
        self._check_outcomes(outcomes)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data(), changes=RECORD)
    def update(self, data: st.DataObject, changes: dict[str, Any]) -> None:
        rid = data.draw(st.sampled_from(sorted(self.model)))
        outcomes = self.corral.records.update(self.module, [{**changes, "id": rid}], self.ctx)
        o = outcomes[0]
        if o.error is not None and o.error.code == "DUPLICATE_DATA":
            field = o.error.details["api_name"]
            assert self._holder(field, changes.get(field), exclude=rid) == \
                o.error.details["duplicate_record"]["id"]
        self._check_outcomes(outcomes)

    # Only records with a value in some check field can be matched again (others always
    # insert), and records of one batch must not share keys: otherwise a later record may move
    # a key an earlier one matched by, and the repeat legitimately differs.
    @rule(records=st.lists(RECORD.filter(lambda r: _norm(r.get("Email")) or _norm(r.get("Code"))),
                           min_size=1, max_size=4).filter(_disjoint_keys),
          fields=st.sampled_from([None, ["Email"], ["Code"], ["Code", "Email"]]))
    def upsert_twice(self, records: list[dict[str, Any]], fields: list[str] | None) -> None:
        first = self.corral.records.upsert(self.module, records, self.ctx,
                                           duplicate_check_fields=fields)
        self._check_outcomes(first)
        snapshot = self._snapshot()
        second = self.corral.records.upsert(self.module, records, self.ctx,
                                            duplicate_check_fields=fields)
        self._check_outcomes(second)
        assert self._snapshot() == snapshot, "a repeated upsert changed data"
        assert all(o.action != "insert" for o in second if o.error is None)

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        rid = data.draw(st.sampled_from(sorted(self.model)))
        outcomes = self.corral.records.delete(self.module, [rid], self.ctx)
        assert outcomes[0].error is None
        del self.model[rid]

    # -------------------------------------------------------------- invariants
    def _snapshot(self) -> dict[int, dict[str, Any]]:
        import sqlalchemy as sa

        from corral.storage import tables as t

        with self.corral.db.read() as conn:
            rows = conn.execute(sa.select(t.records.c.id, t.records.c.data).where(
                t.records.c.deleted_time.is_(None),
                t.records.c.module_id == self.module.id)).all()
        return {r.id: dict(r.data) for r in rows}

    @invariant()
    def unique_values_are_unique(self) -> None:
        live = self._snapshot()
        assert {str(k) for k in live} == set(self.model)
        for field in ("Email", "Code"):
            f = self.module.field(field)
            assert f is not None
            keys = [normalise(f, d.get(field)) for d in live.values()]
            keys = [k for k in keys if k is not None]
            assert len(keys) == len(set(keys)), f"two live records share a {field}"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_write_sequences_keep_invariants(backend: str, request: pytest.FixtureRequest) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="corral-sm-"))
    counter = iter(range(10**6))
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")

        def factory() -> str:
            target = tmp / f"db{next(counter)}.sqlite"
            shutil.copyfile(template, target)
            return f"sqlite:///{target}"
    else:
        from tests.conftest import _pg_clone

        pg = request.getfixturevalue("pg")
        template_name = request.getfixturevalue("pg_template")

        def factory() -> str:
            return _pg_clone(pg, template_name)

    machine = type(f"WriteMachine_{backend}", (WriteMachine,),
                   {"backend_url_factory": staticmethod(factory)})
    try:
        from hypothesis.stateful import run_state_machine_as_test

        run_state_machine_as_test(machine, settings=settings(
            max_examples=20 if backend == "sqlite" else 10, stateful_step_count=10,
            deadline=None, suppress_health_check=list(HealthCheck)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
