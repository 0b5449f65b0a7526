"""API credits and concurrency per Zoho edition, and what each call costs.

Zoho (developer docs, "API Limits"): credits are counted over a rolling 24-hour window;
allowance per edition = 50,000 + users x (250 | 500 | 1,000 | 2,000) up to a maximum
(Standard 100,000, Professional 3,000,000, Enterprise 5,000,000, Ultimate unlimited); Free is
5,000 flat. Concurrency (calls in progress at once) per edition: Free 5, Standard 10,
Professional 15, Enterprise 20, Ultimate 25. Costs: 1 credit per call, except Convert Lead 5,
Insert/Update/Upsert 1 per 10 records, Get Records with `cvid` 3 (unconfirmed), Get Deleted
Records 2, Mass Update 25 (unconfirmed), Bulk Read initialise 50, Bulk Write initialise 500.
Sub-concurrency (third-party summaries of the same page): at most 10 Insert/Update/Upsert
calls of more than 10 records at once, whatever the edition.
Default (no edition set): unlimited. The windows read the emulator's clock.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from corral.emulator.state import SharedState
from corral.errors import InvalidData
from corral.storage.database import Tx
from corral.storage.repositories.emulator import EmulatorState

WINDOW = timedelta(hours=24)
# edition -> (credits per user, maximum (None: unlimited), concurrency)
EDITIONS: dict[str, tuple[int, int | None, int]] = {
    "free": (0, 5_000, 5),
    "standard": (250, 100_000, 10),
    "professional": (500, 3_000_000, 15),
    "enterprise": (1_000, 5_000_000, 20),
    "ultimate": (2_000, None, 25),
}
BASE = 50_000
FREE = 5_000
SUB_CONCURRENCY = 10

CONVERT = re.compile(r"^/crm/[^/]+/[^/]+/[^/]+/actions/convert$")
MASS_UPDATE = re.compile(r"^/crm/[^/]+/[^/]+/actions/mass_update$")
DELETED = re.compile(r"^/crm/[^/]+/[^/]+/deleted$")
BULK_READ = re.compile(r"^/crm/bulk/[^/]+/read$")
BULK_WRITE = re.compile(r"^/crm/bulk/[^/]+/write$")
RECORD_WRITE = re.compile(r"^/crm/[^/]+/(?!settings/|users|org)[^/]+(/upsert)?$")


def cost(method: str, path: str, query: dict[str, str], body: bytes) -> int:
    """Credits a call costs; 0 for what is not a CRM API call (OAuth, the control API)."""
    if not path.startswith("/crm/"):
        return 0
    if method == "POST" and CONVERT.match(path):
        return 5
    if method == "POST" and MASS_UPDATE.match(path):
        return 25
    if method == "POST" and BULK_READ.match(path):
        return 50
    if method == "POST" and BULK_WRITE.match(path):
        return 500
    if method == "GET" and DELETED.match(path):
        return 2
    if method in ("POST", "PUT") and RECORD_WRITE.match(path):
        return max(1, math.ceil(_records(body) / 10))
    if method == "GET" and query.get("cvid"):
        return 3
    return 1


def is_heavy(method: str, path: str, body: bytes) -> bool:
    """Counts against the sub-concurrency limit: a record write of more than 10 records."""
    return (method in ("POST", "PUT") and path.startswith("/crm/")
            and RECORD_WRITE.match(path) is not None and _records(body) > 10)


def _records(body: bytes) -> int:
    try:
        doc = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        return 1
    data = doc.get("data") if isinstance(doc, dict) else None
    return len(data) if isinstance(data, list) else 1


@dataclass(frozen=True)
class Usage:
    edition: str | None
    users: int
    allowance: int | None
    used: int
    remaining: int | None
    concurrency_limit: int | None
    in_flight: int


class Refusal(Exception):
    """The call is over the credit allowance (`concurrency` False) or the concurrency limit."""

    def __init__(self, concurrency: bool) -> None:
        super().__init__("concurrency" if concurrency else "credits")
        self.concurrency = concurrency


class Limits:
    """Credits and concurrency of every server process on the database together.

    Under a limit (an edition set), admitting a call is one write transaction: the window's
    expired credits dropped, the limits checked, the call charged and counted in flight, all
    atomic across processes. Unlimited, nothing needs checking before the call: it is counted
    in flight in this process only and charged when it is journalled (`Emulator.finish_call`).
    """

    def __init__(self, clock: Callable[[], datetime], shared: SharedState) -> None:
        self._clock = clock
        self._shared = shared
        self._lock = threading.Lock()
        self._local_in_flight = 0
        self.edition: str | None = None
        self.users = 1

    def load(self, state: EmulatorState) -> None:
        self.edition, self.users = state.edition, state.users

    @property
    def limited(self) -> bool:
        return self.edition is not None

    def configure(self, spec: object) -> None:
        """PUT /__corral/limits: `edition` (null: unlimited), `users`, and `used` (credits
        already spent in the window, as if spent now)."""
        if not isinstance(spec, dict) or not spec:
            raise InvalidData("the body must be a JSON object")
        unknown = sorted(set(spec) - {"edition", "users", "used"})
        if unknown:
            raise InvalidData("unknown limits field", {"api_name": unknown[0]})
        current = self._shared.read()
        edition = spec.get("edition", current.edition)
        if edition is not None and edition not in EDITIONS:
            raise InvalidData("edition must be one of " + ", ".join(EDITIONS),
                              {"api_name": "edition"})
        users = spec.get("users", current.users)
        if isinstance(users, bool) or not isinstance(users, int) or users < 1:
            raise InvalidData("users must be a positive number", {"api_name": "users"})
        used = spec.get("used")
        if used is not None and (isinstance(used, bool) or not isinstance(used, int) or used < 0):
            raise InvalidData("used must be a number of credits", {"api_name": "used"})
        at = self._clock()

        def apply(tx: Tx) -> EmulatorState:
            if used is not None:
                self._shared.repo.set_spent(tx, at, used)
            return self._shared.repo.change(tx, edition=edition, users=users)

        self.load(self._shared.write(apply))

    def allowance(self) -> int | None:
        if self.edition is None:
            return None
        if self.edition == "free":
            return FREE
        per_user, maximum, _ = EDITIONS[self.edition]
        total = BASE + self.users * per_user
        return total if maximum is None else min(total, maximum)

    def concurrency_limit(self) -> int | None:
        return None if self.edition is None else EDITIONS[self.edition][2]

    def usage(self) -> Usage:
        with self._shared.db.read() as tx:
            state = self._shared.repo.state(tx)
            used = state.spent - self._shared.repo.expired(tx, self._clock() - WINDOW)
        self.load(state)
        allowance = self.allowance()
        return Usage(self.edition, self.users, allowance, used,
                     None if allowance is None else max(0, allowance - used),
                     self.concurrency_limit(), state.in_flight + self._local_in_flight)

    def admit(self, credits: int, heavy: bool = False) -> bool:
        """Charge a call and count it in flight; Refusal when over a limit (nothing charged).
        Every admitted call must be `release`d with the same `heavy` and what this returned
        (whether it was counted in the database: it was, under a limit)."""
        if not self.limited:
            self.charge(credits)
            self.count_local()
            return False
        at = self._clock()
        admission = self._shared.write(lambda tx: self._shared.repo.admit(
            tx, at=at, horizon=at - WINDOW, credits=credits, heavy=heavy,
            allowance=self.allowance(), concurrency=self.concurrency_limit(),
            sub_concurrency=SUB_CONCURRENCY))
        if admission.refused is not None:
            raise Refusal(concurrency=admission.refused == "concurrency")
        return True

    def count_local(self) -> None:
        with self._lock:
            self._local_in_flight += 1

    def charge(self, credits: int) -> None:
        at = self._clock()
        self._shared.write(lambda tx: self._shared.repo.charge(tx, at, credits))

    def release(self, heavy: bool = False, counted: bool | None = None) -> None:
        if counted is None:
            counted = self.limited
        if counted:
            self._shared.write(lambda tx: self._shared.repo.release(tx, heavy))
        else:
            self.release_local()

    def release_local(self) -> None:
        with self._lock:
            self._local_in_flight = max(0, self._local_in_flight - 1)

    def clear_usage(self) -> None:
        at = self._clock()
        self._shared.write(lambda tx: self._shared.repo.set_spent(tx, at, 0))
