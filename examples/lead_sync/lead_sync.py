"""Push web sign-ups to Zoho CRM as Leads (upsert on Email), retrying on 429 and 5xx."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


class SyncFailed(Exception):
    pass


@dataclass
class ZohoClient:
    api_domain: str  # e.g. https://www.zohoapis.com, or the emulator's base URL
    access_token: str
    retries: int = 3
    backoff_seconds: float = 0.05

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        for attempt in range(self.retries + 1):
            req = urllib.request.Request(
                f"{self.api_domain}/crm/v8/{path}", data=data, method=method,
                headers={"Authorization": f"Zoho-oauthtoken {self.access_token}",
                         "Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    raw = resp.read()
                    return resp.status, json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                status, raw = exc.code, exc.read()
                exc.close()
                if status != 429 and status < 500:
                    return status, json.loads(raw) if raw else None
                if attempt == self.retries:
                    raise SyncFailed(f"Zoho answered {status} {raw[:200]!r}") from None
                time.sleep(self.backoff_seconds * 2 ** attempt)
        raise AssertionError("unreachable")


def push_signups(client: ZohoClient, signups: list[dict[str, str]]) -> list[str]:
    """Upsert each sign-up as a Lead matched by Email; returns the Lead ids in order."""
    ids: list[str] = []
    for start in range(0, len(signups), 100):  # Zoho takes at most 100 records per call
        batch = [{"Last_Name": s["name"], "Email": s["email"], "Company": s.get("company", ""),
                  "Lead_Source": "Web Download"} for s in signups[start:start + 100]]
        status, body = client.call("POST", "Leads/upsert",
                                   {"data": batch, "duplicate_check_fields": ["Email"]})
        if status not in (200, 201, 207):
            raise SyncFailed(f"upsert failed: {status} {body}")
        for result in body["data"]:
            if result["status"] != "success":
                raise SyncFailed(f"record refused: {result}")
            ids.append(result["details"]["id"])
    return ids
