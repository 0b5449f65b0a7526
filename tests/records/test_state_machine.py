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


class WriteMachine(RuleBasedStateMachine):
    backend_url: str = ""

    def __init__(self) -> None:
        super().__init__()
        # The database comes from a template that already has the unique Code field.
        self.corral = Corral.open(Settings(database_url=self.make_url()), prepare=False)
        self.corral.registry.refresh()
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

    # Repeating a batch is a no-op when every record carries a distinct value of the field
    # checked first and no other check field: each then matches the same record both times.
    # (A record that falls through to a later field may legitimately move a key another record
    # of the batch matched by, so the repeat can differ; see COMPATIBILITY.md.)
    @rule(data=st.data(),
          fields=st.sampled_from([None, ["Email"], ["Code"], ["Code", "Email"]]))
    def upsert_twice(self, data: st.DataObject, fields: list[str] | None) -> None:
        primary = "Email" if fields in (None, ["Email"]) else "Code"
        other = "Code" if primary == "Email" else "Email"
        records = data.draw(st.lists(
            RECORD.filter(lambda r: _norm(r.get(primary)) is not None)
            .map(lambda r: {k: v for k, v in r.items() if k != other}), min_size=1,
            max_size=4, unique_by=lambda r: _norm(r.get(primary))))
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

    def add_code_field(url: str) -> None:
        c = Corral.open(Settings(database_url=url))
        c.seed()
        c.metadata.add_field(c.registry.require("Leads"),
                             {"api_name": "Code", "label": "Code", "type": "text"})
        c.metadata.set_unique(c.registry.require("Leads"), "Code", True)
        c.close()

    if backend == "sqlite":
        template = tmp / "template.sqlite"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), template)
        add_code_field(f"sqlite:///{template}")

        def factory() -> str:
            target = tmp / f"db{next(counter)}.sqlite"
            shutil.copyfile(template, target)
            return f"sqlite:///{target}"
    else:
        from tests.conftest import _pg_clone

        pg = request.getfixturevalue("pg")
        template_url = _pg_clone(pg, request.getfixturevalue("pg_template"))
        add_code_field(template_url)

        def factory() -> str:
            # One database for every example; emptying the record tables is far cheaper
            # than cloning a database per example.
            import sqlalchemy as sa

            engine = sa.create_engine(template_url)
            with engine.begin() as conn:
                conn.execute(sa.text("TRUNCATE records, record_keys, change_log"))
            engine.dispose()
            return template_url

    machine = type(f"WriteMachine_{backend}", (WriteMachine,),
                   {"backend_url_factory": staticmethod(factory)})
    try:
        from hypothesis.stateful import run_state_machine_as_test

        run_state_machine_as_test(machine, settings=settings(
            max_examples=20 if backend == "sqlite" else 10, stateful_step_count=10,
            deadline=None, suppress_health_check=list(HealthCheck)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
