"""Related lists of each module, as data (Zoho's api_names), and how each one relates records.

A related list of module P shows records of another module R:
- `lookup`: R's records whose lookup field `field` points at the P record (Contacts of an
  Account); linking sets that lookup on the R record, unlinking clears it;
- `notes`: the P record's notes (Notes whose multi-module Parent_Id names it);
- `linking`: R's records linked through records of a linking module (`linkingmodule`, with
  one lookup to each side, `field` → P and `connected_field` → R, and fields of its own, such as
  a Price Book's `list_price` or a Campaign member's `Member_Status`);
- `activities`: Tasks, Events and Calls whose What_Id (or, for a Contact, Who_Id) names the P
  record, open or closed (`status`): a Task is closed once Completed, an Event once it has
  ended, a Call once its start time has passed (a logged call); read-only;
- `unsupported`: listed as Zoho lists it, but Corral has no records behind it (Contact Roles of
  a Contact, Attachments served elsewhere).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

Kind = Literal["lookup", "notes", "linking", "activities", "unsupported"]
ACTIVITY_MODULES = ("Tasks", "Events", "Calls")


@dataclass(frozen=True)
class RelatedList:
    api_name: str
    display_label: str
    module: str  # the related module's api_name
    kind: Kind
    field: str | None = None  # lookup: R's field → P; linking: the linking module's field → P
    connected_field: str | None = None  # linking: the linking module's field → R
    linkingmodule: str | None = None
    name: str | None = None  # Zoho's internal name; defaults to api_name
    closed: bool = False  # activities: the closed ones (else the open ones)

    def id_for(self, parent: str) -> str:
        """A stable 19-digit id per (module, related list), the same in every database."""
        digest = hashlib.sha256(f"{parent}/{self.api_name}".encode()).hexdigest()
        return str(5_000_000 * 10**12 + int(digest, 16) % 10**12)


def _lookup(api_name: str, field: str, label: str | None = None,
            module: str | None = None) -> RelatedList:
    return RelatedList(api_name, label or api_name.replace("_", " "), module or api_name,
                       "lookup", field=field)


def _linking(api_name: str, linking: str, field: str, connected: str,
             module: str | None = None) -> RelatedList:
    return RelatedList(api_name, api_name.replace("_", " "), module or api_name, "linking",
                       field=field, connected_field=connected, linkingmodule=linking)


NOTES = RelatedList("Notes", "Notes", "Notes", "notes")
# The contacts of a Deal with their role in it (Zoho's "Contact Roles" related list).
CONTACT_ROLES = "Deals_X_Contacts"
ATTACHMENTS = RelatedList("Attachments", "Attachments", "Attachments", "unsupported")
ACTIVITIES = (
    RelatedList("Open_Activities", "Open Activities", "Activities", "activities",
                name="OpenActivities"),
    RelatedList("Closed_Activities", "Closed Activities", "Activities", "activities",
                name="ClosedActivities", closed=True),
)

# Lists beyond Notes and Attachments (which every module but Notes has), per standard module.
STANDARD_RELATED_LISTS: dict[str, tuple[RelatedList, ...]] = {
    "Leads": (*ACTIVITIES,
              _linking("Campaigns", "Campaigns_X_Leads", "Lead", "Campaign")),
    "Contacts": (*ACTIVITIES,
                 _lookup("Deals", "Contact_Name"),
                 _lookup("Cases", "Related_To"),
                 _lookup("Quotes", "Contact_Name"),
                 _lookup("Sales_Orders", "Contact_Name"),
                 _lookup("Purchase_Orders", "Contact_Name"),
                 _lookup("Invoices", "Contact_Name"),
                 _linking("Campaigns", "Campaigns_X_Contacts", "Contact", "Campaign"),
                 RelatedList("Contact_Roles", "Contact Roles", "Contacts", "unsupported")),
    "Accounts": (*ACTIVITIES,
                 _lookup("Contacts", "Account_Name"),
                 _lookup("Deals", "Account_Name"),
                 _lookup("Cases", "Account_Name"),
                 _lookup("Quotes", "Account_Name"),
                 _lookup("Sales_Orders", "Account_Name"),
                 _lookup("Invoices", "Account_Name"),
                 _lookup("Child_Accounts", "Parent_Account", "Member Accounts", "Accounts")),
    "Deals": (*ACTIVITIES,
              _lookup("Quotes", "Deal_Name"),
              _lookup("Sales_Orders", "Deal_Name"),
              _lookup("Cases", "Deal_Name"),
              RelatedList("Contact_Roles", "Contact Roles", "Contacts", "linking",
                          field="Deal", connected_field="Contact",
                          linkingmodule=CONTACT_ROLES)),
    "Campaigns": (*ACTIVITIES,
                  _linking("Leads", "Campaigns_X_Leads", "Campaign", "Lead"),
                  _linking("Contacts", "Campaigns_X_Contacts", "Campaign", "Contact"),
                  _lookup("Deals", "Campaign_Source"),
                  _lookup("Child_Campaigns", "Parent_Campaign", "Child Campaigns",
                          "Campaigns")),
    "Products": (_lookup("Cases", "Product_Name"),
                 _lookup("Solutions", "Product_Name"),
                 _linking("Price_Books", "Price_Books_X_Products", "Product", "Price_Book")),
    "Price_Books": (_linking("Products", "Price_Books_X_Products", "Price_Book", "Product"),),
    "Vendors": (_lookup("Contacts", "Vendor_Name"),
                _lookup("Products", "Vendor_Name"),
                _lookup("Purchase_Orders", "Vendor_Name")),
    "Quotes": (*ACTIVITIES, _lookup("Sales_Orders", "Quote_Name")),
    "Sales_Orders": (*ACTIVITIES, _lookup("Invoices", "Sales_Order")),
    "Purchase_Orders": ACTIVITIES,
    "Invoices": ACTIVITIES,
    "Cases": ACTIVITIES,
}

NO_RELATED_LISTS = frozenset({"Notes"})


def related_lists(module: str) -> tuple[RelatedList, ...]:
    """The related lists of a module, in display order (custom modules: Notes, Attachments)."""
    if module in NO_RELATED_LISTS:
        return ()
    return (NOTES, ATTACHMENTS, *STANDARD_RELATED_LISTS.get(module, ()))


def related_list(module: str, api_name: str) -> RelatedList | None:
    """The module's related list by api_name (case-insensitively, as module names are)."""
    for rl in related_lists(module):
        if rl.api_name.lower() == api_name.lower():
            return rl
    return None


