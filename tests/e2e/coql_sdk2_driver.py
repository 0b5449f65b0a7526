# mypy: ignore-errors
"""Driver run by tests/e2e/test_coql.py with the python of the zohocrmsdk2-0 venv (not pytest's).

Usage: python coql_sdk2_driver.py BASE_URL ACCESS_TOKEN WORK_DIR

Inserts leads with the official v2 SDK, then asks COQL queries through its QueryOperations
(POST /crm/v2/coql) and prints one JSON object (the last line of stdout) with what the SDK made
of each reply. Never asserts itself: the test does.
"""

import json
import os
import sys
import traceback

from sdk2_driver import body, ids_of, lead, plain, reply
from zcrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zcrmsdk.src.com.zoho.api.authenticator.store import FileStore
from zcrmsdk.src.com.zoho.api.logger import Logger
from zcrmsdk.src.com.zoho.crm.api.dc import DataCenter
from zcrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zcrmsdk.src.com.zoho.crm.api.query import BodyWrapper as QueryBody
from zcrmsdk.src.com.zoho.crm.api.query import QueryOperations
from zcrmsdk.src.com.zoho.crm.api.record import RecordOperations
from zcrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zcrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

QUERIES = {
    "rows": "select Last_Name, Company, No_of_Employees, Owner from Leads "
            "where (Company = 'zylker' and No_of_Employees >= 5) order by No_of_Employees desc",
    "grouped": "select Company, COUNT(id) as n from Leads where id is not null "
               "group by Company order by Company",
    "nothing": "select Last_Name from Leads where Last_Name = 'Nobody'",
    "syntax": "select Last_Name from Leads where",
}


def run(base_url, token, work, results):
    env = DataCenter.Environment(base_url, base_url + "/oauth/v2/token", base_url, "corral")
    Initializer.initialize(
        user=UserSignature("admin@corral.local"), environment=env,
        token=OAuthToken(access_token=token),
        store=FileStore(os.path.join(work, "tokens.csv")),
        sdk_config=SDKConfig(auto_refresh_fields=False, pick_list_validation=True),
        resource_path=work,
        logger=Logger.get_instance(Logger.Levels.INFO, os.path.join(work, "sdk.log")))
    results["insert"] = created = reply(RecordOperations().create_records("Leads", body([
        lead(Last_Name="Daly", Company="Zylker", No_of_Employees=12),
        lead(Last_Name="Boyle", Company="Zylker", No_of_Employees=5),
        lead(Last_Name="Kate", Company="Acme", No_of_Employees=40),
    ])))
    results["ids"] = [str(i) for i in ids_of(created)]
    for name, query in QUERIES.items():
        wrapper = QueryBody()
        wrapper.set_select_query(query)
        results[name] = reply(QueryOperations().get_records(wrapper))


def main():
    base_url, token, work = sys.argv[1:4]
    results = {}
    try:
        run(base_url, token, work, results)
    except BaseException as exc:  # report, the test decides
        results["error"] = {"type": type(exc).__name__, "text": str(exc),
                            "traceback": traceback.format_exc()}
        details = getattr(exc, "details", None)
        if details is not None:
            results["error"]["details"] = plain(details)
    sys.stdout.write("\n" + json.dumps(results, default=repr) + "\n")


if __name__ == "__main__":
    main()
