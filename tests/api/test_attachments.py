"""Attachments: upload (file, link), list, download byte-identical, delete, limits, auth."""

from __future__ import annotations

import os
from typing import Any

import pytest
import sqlalchemy as sa

from corral.services import Corral
from corral.storage import tables as t
from tests.conftest import Api, make_token

SCOPE_MISMATCH = {"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": "Unauthorized",
                  "status": "error"}


def _upload(api: Api, rid: str, content: bytes, name: str = "blob.bin",
            mime: str = "application/octet-stream", **kw: Any) -> Any:
    return api.client.post(f"/crm/v8/Leads/{rid}/Attachments", headers=api.headers(kw.get("token")),
                           files={"file": (name, content, mime)})


def _std_token(corral: Corral) -> str:
    user = corral.auth.create_user("std@zylker.com", "Standard", first_name="Sam")
    with corral.db.write() as conn:
        conn.execute(sa.update(t.profiles).where(t.profiles.c.id == user.profile_id)
                     .values(permissions={"admin": False, "modules": {"*": ["view"]},
                                          "read_only_fields": {}}))
    return make_token(corral, email="std@zylker.com")


def test_upload_list_download_byte_identical_and_delete(corral: Corral, api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    content = os.urandom(300_000) + b"\x00\x00\xff" + os.urandom(1000)
    r = _upload(api, rid, content, "naïve report.pdf", "application/pdf")
    assert r.status_code == 200, r.text
    item = r.json()["data"][0]
    assert (item["code"], item["message"]) == ("SUCCESS", "attachment uploaded successfully")
    assert set(item["details"]) == {"Modified_Time", "Modified_By", "Created_Time", "id",
                                    "Created_By"}
    att_id = item["details"]["id"]
    r = api.get(f"Leads/{rid}/Attachments")
    assert r.status_code == 200, r.text
    (listed,) = r.json()["data"]
    assert listed["File_Name"] == "naïve report.pdf"
    assert listed["Size"] == str(len(content))
    assert listed["Parent_Id"] == {"name": "Daly", "id": rid}
    assert listed["$type"] == "Attachment" and listed["$link_url"] is None
    assert listed["$se_module"] == "Leads" and listed["$editable"] is True
    assert r.json()["info"] == {"per_page": 200, "count": 1, "page": 1, "more_records": False}
    r = api.get(f"Leads/{rid}/Attachments/{att_id}")
    assert r.status_code == 200
    assert r.content == content
    assert r.headers["content-type"].startswith("application/pdf")
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"na_ve report.pdf\"; filename*=UTF-8''na%C3%AFve%20report.pdf")
    r = api.delete(f"Leads/{rid}/Attachments/{att_id}")
    assert r.status_code == 200, r.text
    assert r.json()["data"][0]["details"] == {"id": att_id}
    assert api.get(f"Leads/{rid}/Attachments").status_code == 204
    with corral.db.read() as conn:
        rows = conn.execute(sa.select(t.change_log.c.new_value).where(
            t.change_log.c.record_id == int(rid), t.change_log.c.field == "$attachments")
            .order_by(t.change_log.c.id)).all()
        assert conn.execute(sa.select(sa.func.count())
                            .select_from(t.attachment_contents)).scalar_one() == 0
    assert [r[0] for r in rows] == [[att_id], []]  # both changes logged on the parent


