# mypy: ignore-errors
"""Driver run by tests/e2e/test_sdk2_related.py with the python of the zohocrmsdk2-0 venv.

Usage: python sdk2_related_driver.py BASE_URL ACCESS_TOKEN WORK_DIR

Related lists, related records (a lookup list and a many-to-many list) and notes through the
official v2 SDK; prints one JSON object (last stdout line) of what the SDK made of each reply.
"""

import json
import os
import sys
import traceback

from zcrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zcrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zcrmsdk.src.com.zoho.api.logger import Logger
from zcrmsdk.src.com.zoho.crm.api import ParameterMap
from zcrmsdk.src.com.zoho.crm.api.dc import DataCenter
from zcrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zcrmsdk.src.com.zoho.crm.api.notes import BodyWrapper as NotesBody
from zcrmsdk.src.com.zoho.crm.api.notes import DeleteNotesParam, Note, NotesOperations
from zcrmsdk.src.com.zoho.crm.api.record import RecordOperations
from zcrmsdk.src.com.zoho.crm.api.related_lists import RelatedListsOperations
from zcrmsdk.src.com.zoho.crm.api.related_records import BodyWrapper as RelatedBody
from zcrmsdk.src.com.zoho.crm.api.related_records import (
    DelinkRecordsParam,
    RelatedRecordsOperations,
)
from zcrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zcrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdk2_driver import body, ids_of, lead, ref, reply


def note(title, content, parent_id, module):
    n = Note()
    n.set_note_title(title)
    n.set_note_content(content)
    n.set_parent_id(ref(parent_id))
    n.set_se_module(module)
    return n


def run(base_url, token, work, results):
    env = DataCenter.Environment(base_url, base_url + "/oauth/v2/token", base_url, "corral")
    Initializer.initialize(
        user=UserSignature("admin@corral.local"), environment=env,
        token=OAuthToken(access_token=token),
        store=FileStore(os.path.join(work, "tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=False),
        resource_path=work,
        logger=Logger.get_instance(Logger.Levels.INFO, os.path.join(work, "sdk.log")))
    ops = RecordOperations()

    lists = RelatedListsOperations("Accounts").get_related_lists().get_object()
    results["related_lists"] = [{"api_name": rl.get_api_name(), "module": rl.get_module(),
                                 "id": rl.get_id()} for rl in (lists.get_related_lists() or [])]

    acc = ids_of(reply(ops.create_records("Accounts", body([lead(Account_Name="Zylker")]))))
    contacts = ids_of(reply(ops.create_records("Contacts", body(
        [lead(Last_Name="One"), lead(Last_Name="Two")]))))
    results["ids"] = {"account": [str(i) for i in acc], "contacts": [str(i) for i in contacts]}
    if len(acc) != 1 or len(contacts) != 2:
        return
    (account,) = acc
    rel = RelatedRecordsOperations("Contacts", "Accounts")
    wrapper = RelatedBody()
    wrapper.set_data([ref(c) for c in contacts])
    results["link"] = reply(rel.update_related_records(account, wrapper))
    results["listed"] = reply(rel.get_related_records(account))
    params = ParameterMap()
    params.add(DelinkRecordsParam.ids, str(contacts[1]))
    results["delink"] = reply(rel.delink_records(account, params))
    results["after_delink"] = reply(rel.get_related_records(account))

    notes = NotesOperations()
    nb = NotesBody()
    nb.set_data([note("Call", "Rang twice", account, "Accounts")])
    results["note_create"] = created = reply(notes.create_notes(nb))
    got = notes.get_notes()
    results["notes"] = reply(got)
    obj = got.get_object() if got is not None else None
    results["note_values"] = [
        {"title": n.get_note_title(), "content": n.get_note_content(),
         "parent": str(n.get_parent_id().get_id()) if n.get_parent_id() else None,
         "se_module": n.get_se_module(), "owner": type(n.get_owner()).__name__,
         "created": str(n.get_created_time())}
        for n in (obj.get_data() if hasattr(obj, "get_data") else None) or []]
    note_ids = ids_of(created)
    results["record_notes"] = reply(RelatedRecordsOperations("Notes", "Accounts")
                                    .get_related_records(account))
    if note_ids:
        params = ParameterMap()
        params.add(DeleteNotesParam.ids, note_ids[0])
        results["note_delete"] = reply(notes.delete_notes(params))


def main():
    base_url, token, work = sys.argv[1:4]
    results = {}
    try:
        run(base_url, token, work, results)
    except BaseException as exc:  # report, the test decides
        results["error"] = {"type": type(exc).__name__, "text": str(exc),
                            "traceback": traceback.format_exc()}
    sys.stdout.write("\n" + json.dumps(results, default=repr) + "\n")


if __name__ == "__main__":
    main()
