"""Lead conversion (facts §7): a Lead becomes a Contact, an Account and optionally a Deal.

Everything happens in one transaction and every record written goes through the one write path
(`RecordService.write_batch` joined to the transaction), so validation, unique fields, the change
log and (later) automation apply to the created or updated records as to any other write.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from corral.errors import IdAlreadyConverted, InvalidData
from corral.metadata.model import Field, Module
from corral.records.attachments import FIELD as ATTACHMENTS
from corral.records.keys import normalise
from corral.records.notes import MAX_NOTES, NOTES, notes_filter
from corral.records.service import RecordService
from corral.records.validate import Checked, format_utc, parse_record_id
from corral.records.writes import Planned, WriteContext
from corral.storage.database import Tx as Connection
from corral.storage.errors import StorageConflict
from corral.storage.filters import And, Column, Cond, JsonField, Op
from corral.storage.repositories.attachments import AttachmentRepository
from corral.storage.repositories.owners import OwnerRepository
from corral.storage.repositories.record_search import RecordSearch
from corral.storage.repositories.records import StoredRecord

# Zoho's standard lead-conversion mapping: Leads field -> field of the target module.
# Custom fields follow their own `convert_mapping` in field metadata.
STANDARD_MAPPING: dict[str, dict[str, str]] = {
    "Contacts": {
        "Salutation": "Salutation", "First_Name": "First_Name", "Last_Name": "Last_Name",
        "Email": "Email", "Secondary_Email": "Secondary_Email", "Phone": "Phone",
        "Mobile": "Mobile", "Fax": "Fax", "Designation": "Title", "Lead_Source": "Lead_Source",
        "Skype_ID": "Skype_ID", "Twitter": "Twitter", "Email_Opt_Out": "Email_Opt_Out",
        "Street": "Mailing_Street", "City": "Mailing_City", "State": "Mailing_State",
        "Zip_Code": "Mailing_Zip", "Country": "Mailing_Country", "Description": "Description",
    },
    "Accounts": {
        "Company": "Account_Name", "Phone": "Phone", "Fax": "Fax", "Website": "Website",
        "Industry": "Industry", "Annual_Revenue": "Annual_Revenue",
        "No_of_Employees": "Employees", "Rating": "Rating", "Street": "Billing_Street",
        "City": "Billing_City", "State": "Billing_State", "Zip_Code": "Billing_Code",
        "Country": "Billing_Country",
    },
    "Deals": {"Lead_Source": "Lead_Source"},
}


@dataclass(frozen=True)
class Converted:
    contact: StoredRecord
    account: StoredRecord | None
    deal: StoredRecord | None


SPARE_IDS = 5


def _bad(key: str, message: str | None = None) -> InvalidData:
    return InvalidData(message, {"api_name": key, "json_path": f"$.data[0].{key}"})


class ConversionService:
    def __init__(self, records: RecordService) -> None:
        self.records = records
        self.db = records.db
        self.registry = records.registry
        self.search = RecordSearch()
        self.attachments = AttachmentRepository()

    def mapped_values(self, lead_module: Module, lead: StoredRecord, target: Module,
                      ) -> dict[str, Any]:
        """Values of the Lead carried to `target` (standard mapping + custom convert_mapping)."""
        pairs = dict(STANDARD_MAPPING.get(target.api_name, {}))
        for f in lead_module.fields:
            for mod, api_name in f.convert_mapping:
                if mod == target.api_name:
                    pairs[f.api_name] = api_name
        out: dict[str, Any] = {}
        for src, dst in pairs.items():
            value = lead.data.get(src)
            tf = target.field(dst)
            if value is None or tf is None or tf.read_only or tf.system:
                continue
            out[dst] = value
        return out

    def convert(self, lead_id: int, spec: dict[str, Any], ctx: WriteContext) -> Converted:
        leads = self.registry.require("Leads")
        # Ids are reserved outside the write transaction: the Account, Contact and Deal, and
        # one per campaign membership the Contact may take over (a few spare for memberships
        # added meanwhile).
        ids = self.db.new_ids(3 + self._memberships(lead_id) + SPARE_IDS)
        ctx = replace(ctx, source="conversion")
        return self.records.in_write_transaction(
            lambda conn: self._convert(conn, leads, lead_id, spec, ctx, list(ids)), ctx)

    # ------------------------------------------------------------------ steps
    def _convert(self, conn: Connection, leads: Module, lead_id: int, spec: dict[str, Any],
                 ctx: WriteContext, ids: list[int]) -> Converted:
        self.db.lock_keys(conn, [(leads.id, str(lead_id))])  # one conversion of a Lead at a time
        lead = self.records.load(conn, leads, [lead_id]).get(lead_id)
        if lead is None:
            raise InvalidData("the id given seems to be invalid", {"resource_path_index": 1})
        if lead.converted:
            raise IdAlreadyConverted(details={"resource_path_index": 1})
        overwrite = spec.get("overwrite") is True
        owner = self._owner(conn, spec, lead)
        account = self._link_or_create(conn, leads, lead, "Accounts", "Account_Name", spec,
                                       owner, overwrite, ctx, ids, extra={})
        contact_extra = {"Account_Name": str(account.id)} if account else {}
        contact = self._link_or_create(conn, leads, lead, "Contacts", "Email", spec, owner,
                                       overwrite, ctx, ids, extra=contact_extra, always=True)
        assert contact is not None
        deal = self._deal(conn, leads, lead, spec, owner, account, contact, ctx, ids)
        self._carry_over(conn, leads, lead, contact, ctx, ids)
        self._mark_converted(conn, leads, lead, account, contact, deal, ctx)
        return Converted(contact=contact, account=account, deal=deal)

    def _owner(self, conn: Connection, spec: dict[str, Any], lead: StoredRecord) -> int:
        assign = spec.get("assign_to")
        if assign is None:
            return lead.owner_id
        raw = assign.get("id") if isinstance(assign, dict) else assign
        uid = parse_record_id(raw)
        if uid is None or uid not in OwnerRepository().active_ids(conn):
            raise _bad("assign_to")
        return uid

    def _write_one(self, conn: Connection, module: Module, values: dict[str, Any],
                   target: int | None, ctx: WriteContext, ids: list[int]) -> StoredRecord:
        checked = self.records.check(module, values, 0, ctx.principal)
        if checked.error is not None:
            raise checked.error
        (outcome,) = self.records.write_batch(module, [Planned(0, checked, target=target)], ctx,
                                              conn=conn, ids=[ids.pop(0)] if target is None
                                              else [])
        if outcome.error is not None:
            raise outcome.error
        assert outcome.record is not None
        return outcome.record

    def _find(self, conn: Connection, module: Module, f: Field | None,
              value: Any) -> StoredRecord | None:
        key = normalise(f, value) if f is not None else None
        if f is None or key is None:
            return None
        return self.records.repo.earliest_by_key(conn, f.id, key)

    def _link_or_create(self, conn: Connection, leads: Module, lead: StoredRecord,
                        module_name: str, match_field: str, spec: dict[str, Any], owner: int,
                        overwrite: bool, ctx: WriteContext, ids: list[int], *,
                        extra: dict[str, Any], always: bool = False) -> StoredRecord | None:
        """Link the record named in the body, else one matching the Lead, else create one."""
        module = self.registry.require(module_name)
        values = {**self.mapped_values(leads, lead, module), **extra}
        given = spec.get(module_name)
        existing: StoredRecord | None = None
        if given is not None:
            rid = parse_record_id(given.get("id") if isinstance(given, dict) else given)
            existing = self.records.load(conn, module, [rid]).get(rid) if rid else None
            if existing is None:
                raise _bad(module_name, "the id given seems to be invalid")
        else:
            existing = self._find(conn, module, module.field(match_field),
                                  values.get(match_field))
        if existing is not None:
            if not overwrite:  # fill only what the existing record lacks
                values = {k: v for k, v in values.items() if existing.data.get(k) is None}
            values = {k: v for k, v in values.items() if k != match_field or overwrite}
            if not values:
                return existing
            return self._write_one(conn, module, values, existing.id, ctx, ids)
        if not always and not values.get(match_field):
            return None  # no Company: no Account
        return self._write_one(conn, module, {**values, "Owner": {"id": str(owner)}}, None,
                               ctx, ids)

    def _deal(self, conn: Connection, leads: Module, lead: StoredRecord, spec: dict[str, Any],
              owner: int, account: StoredRecord | None, contact: StoredRecord,
              ctx: WriteContext, ids: list[int]) -> StoredRecord | None:
        given = spec.get("Deals")
        if given is None:
            return None
        if not isinstance(given, dict):
            raise _bad("Deals")
        deals = self.registry.require("Deals")
        values = {**self.mapped_values(leads, lead, deals),
                  **{k: v for k, v in given.items() if k not in {"id", "Contact_Role",
                                                                  "Pipeline"}},
                  "Contact_Name": str(contact.id), "Owner": {"id": str(owner)}}
        if account is not None:
            values["Account_Name"] = str(account.id)
        return self._write_one(conn, deals, values, None, ctx, ids)

    def _memberships(self, lead_id: int) -> int:
        of_leads = self.registry.get("Campaigns_X_Leads")
        if of_leads is None:
            return 0
        with self.db.read() as tx:
            return len(self._links(tx, of_leads, "Lead", lead_id))

    def _carry_over(self, conn: Connection, leads: Module, lead: StoredRecord,
                    contact: StoredRecord, ctx: WriteContext, ids: list[int]) -> None:
        """What Zoho moves from the Lead to the new Contact: its notes, attachments and
        campaign memberships, each a write of the write path (change-logged on both sides)."""
        contacts = self.registry.require("Contacts")
        notes = self.registry.get(NOTES)
        if notes is not None:
            found, _ = self.search.fetch(conn, notes_filter(notes, leads, [lead.id]),
                                         sort_by="id", sort_order="asc", offset=0,
                                         limit=MAX_NOTES)
            self._write_all(conn, notes, [
                Planned(i, Checked(values={"Parent_Id": str(contact.id),
                                           "$se_module": contacts.api_name}), target=n.id)
                for i, n in enumerate(found)], ctx)
        moved = self.attachments.move(conn, lead.id, contacts.id, contact.id)
        if moved:
            self._write_all(conn, leads, [Planned(0, Checked(values={ATTACHMENTS: []}),
                                                  target=lead.id)], ctx)
            now = sorted(a.id for a in self.attachments.of_record(conn, contact.id))
            self._write_all(conn, contacts, [Planned(
                0, Checked(values={ATTACHMENTS: [str(i) for i in now]}), target=contact.id)],
                ctx)
        self._move_memberships(conn, lead, contact, ctx, ids)

    def _move_memberships(self, conn: Connection, lead: StoredRecord, contact: StoredRecord,
                          ctx: WriteContext, ids: list[int]) -> None:
        """The Lead's campaign memberships become the Contact's (with their Member_Status);
        a campaign the Contact is already a member of keeps the Contact's own."""
        of_leads = self.registry.get("Campaigns_X_Leads")
        of_contacts = self.registry.get("Campaigns_X_Contacts")
        if of_leads is None or of_contacts is None:
            return
        links = self._links(conn, of_leads, "Lead", lead.id)
        if not links:
            return
        have = {r.data.get("Campaign") for r in self._links(conn, of_contacts, "Contact",
                                                             contact.id)}
        new = [r for r in links if r.data.get("Campaign") not in have]
        if len(new) > len(ids):  # more memberships than ids reserved: run the whole again
            raise StorageConflict("campaign memberships changed during the conversion")
        self._write_all(conn, of_contacts, [Planned(i, Checked(values={
            "Campaign": r.data.get("Campaign"), "Contact": str(contact.id),
            "Member_Status": r.data.get("Member_Status")})) for i, r in enumerate(new)],
            ctx, ids=[ids.pop(0) for _ in new])
        self._write_all(conn, of_leads, [Planned(i, Checked(values={}), target=r.id,
                                                 op="delete") for i, r in enumerate(links)],
                        ctx)

    def _links(self, conn: Connection, linking: Module, field: str,
               record_id: int) -> list[StoredRecord]:
        where = And((Cond(Column("module_id"), Op.EQ, (linking.id,)),
                     Cond(Column("deleted_time"), Op.IS_NULL),
                     Cond(JsonField(field), Op.EQ, (str(record_id),))))
        found, _ = self.search.fetch(conn, where, sort_by="id", sort_order="asc", offset=0,
                                     limit=MAX_NOTES)
        return found

    def _write_all(self, conn: Connection, module: Module, plans: list[Planned],
                   ctx: WriteContext, ids: list[int] | None = None) -> None:
        if not plans:
            return
        for outcome in self.records.write_batch(module, plans, ctx, conn=conn, ids=ids or []):
            if outcome.error is not None:
                raise outcome.error

    def _mark_converted(self, conn: Connection, leads: Module, lead: StoredRecord,
                        account: StoredRecord | None, contact: StoredRecord,
                        deal: StoredRecord | None, ctx: WriteContext) -> None:
        now: datetime = self.records.clock()
        values = {"Converted__s": True, "Converted_Date_Time": format_utc(now),
                  "Converted_Contact": str(contact.id),
                  "Converted_Account": str(account.id) if account else None,
                  "Converted_Deal": str(deal.id) if deal else None}
        # Through the write path as a "convert": the Lead's keys leave the Leads' unique
        # checks (and free the unique index) but stay for the converted_records preference.
        plan = Planned(0, Checked(values=values), target=lead.id, op="convert")
        (outcome,) = self.records.write_batch(leads, [plan], ctx, conn=conn)
        if outcome.error is not None:
            raise outcome.error