def contact_role_id(name: str) -> str:
    """A stable 19-digit id per contact role name (Zoho's roles have ids; Corral's are the
    pick list values of Deals_X_Contacts.Contact_Role)."""
    digest = hashlib.sha256(f"contact_role/{name}".encode()).hexdigest()
    return str(5_100_000 * 10**12 + int(digest, 16) % 10**12)


def contact_role_value(value: object, names: list[str]) -> object:
    """The pick list value a body's `Contact_Role` names: `{"id"}` or `{"name"}` (Zoho's
    shape) or the name itself. A role that is none of `names` is handed on as an object, which
    the field's validation refuses (INVALID_DATA), as Zoho refuses an unknown role."""
    if value is None:
        return None
    if isinstance(value, dict):
        name = value.get("name")
        if name is None:
            name = next((n for n in names if contact_role_id(n) == str(value.get("id"))), None)
    else:
        name = value
    return name if isinstance(name, str) and name in names else {"unknown": value}


def linking_pairs() -> dict[str, tuple[str, str]]:
    """Each linking module's two lookups (one to each side of a many-to-many list)."""
    out: dict[str, tuple[str, str]] = {}
    for lists in STANDARD_RELATED_LISTS.values():
        for rl in lists:
            if rl.kind == "linking" and rl.linkingmodule and rl.field and rl.connected_field:
                out.setdefault(rl.linkingmodule, (rl.field, rl.connected_field))
    return out
