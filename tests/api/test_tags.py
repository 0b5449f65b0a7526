"""Tags: /settings/tags, merge, records_count, add_tags / remove_tags, the Tag field, search."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from tests.conftest import Api, make_token

SCOPE_MISMATCH = {"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": "Unauthorized",
                  "status": "error"}


def _standard_user(corral: Corral, email: str = "std@zylker.com") -> str:
    user = corral.auth.create_user(email, "Standard", first_name="Sam")
    with corral.db.write() as conn:
        conn.execute(sa.update(t.profiles).where(t.profiles.c.id == user.profile_id)
                     .values(permissions={"admin": False, "modules": {"*": ["view"]},
                                          "read_only_fields": {}}))
    return make_token(corral, email=email)


def _create(api: Api, *tags: dict[str, Any], module: str = "Leads") -> list[str]:
    r = api.post("settings/tags", params={"module": module}, json={"tags": list(tags)})
    assert r.status_code == 201, r.text
    return [x["details"]["id"] for x in r.json()["tags"]]


def _tags_of(api: Api, module: str, rid: str) -> list[str]:
    r = api.get(f"{module}/{rid}")
    assert r.status_code == 200, r.text
    return [x["name"] for x in r.json()["data"][0]["Tag"]]


# ----------------------------------------------------------------------------- definitions
def test_create_list_update_delete_tags(api: Api) -> None:
    hot, cold = _create(api, {"name": "Hot", "color_code": "#F17574"}, {"name": "Cold"})
    r = api.get("settings/tags", params={"module": "Leads"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(x["name"], x["color_code"]) for x in body["tags"]] == [
        ("Hot", "#F17574"), ("Cold", "#969696")]
    assert body["info"] == {"count": 2, "allowed_count": 100}
    assert set(body["tags"][0]) == {"name", "id", "color_code", "created_time",
                                    "modified_time", "created_by", "modified_by"}
    r = api.put("settings/tags", params={"module": "Leads"},
                json={"tags": [{"id": hot, "name": "Warm", "color_code": "#57B1FD"}]})
    assert r.status_code == 200, r.text
    assert r.json()["tags"][0]["code"] == "SUCCESS"
    assert r.json()["tags"][0]["message"] == "tags updated successfully"
    r = api.put(f"settings/tags/{cold}", params={"module": "Leads"},
                json={"tags": [{"name": "Frozen"}]})
    assert r.status_code == 200, r.text
    names = [x["name"] for x in api.get("settings/tags", params={"module": "Leads"})
             .json()["tags"]]
    assert names == ["Warm", "Frozen"]
    r = api.delete(f"settings/tags/{cold}")
    assert r.status_code == 200, r.text
    assert r.json()["tags"][0]["message"] == "tags deleted successfully"
    assert len(api.get("settings/tags", params={"module": "Leads"}).json()["tags"]) == 1
    # tags belong to their module
    assert api.get("settings/tags", params={"module": "Contacts"}).json()["tags"] == []


def test_tag_definition_errors(api: Api) -> None:
    (hot,) = _create(api, {"name": "Hot"})
    r = api.post("settings/tags", params={"module": "Leads"},
                 json={"tags": [{"name": "hot"}, {"name": "x" * 26}, {"name": "Ok"},
                                {"name": "Bad", "color_code": "#000000"}, {}]})
    assert r.status_code == 201, r.text
    codes = [x["code"] for x in r.json()["tags"]]
    assert codes == ["DUPLICATE_DATA", "INVALID_DATA", "SUCCESS", "INVALID_DATA",
                     "MANDATORY_NOT_FOUND"]
    assert r.json()["tags"][0]["details"] == {"id": hot, "api_name": "name"}
    assert r.json()["tags"][1]["details"]["maximum_length"] == 25
    r = api.post("settings/tags", params={"module": "Leads"}, json={"tags": [{"name": "HOT"}]})
    assert r.status_code == 400 and r.json()["tags"][0]["code"] == "DUPLICATE_DATA"
    r = api.post("settings/tags", json={"tags": [{"name": "a"}]})
    assert r.status_code == 400 and r.json()["code"] == "REQUIRED_PARAM_MISSING"
    r = api.post("settings/tags", params={"module": "Nope"}, json={"tags": [{"name": "a"}]})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_MODULE"
    r = api.post("settings/tags", params={"module": "Leads"}, json={})
    assert r.status_code == 400 and r.json()["tags"][0]["code"] == "MANDATORY_NOT_FOUND"
    r = api.put("settings/tags", params={"module": "Leads"}, json={"tags": [{"name": "z"}]})
    assert r.status_code == 400 and r.json()["tags"][0]["code"] == "MANDATORY_NOT_FOUND"
    r = api.put("settings/tags/123", params={"module": "Leads"}, json={"tags": [{"name": "z"}]})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    r = api.delete("settings/tags/123")
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"


def test_module_tag_limit(api: Api) -> None:
    for start in range(0, 100, 50):
        _create(api, *[{"name": f"t{i}"} for i in range(start, start + 50)])
    r = api.post("settings/tags", params={"module": "Leads"}, json={"tags": [{"name": "one"}]})
    assert r.status_code == 400 and r.json()["tags"][0]["code"] == "LIMIT_EXCEEDED"


# ----------------------------------------------------------------------------- records
def test_add_and_remove_tags_on_one_record_through_the_write_path(corral: Corral,
                                                                  api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    r = api.post(f"Leads/{rid}/actions/add_tags",
                 json={"tags": [{"name": "Hot"}, {"name": "Expo"}]})
    assert r.status_code == 200, r.text
    item = r.json()["data"][0]
    assert item["code"] == "SUCCESS"
    assert item["details"]["id"] == rid
    assert [x["name"] for x in item["details"]["tags"]] == ["Hot", "Expo"]
    assert _tags_of(api, "Leads", rid) == ["Hot", "Expo"]
    # names not yet defined became tags of the module
    assert len(api.get("settings/tags", params={"module": "Leads"}).json()["tags"]) == 2
    r = api.post(f"Leads/{rid}/actions/add_tags", json={"tags": [{"name": "VIP"}],
                                                       "over_write": True})
    assert r.status_code == 200, r.text
    assert _tags_of(api, "Leads", rid) == ["VIP"]
    r = api.post(f"Leads/{rid}/actions/remove_tags", json={"tags": [{"name": "VIP"}]})
    assert r.status_code == 200, r.text
    assert _tags_of(api, "Leads", rid) == []
    with corral.db.read() as conn:
        logged = conn.execute(sa.select(t.change_log.c.field).where(
            t.change_log.c.record_id == int(rid), t.change_log.c.field == "Tag")).all()
    assert len(logged) == 3  # every tag change is a change of the record, in the change log


def test_v2_tag_names_parameter_and_bulk_ids(api: Api) -> None:
    ids = api.insert("Leads", {"Last_Name": "A"}, {"Last_Name": "B"})
    r = api.post("Leads/actions/add_tags",
                 params={"ids": ",".join(ids), "tag_names": "Hot,Cold"})
    assert r.status_code == 200, r.text
    assert [x["details"]["id"] for x in r.json()["data"]] == ids
    assert _tags_of(api, "Leads", ids[1]) == ["Hot", "Cold"]
    r = api.post("Leads/actions/remove_tags",
                 params={"ids": ids[0]}, json={"tags": [{"name": "Hot"}]})
    assert r.status_code == 200, r.text
    assert _tags_of(api, "Leads", ids[0]) == ["Cold"]
    r = api.post("Leads/actions/add_tags", json={"ids": [ids[0], "999"],
                                                 "tags": [{"name": "Hot"}]})
    assert r.status_code == 200, r.text
    assert [x["code"] for x in r.json()["data"]] == ["SUCCESS", "INVALID_DATA"]
    assert (r.json()["success_count"], r.json()["locked_count"]) == ("1", "0")


def test_tag_replies_carry_zohos_counts(api: Api) -> None:
    """Zoho's Record_Success_Wrapper (the v8 SDKs' RecordActionWrapper reads it): add and
    remove, on one record and several, give wf_scheduler, success_count and locked_count."""
    ids = api.insert("Leads", {"Last_Name": "A"}, {"Last_Name": "B"})
    for path, body in [(f"Leads/{ids[0]}/actions/add_tags", {"tags": [{"name": "Hot"}]}),
                       ("Leads/actions/add_tags", {"ids": ids, "tags": [{"name": "Hot"}]}),
                       ("Leads/actions/remove_tags", {"ids": ids, "tags": [{"name": "Hot"}]}),
                       (f"Leads/{ids[0]}/actions/add_tags", {"tags": [{"name": "Cold"}]}),
                       (f"Leads/{ids[0]}/actions/remove_tags", {"tags": [{"name": "Cold"}]})]:
        r = api.post(path, json=body)
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["wf_scheduler"], got["locked_count"]) == (False, "0"), got
        assert got["success_count"] == str(len(got["data"])), got
    r = api.post(f"Leads/{ids[0]}/actions/remove_tags", json={"tags": [{"name": "never"}]})
    assert r.status_code == 400 and set(r.json()) == {"data"}, r.text


def test_record_tag_errors(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    r = api.post(f"Leads/{rid}/actions/add_tags", json={})
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "MANDATORY_NOT_FOUND"
    r = api.post("Leads/actions/add_tags", json={"tags": [{"name": "x"}]})
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "REQUIRED_PARAM_MISSING"
    r = api.post(f"Leads/{rid}/actions/remove_tags", json={"tags": [{"name": "never"}]})
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "INVALID_DATA"
    r = api.post(f"Leads/{rid}/actions/add_tags", json={"tags": [{"id": "123"}]})
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "INVALID_DATA"
    r = api.post(f"Leads/{rid}/actions/add_tags",
                 json={"tags": [{"name": f"t{i}"} for i in range(11)]})
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "LIMIT_EXCEEDED"
    r = api.post("Nope/1/actions/add_tags", json={"tags": [{"name": "x"}]})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_MODULE"


def test_rename_shows_in_records_merge_and_delete_rewrite_them(corral: Corral,
                                                               api: Api) -> None:
    a, b = api.insert("Leads", {"Last_Name": "A"}, {"Last_Name": "B"})
    hot, warm = _create(api, {"name": "Hot"}, {"name": "Warm"})
    api.post("Leads/actions/add_tags", json={"ids": [a, b], "tags": [{"id": hot}]})
    api.post(f"Leads/{b}/actions/add_tags", json={"tags": [{"id": warm}]})
    api.put(f"settings/tags/{hot}", params={"module": "Leads"},
            json={"tags": [{"name": "Scorching", "color_code": "#F48435"}]})
    rec = api.get(f"Leads/{a}").json()["data"][0]
    assert rec["Tag"] == [{"name": "Scorching", "id": hot, "color_code": "#F48435"}]
    r = api.get(f"settings/tags/{hot}/actions/records_count", params={"module": "Leads"})
    assert r.status_code == 200 and r.json() == {"count": "2"}
    r = api.post(f"settings/tags/{hot}/actions/merge", json={"tags": [{"conflict_id": warm}]})
    assert r.status_code == 200, r.text
    assert r.json()["tags"][0]["details"]["id"] == warm
    assert _tags_of(api, "Leads", a) == ["Warm"]
    assert _tags_of(api, "Leads", b) == ["Warm"]
    r = api.get(f"settings/tags/{warm}/actions/records_count", params={"module": "Leads"})
    assert r.json() == {"count": "2"}
    assert api.delete(f"settings/tags/{warm}").status_code == 200
    assert _tags_of(api, "Leads", a) == []
    with corral.db.read() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(t.change_log).where(
            t.change_log.c.record_id == int(a), t.change_log.c.field == "Tag")).scalar_one()
    assert n == 3  # add, merge, delete


def test_merge_errors(api: Api) -> None:
    (hot,) = _create(api, {"name": "Hot"})
    r = api.post(f"settings/tags/{hot}/actions/merge", json={"tags": [{}]})
    assert r.status_code == 400 and r.json()["tags"][0]["code"] == "MANDATORY_NOT_FOUND"
    r = api.post(f"settings/tags/{hot}/actions/merge", json={"tags": [{"conflict_id": hot}]})
    assert r.status_code == 400 and r.json()["tags"][0]["code"] == "INVALID_DATA"
    r = api.post(f"settings/tags/{hot}/actions/merge", json={"tags": [{"conflict_id": "1"}]})
    assert r.status_code == 400 and r.json()["tags"][0]["code"] == "INVALID_DATA"
    r = api.get("settings/tags/1/actions/records_count", params={"module": "Leads"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"


def test_search_and_views_by_tag(api: Api) -> None:
    a, b, c = api.insert("Leads", {"Last_Name": "A"}, {"Last_Name": "B"}, {"Last_Name": "C"})
    api.post("Leads/actions/add_tags", json={"ids": [a, b], "tags": [{"name": "Hot"}]})
    api.post(f"Leads/{c}/actions/add_tags", json={"tags": [{"name": "Cold"}]})
    r = api.get("Leads/search", params={"criteria": "(Tag:equals:hot)"})
    assert r.status_code == 200, r.text
    assert sorted(x["id"] for x in r.json()["data"]) == sorted([a, b])
    r = api.get("Leads/search", params={"criteria": "(Tag:not_equal:Hot)"})
    assert [x["id"] for x in r.json()["data"]] == [c]
    r = api.get("Leads/search", params={"criteria": "(Tag:in:Hot,Cold)"})
    assert len(r.json()["data"]) == 3
    r = api.get("Leads/search", params={"criteria": "(Tag:equals:Nothing)"})
    assert r.status_code == 204
    r = api.get("Leads/search", params={"criteria": "(Tag:starts_with:H)"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_QUERY"


# ----------------------------------------------------------------------------- auth
@pytest.mark.parametrize(("method", "path", "params"), [
    ("GET", "settings/tags", {"module": "Leads"}),
    ("POST", "settings/tags", {"module": "Leads"}),
    ("PUT", "settings/tags", {"module": "Leads"}),
    ("PUT", "settings/tags/1", {"module": "Leads"}),
    ("DELETE", "settings/tags/1", None),
    ("POST", "settings/tags/1/actions/merge", None),
    ("GET", "settings/tags/1/actions/records_count", {"module": "Leads"}),
    ("POST", "Leads/actions/add_tags", None),
    ("POST", "Leads/actions/remove_tags", None),
    ("POST", "Leads/1/actions/add_tags", None),
    ("POST", "Leads/1/actions/remove_tags", None),
])
def test_no_token_and_wrong_scope(corral: Corral, api: Api, method: str, path: str,
                                  params: Any) -> None:
    r = api.client.request(method, f"/crm/v8/{path}", params=params, json={})
    assert r.status_code == 401 and r.json()["code"] == "AUTHENTICATION_FAILURE"
    wrong = make_token(corral, ["ZohoCRM.users.ALL"])
    r = api.request(method, path, params=params, json={}, token=wrong)
    assert r.status_code == 401 and r.json() == SCOPE_MISMATCH


def test_standard_profile_reads_tags_but_cannot_manage_or_tag(corral: Corral,
                                                              api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    (hot,) = _create(api, {"name": "Hot"})
    std = _standard_user(corral)
    assert api.get("settings/tags", params={"module": "Leads"}, token=std).status_code == 200
    for method, path, params, body in [
            ("POST", "settings/tags", {"module": "Leads"}, {"tags": [{"name": "x"}]}),
            ("PUT", "settings/tags", {"module": "Leads"}, {"tags": [{"id": hot, "name": "x"}]}),
            ("PUT", f"settings/tags/{hot}", {"module": "Leads"}, {"tags": [{"name": "x"}]}),
            ("DELETE", f"settings/tags/{hot}", None, None),
            ("POST", f"settings/tags/{hot}/actions/merge", None, {"tags": [{"conflict_id": 1}]}),
            ("POST", f"Leads/{rid}/actions/add_tags", None, {"tags": [{"name": "Hot"}]}),
            ("POST", f"Leads/{rid}/actions/remove_tags", None, {"tags": [{"name": "Hot"}]}),
            ("POST", "Leads/actions/add_tags", None, {"ids": [rid], "tags": [{"name": "Hot"}]}),
            ("POST", "Leads/actions/remove_tags", None, {"ids": [rid],
                                                         "tags": [{"name": "Hot"}]})]:
        r = api.request(method, path, params=params, json=body, token=std)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["code"] == "NO_PERMISSION"


def test_tag_given_on_insert_and_update_goes_through_the_write_path(api: Api) -> None:
    hot, cold = _create(api, {"name": "Hot"}, {"name": "Cold"})
    r = api.post("Leads", json={"data": [{"Last_Name": "A", "Tag": [{"name": "hot"}]},
                                         {"Last_Name": "B", "Tag": [{"name": "Nope"}]},
                                         {"Last_Name": "C", "Tag": "Hot"}]})
    assert r.status_code == 207, r.text
    data = r.json()["data"]
    assert [d["code"] for d in data] == ["SUCCESS", "INVALID_DATA", "INVALID_DATA"]
    assert data[1]["details"] == {"api_name": "Tag", "json_path": "$.data[1].Tag"}
    rid = data[0]["details"]["id"]
    assert api.get(f"Leads/{rid}").json()["data"][0]["Tag"] == [
        {"name": "Hot", "id": hot, "color_code": "#969696"}]
    r = api.put(f"Leads/{rid}", json={"data": [{"Tag": [{"id": cold}, {"name": "Hot"}]}]})
    assert r.status_code == 200, r.text
    assert _tags_of(api, "Leads", rid) == ["Cold", "Hot"]
    r = api.put(f"Leads/{rid}", json={"data": [{"Tag": []}]})
    assert r.status_code == 200, r.text
    assert _tags_of(api, "Leads", rid) == []
    _create(api, *[{"name": f"t{i}"} for i in range(11)])
    r = api.put(f"Leads/{rid}", json={"data": [{"Tag": [f"t{i}" for i in range(11)]}]})
    assert r.status_code == 400 and r.json()["data"][0]["code"] == "LIMIT_EXCEEDED"
    r = api.get("Leads", params={"fields": "Last_Name,Tag"})
    assert set(r.json()["data"][0]) == {"Last_Name", "Tag", "id"}