def test_link_attachments_cannot_be_downloaded_and_bulk_delete(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    r = api.post(f"Leads/{rid}/Attachments",
                 params={"attachmentUrl": "https://www.zylker.com/brochure", "title": "Bro"})
    assert r.status_code == 200, r.text
    link_id = r.json()["data"][0]["details"]["id"]
    file_id = _upload(api, rid, b"hello", mime="text/plain").json()["data"][0]["details"]["id"]
    r = api.get(f"Leads/{rid}/Attachments/{file_id}")
    assert r.content == b"hello"
    assert r.headers["content-type"] == "application/octet-stream"  # SDKs read text/plain as JSON
    assert r.headers["content-disposition"] == 'attachment; filename="blob.bin"'
    listed = api.get(f"Leads/{rid}/Attachments").json()["data"]
    assert [x["id"] for x in listed] == [file_id, link_id]
    assert listed[1]["$link_url"] == "https://www.zylker.com/brochure"
    assert listed[1]["$type"] == "Link URL" and listed[1]["File_Name"] == "Bro"
    r = api.get(f"Leads/{rid}/Attachments/{link_id}")
    assert r.status_code == 400 and r.json()["code"] == "DOWNLOAD_NOT_ALLOWED"
    r = api.get(f"Leads/{rid}/Attachments", params={"fields": "File_Name", "per_page": "1"})
    assert r.json()["data"] == [{"id": file_id, "File_Name": "blob.bin"}]
    assert r.json()["info"]["more_records"] is True
    r = api.delete(f"Leads/{rid}/Attachments", params={"ids": f"{link_id},{file_id},123"})
    assert r.status_code == 200, r.text
    assert [x["code"] for x in r.json()["data"]] == ["SUCCESS", "SUCCESS", "INVALID_DATA"]
    assert api.get(f"Leads/{rid}/Attachments").status_code == 204


def test_attachment_errors(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    r = api.post(f"Leads/{rid}/Attachments")
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    r = api.post(f"Leads/{rid}/Attachments", params={"attachmentUrl": "not a url"})
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    r = _upload(api, "999", b"x")
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    r = api.get(f"Leads/{rid}/Attachments/123")
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    r = api.delete(f"Leads/{rid}/Attachments")
    assert r.status_code == 400 and r.json()["code"] == "REQUIRED_PARAM_MISSING"
    # an attachment id in the URL that names nothing: top-level, as every id in a Zoho URL
    r = api.delete(f"Leads/{rid}/Attachments/123")
    assert r.status_code == 400 and r.json() == {
        "code": "INVALID_DATA", "details": {"resource_path_index": 3},
        "message": "the id given seems to be invalid", "status": "error"}
    # every id of a batch unknown: 400 with one error per id (Zoho's batch answers)
    r = api.delete(f"Leads/{rid}/Attachments", params={"ids": "123,456"})
    assert r.status_code == 400 and [x["code"] for x in r.json()["data"]] == [
        "INVALID_DATA", "INVALID_DATA"]
    r = api.get("Nope/1/Attachments")
    assert r.status_code == 400 and r.json()["code"] == "INVALID_MODULE"


def test_size_limit_is_enforced_while_reading(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    limit = 20 * 1024 * 1024
    r = _upload(api, rid, b"\x00" * (limit + 1))
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "FILE_SIZE_MORE_THAN_ALLOWED_SIZE"
    assert r.json()["message"] == "File size should not exceed 20 MB"

    def chunks() -> Any:  # no Content-Length: refused by counting the stream
        yield b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n"
        for _ in range(25):
            yield b"\x01" * (1024 * 1024)
        yield b"\r\n--b--\r\n"

    r = api.client.post(f"/crm/v8/Leads/{rid}/Attachments", content=chunks(),
                        headers={**api.headers(),
                                 "Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 400 and r.json()["code"] == "FILE_SIZE_MORE_THAN_ALLOWED_SIZE"
    r = _upload(api, rid, b"\x02" * limit)
    assert r.status_code == 200, r.text
    att_id = r.json()["data"][0]["details"]["id"]
    assert len(api.get(f"Leads/{rid}/Attachments/{att_id}").content) == limit


def test_attachments_follow_their_parent_to_the_recycle_bin(api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    att_id = _upload(api, rid, b"x").json()["data"][0]["details"]["id"]
    assert api.delete(f"Leads/{rid}").status_code == 200
    r = api.get(f"Leads/{rid}/Attachments")
    assert r.status_code == 400 and r.json()["code"] == "INVALID_DATA"
    assert api.get(f"Leads/{rid}/Attachments/{att_id}").status_code == 400
    assert _upload(api, rid, b"y").status_code == 400


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "Leads/1/Attachments"), ("GET", "Leads/1/Attachments"),
    ("DELETE", "Leads/1/Attachments"), ("GET", "Leads/1/Attachments/2"),
    ("DELETE", "Leads/1/Attachments/2"),
])
def test_no_token_and_wrong_scope(corral: Corral, api: Api, method: str, path: str) -> None:
    r = api.client.request(method, f"/crm/v8/{path}")
    assert r.status_code == 401 and r.json()["code"] == "AUTHENTICATION_FAILURE"
    wrong = make_token(corral, ["ZohoCRM.users.ALL"])
    r = api.request(method, path, token=wrong)
    assert r.status_code == 401 and r.json() == SCOPE_MISMATCH


def test_standard_profile_reads_but_cannot_upload_or_delete(corral: Corral, api: Api) -> None:
    (rid,) = api.insert("Leads", {"Last_Name": "Daly"})
    att_id = _upload(api, rid, b"x").json()["data"][0]["details"]["id"]
    std = _std_token(corral)
    assert api.get(f"Leads/{rid}/Attachments", token=std).status_code == 200
    assert api.get(f"Leads/{rid}/Attachments/{att_id}", token=std).content == b"x"
    r = _upload(api, rid, b"y", token=std)
    assert r.status_code == 403 and r.json()["code"] == "NO_PERMISSION"
    for path, params in [(f"Leads/{rid}/Attachments/{att_id}", None),
                         (f"Leads/{rid}/Attachments", {"ids": att_id})]:
        r = api.delete(path, params=params, token=std)
        assert r.status_code == 403 and r.json()["code"] == "NO_PERMISSION"
    no_view = make_token(corral, email="std@zylker.com")
    with corral.db.write() as conn:
        conn.execute(sa.update(t.profiles).where(t.profiles.c.name == "Standard")
                     .values(permissions={"admin": False, "modules": {},
                                          "read_only_fields": {}}))
    assert api.get(f"Leads/{rid}/Attachments", token=no_view).status_code == 403
