"""`page_token` pagination of Get Records (v3+ `info.next_page_token`, `previous_page_token`,
`page_token_expiry`) and the 2,000-record limit of page numbers (facts §1.4).

Every test runs on SQLite and PostgreSQL, with a fake clock so token expiry can be reached.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from corral.config import Settings
from corral.services import Corral
from tests.conftest import Api, make_token

T0 = datetime(2024, 3, 1, 9, 0, 0, 500000)
DAY = timedelta(days=1)
TOKEN_V3 = ("v3", "v4", "v5", "v6", "v7", "v8")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def corral(database_url: str, clock: Clock) -> Iterator[Corral]:  # overrides conftest's
    c = Corral.open(Settings(database_url=database_url, run_worker=False), clock=clock)
    c.seed()
    yield c
    c.close()


@pytest.fixture
def token(corral: Corral) -> str:  # outlives the fake clock's moves (a token lasts a day)
    return make_token(corral, expires_in=30 * 86400)


@pytest.fixture
def v8(api: Api) -> Api:
    return Api(api.client, api.token, "v8")


def insert_many(api: Api, n: int, prefix: str = "L") -> list[str]:
    out: list[str] = []
    for start in range(0, n, 100):
        out += api.insert("Leads", *({"Last_Name": f"{prefix}{i}"}
                                     for i in range(start, min(n, start + 100))))
    return out


def listing(api: Api, token: str | None = None, **params: Any) -> Any:
    return api.get("Leads", params={"fields": "Last_Name", **params}, token=token)


def error(r: Any, code: str, status: int = 400) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"code", "details", "message", "status"}
    assert body["code"] == code and body["status"] == "error", body
    return body


def walk(api: Api, between: Any = None, **params: Any) -> list[str]:
    """Every id of a listing: page 1, then `next_page_token` until `more_records` is false."""
    seen: list[str] = []
    r = listing(api, **params)
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [d["id"] for d in body["data"]]
        info = body["info"]
        if not info["more_records"]:
            assert info["next_page_token"] is None
            return seen
        if between is not None:
            between()
        r = listing(api, page_token=info["next_page_token"], **params)


# ----------------------------------------------------------------------------- walking a listing
def test_2500_records_via_page_token_none_missed_or_repeated(v8: Api) -> None:
    made = insert_many(v8, 2500)
    seen = walk(v8)
    assert len(seen) == 2500 and set(seen) == set(made)
    assert seen == sorted(made, key=int, reverse=True)  # id desc, Zoho's default


def test_page_token_listing_stays_consistent_while_records_are_inserted(v8: Api) -> None:
    made = insert_many(v8, 2500)
    added: list[str] = []

    def insert_some() -> None:  # new records land before the cursor (id desc) or after it
        added.extend(v8.insert("Leads", *({"Last_Name": f"New{len(added) + i}"}
                                          for i in range(7))))

    seen = walk(v8, between=insert_some)
    assert len(seen) == len(set(seen))  # nothing repeated
    assert set(made) <= set(seen)  # nothing that existed when the walk began is missed
    assert added


def test_page_token_keeps_sort_by_created_time_with_ties(v8: Api, clock: Clock) -> None:
    made = insert_many(v8, 300)  # a batch shares its Created_Time: ties broken by id
    clock.now += timedelta(seconds=5)
    made += insert_many(v8, 150, prefix="M")
    seen = walk(v8, per_page=70, sort_by="Created_Time", sort_order="asc")
    assert seen == sorted(made, key=int)


def test_first_page_gives_tokens_and_expiry_a_day_ahead(v8: Api) -> None:
    insert_many(v8, 5)
    info = listing(v8, per_page=2).json()["info"]
    assert info["more_records"] is True and info["page"] == 1
    assert isinstance(info["next_page_token"], str) and info["previous_page_token"] is None
    assert info["page_token_expiry"] == "2024-03-02T09:00:00+00:00"
    last = listing(v8, per_page=5).json()["info"]
    assert last["next_page_token"] is None and last["page_token_expiry"] is None


def test_previous_page_token_goes_back_a_page(v8: Api) -> None:
    made = sorted(insert_many(v8, 7), key=int, reverse=True)
    first = listing(v8, per_page=3).json()
    second = listing(v8, per_page=3, page_token=first["info"]["next_page_token"]).json()
    assert [d["id"] for d in second["data"]] == made[3:6]
    assert second["info"]["page"] == 2 and second["info"]["more_records"] is True
    back = listing(v8, per_page=3, page_token=second["info"]["previous_page_token"]).json()
    assert [d["id"] for d in back["data"]] == made[:3]
    assert back["info"]["page"] == 1 and back["info"]["previous_page_token"] is None
    third = listing(v8, per_page=3, page_token=second["info"]["next_page_token"]).json()
    assert [d["id"] for d in third["data"]] == made[6:]
    assert third["info"]["more_records"] is False


def test_page_number_listing_hands_out_a_token_to_continue_past_2000(v8: Api) -> None:
    made = sorted(insert_many(v8, 2050), key=int, reverse=True)
    tenth = listing(v8, page=10).json()
    assert [d["id"] for d in tenth["data"]] == made[1800:2000]
    r = listing(v8, page_token=tenth["info"]["next_page_token"])
    assert [d["id"] for d in r.json()["data"]] == made[2000:]
    assert r.json()["info"]["page"] == 11


def test_token_past_the_last_record_is_no_content(v8: Api) -> None:
    made = insert_many(v8, 3)
    nxt = listing(v8, per_page=2).json()["info"]["next_page_token"]
    v8.delete("Leads", params={"ids": ",".join(made)})
    r = listing(v8, per_page=2, page_token=nxt)
    assert r.status_code == 204 and r.content == b""


def test_per_page_may_change_between_pages(v8: Api) -> None:
    made = sorted(insert_many(v8, 10), key=int, reverse=True)
    nxt = listing(v8, per_page=2).json()["info"]["next_page_token"]
    r = listing(v8, per_page=5, page_token=nxt)
    assert [d["id"] for d in r.json()["data"]] == made[2:7]


# ----------------------------------------------------------------------------- refused tokens
@pytest.fixture
def next_token(v8: Api) -> str:
    insert_many(v8, 5)
    token: str = listing(v8, per_page=2).json()["info"]["next_page_token"]
    return token


def test_forged_token_is_token_bound_data_mismatch(v8: Api) -> None:
    insert_many(v8, 3)
    for forged in ("c8582xx9e7c7", "abc.def", ".", "e30.AAAA"):
        body = error(listing(v8, page_token=forged), "TOKEN_BOUND_DATA_MISMATCH")
        assert body["message"] == ("The page_token given seems to be invalid or input param is "
                                   "added or altered or deleted")
        assert body["details"] == {"param_name": "page_token"}


def test_altered_token_is_refused(v8: Api, next_token: str) -> None:
    body, sig = next_token.split(".")
    flipped = body[:-3] + ("A" if body[-3] != "A" else "B") + body[-2:]
    error(listing(v8, per_page=2, page_token=f"{flipped}.{sig}"), "TOKEN_BOUND_DATA_MISMATCH")
    error(listing(v8, per_page=2, page_token=f"{body}.{sig[::-1]}"),
          "TOKEN_BOUND_DATA_MISMATCH")


def test_token_signed_by_another_database_is_refused(v8: Api, corral: Corral,
                                                     next_token: str) -> None:
    corral.query._page_secret = b"\x00" * 32  # another server's key
    error(listing(v8, per_page=2, page_token=next_token), "TOKEN_BOUND_DATA_MISMATCH")


def test_expired_token_is_expired_value(v8: Api, clock: Clock, next_token: str) -> None:
    clock.now += DAY - timedelta(seconds=1)
    assert listing(v8, per_page=2, page_token=next_token).status_code == 200
    clock.now += timedelta(seconds=1)
    body = error(listing(v8, per_page=2, page_token=next_token), "EXPIRED_VALUE")
    assert body["message"] == "Page token expired"
    assert body["details"] == {"param_name": "page_token"}


@pytest.mark.parametrize("change", [{"fields": "Last_Name,Email"}, {"sort_order": "asc"},
                                    {"converted": "both"}, {"approved": "both"},
                                    {"sort_by": "Created_Time"}])
def test_token_with_other_params_is_token_bound_data_mismatch(v8: Api, next_token: str,
                                                              change: dict[str, str]) -> None:
    error(listing(v8, per_page=2, page_token=next_token, **change),
          "TOKEN_BOUND_DATA_MISMATCH")


def test_token_for_another_module_is_refused(v8: Api, next_token: str) -> None:
    v8.insert("Contacts", {"Last_Name": "C"})
    r = v8.get("Contacts", params={"fields": "Last_Name", "per_page": 2,
                                   "page_token": next_token})
    error(r, "TOKEN_BOUND_DATA_MISMATCH")


def test_token_of_another_user_is_invalid_data(corral: Corral, v8: Api,
                                               next_token: str) -> None:
    corral.auth.create_user("other@zylker.com", "Other", profile="Administrator")
    other = make_token(corral, email="other@zylker.com", expires_in=86400)
    body = error(listing(v8, per_page=2, page_token=next_token, token=other), "INVALID_DATA")
    assert body["details"] == {"param_name": "page_token"}


def test_page_and_page_token_together_are_ambiguous(v8: Api, next_token: str) -> None:
    body = error(listing(v8, page=2, per_page=2, page_token=next_token),
                 "AMBIGUITY_DURING_PROCESSING")
    assert body["details"] == {"ambiguity_due_to": ["page", "page_token"]}


def test_page_token_without_token_or_scope(corral: Corral, v8: Api, next_token: str) -> None:
    r = v8.client.get("/crm/v8/Leads", params={"fields": "Last_Name", "page_token": next_token})
    error(r, "AUTHENTICATION_FAILURE", 401)
    narrow = make_token(corral, ["ZohoCRM.modules.contacts.READ"], expires_in=86400)
    error(listing(v8, per_page=2, page_token=next_token, token=narrow),
          "OAUTH_SCOPE_MISMATCH", 401)


# ----------------------------------------------------------------------------- the 2,000 limit
def test_page_numbers_beyond_2000_records_get_zohos_message(v8: Api) -> None:
    body = error(listing(v8, page=11, per_page=200), "DISCRETE_PAGINATION_LIMIT_EXCEEDED")
    assert body["message"] == ("You can only get the first 2000 records without using "
                               "page_token param")
    assert body["details"] == {"limit": 2000}


# ----------------------------------------------------------------------------- versions
@pytest.mark.parametrize("version", TOKEN_V3)
def test_every_v3_plus_prefix_pages_by_token(api: Api, version: str) -> None:
    made = sorted(insert_many(api, 5), key=int, reverse=True)
    vx = Api(api.client, api.token, version)
    first = listing(vx, per_page=3).json()
    r = listing(vx, per_page=3, page_token=first["info"]["next_page_token"])
    assert [d["id"] for d in r.json()["data"]] == made[3:]


@pytest.mark.parametrize("version", ["v2", "v2.1"])
def test_v2_info_has_no_token_keys_but_a_token_is_honoured(api: Api, version: str) -> None:
    made = sorted(insert_many(api, 5), key=int, reverse=True)
    vx = Api(api.client, api.token, version)
    info = listing(vx, per_page=3).json()["info"]
    assert set(info) == {"per_page", "count", "page", "more_records"}
    nxt = listing(Api(api.client, api.token, "v8"), per_page=3).json()["info"]["next_page_token"]
    r = listing(vx, per_page=3, page_token=nxt)
    assert [d["id"] for d in r.json()["data"]] == made[3:]
    assert set(r.json()["info"]) == {"per_page", "count", "page", "more_records"}
