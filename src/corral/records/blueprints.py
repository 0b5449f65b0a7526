"""Blueprints: a picklist field whose value moves only through defined transitions.

A record is *in* a blueprint when its field holds one of the blueprint's states and it meets
the entry criteria. Then a plain update or a mass update of that field is refused
(`RECORD_IN_BLUEPRINT`) whenever the `trigger` lets blueprints apply; the value changes only
through `PUT /{module}/{id}/actions/blueprint`, which writes through the one write path.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from corral.auth.service import Principal
from corral.errors import CorralError, InvalidData, MandatoryNotFound, RecordInBlueprint
from corral.metadata.model import Module
from corral.records import criteria as cr
from corral.records import validate as v
from corral.records.evaluate import matches
from corral.records.service import RecordService
from corral.records.writes import Batch, Decision, Item, Outcome, Planned, Step, WriteContext
from corral.storage.database import Tx
from corral.storage.repositories.blueprints import BlueprintRepository
from corral.storage.repositories.records import StoredRecord

ROOT = "$.blueprints[0]"


@dataclass(frozen=True)
class Transition:
    id: str
    name: str
    from_state: str | None  # None: from any state
    to_state: str


@dataclass(frozen=True)
class Blueprint:
    id: int
    name: str
    field: str
    field_id: int
    states: tuple[str, ...]
    transitions: tuple[Transition, ...]
    criteria: cr.Criteria | None

    def holds(self, module: Module, rec: Any, tz: ZoneInfo) -> bool:
        value = rec.data.get(self.field)
        if value not in self.states:
            return False
        return self.criteria is None or matches(module, self.criteria, rec, tz=tz)

    def available(self, value: Any) -> list[Transition]:
        return [tr for tr in self.transitions
                if tr.from_state is None or tr.from_state == value]


def load_blueprints(tx: Tx, module: Module) -> list[Blueprint]:
    out = []
    for row in BlueprintRepository().active(tx, module.id):
        f = next((x for x in module.fields if x.id == row.field_id), None)
        if f is None:
            continue
        d = row.definition
        out.append(Blueprint(
            id=row.id, name=row.name, field=f.api_name, field_id=f.id,
            states=tuple(d["states"]),
            transitions=tuple(Transition(str(x["id"]), x["name"], x.get("from"), x["to"])
                              for x in d["transitions"]),
            criteria=cr.criteria_from_v8(d["criteria"]) if d.get("criteria") else None))
    return out


class BlueprintGuard(Step):
    """A record in a blueprint changes its field only through a transition."""

    name = "blueprints"
    ops = frozenset({"update"})

    def prepare(self, tx: Tx, batch: Batch) -> None:
        ctx = batch.ctx
        active = not ctx.blueprint_transition and ctx.runs("blueprint")
        batch.memo[self.name] = load_blueprints(tx, batch.module) if active else []

    def active(self, batch: Batch) -> bool:
        return bool(batch.memo[self.name])

    def check(self, item: Item, batch: Batch) -> Decision | None:
        old, values = item.old, item.values
        assert old is not None
        locked = next((bp.field for bp in batch.memo[self.name]
                       if bp.field in values and values[bp.field] != old.data.get(bp.field)
                       and bp.holds(batch.module, old, batch.tz)), None)
        if locked is None:
            return None
        return Decision(error=RecordInBlueprint(details={
            "api_name": locked, "json_path": v.path(item.index, locked)}))


class BlueprintService:
    def __init__(self, records: RecordService) -> None:
        self.records = records
        self.db = records.db

    def create(self, module: Module, spec: Any, principal: Principal) -> int:
        if not isinstance(spec, dict):
            raise MandatoryNotFound(details={"api_name": "blueprints", "json_path": ROOT})
        name = spec.get("name")
        if not isinstance(name, str) or not name.strip():
            raise MandatoryNotFound(details={"api_name": "name", "json_path": f"{ROOT}.name"})
        field_ref = spec.get("field")
        field_name = field_ref.get("api_name") if isinstance(field_ref, dict) else field_ref
        f = module.field(field_name) if isinstance(field_name, str) else None
        if f is None or f.data_type != "picklist":
            raise InvalidData("blueprints work on a picklist field",
                              {"api_name": "field", "json_path": f"{ROOT}.field"})
        states = spec.get("states")
        if not isinstance(states, list) or not states or \
                not all(isinstance(x, str) and x for x in states):
            raise InvalidData(details={"api_name": "states", "json_path": f"{ROOT}.states"})
        transitions = spec.get("transitions")
        if not isinstance(transitions, list) or not transitions:
            raise MandatoryNotFound(details={"api_name": "transitions",
                                             "json_path": f"{ROOT}.transitions"})
        ids = self.db.new_ids(1 + len(transitions))
        stored = []
        for i, tr in enumerate(transitions):
            path = f"{ROOT}.transitions[{i}]"
            if not isinstance(tr, dict) or not isinstance(tr.get("name"), str) or \
                    tr.get("to") not in states or \
                    (tr.get("from") is not None and tr.get("from") not in states):
                raise InvalidData(details={"api_name": "transitions", "json_path": path})
            stored.append({"id": str(ids[1 + i]), "name": tr["name"], "from": tr.get("from"),
                           "to": tr["to"]})
        criteria = spec.get("criteria")
        crit_v8 = None
        if criteria is not None:
            try:
                parsed = (cr.parse_criteria(criteria) if isinstance(criteria, str)
                          else cr.criteria_from_v8(criteria))
                self.records_query_check(module, parsed, principal)
            except (cr.CriteriaError, CorralError):
                raise InvalidData(details={"api_name": "criteria",
                                           "json_path": f"{ROOT}.criteria"}) from None
            crit_v8 = cr.criteria_to_v8(parsed)
        with self.db.write() as tx:
            BlueprintRepository().add(
                tx, id=ids[0], module_id=module.id, field_id=f.id, name=name.strip(),
                definition={"states": states, "transitions": stored, "criteria": crit_v8},
                created_by=principal.user.id, created_time=self.records.clock())
        return ids[0]

    @staticmethod
    def records_query_check(module: Module, parsed: cr.Criteria, _: Principal) -> None:
        for c in cr.iter_conditions(parsed):
            if c.field != "id" and module.field(c.field) is None:
                raise InvalidData(details={"api_name": c.field})

    def list(self, module: Module) -> list[Blueprint]:
        with self.db.read() as conn:
            return load_blueprints(conn, module)

    def state(self, module: Module, record_id: int,
              tz: ZoneInfo) -> tuple[StoredRecord, Blueprint | None]:
        with self.db.read() as conn:
            rec = self.records.load(conn, module, [record_id]).get(record_id)
            if rec is None:
                raise InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
            held = [bp for bp in load_blueprints(conn, module) if bp.holds(module, rec, tz)]
        return rec, (held[0] if held else None)

    def transition(self, module: Module, record_id: int, body: Any,
                   ctx: WriteContext) -> Outcome:
        items = body.get("blueprint") if isinstance(body, dict) else None
        if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
            raise MandatoryNotFound(details={"api_name": "blueprint", "json_path": "$.blueprint"})
        item = items[0]
        tz = ZoneInfo(ctx.user.time_zone)
        rec, bp = self.state(module, record_id, tz)
        if bp is None:
            raise InvalidData("the record is not in a blueprint", {"resource_path_index": 1})
        wanted = str(item.get("transition_id"))
        tr = next((x for x in bp.available(rec.data.get(bp.field)) if x.id == wanted), None)
        if tr is None:
            raise InvalidData("invalid transition", {"api_name": "transition_id",
                                                     "json_path": "$.blueprint[0].transition_id"})
        raw = item.get("data")
        data: dict[str, Any] = raw if isinstance(raw, dict) else {}
        values = {**{k: v for k, v in data.items() if k != bp.field}, bp.field: tr.to_state}
        checked = self.records.check(module, values, 0, ctx.principal)
        plan = Planned(0, checked, target=record_id, op="update")
        (outcome,) = self.records.write_batch(module, [plan],
                                              replace(ctx, blueprint_transition=True))
        return outcome
