"""Multi-currency: the home currency, other currencies with exchange rates, and the
`Currency` / `Exchange_Rate` fields records carry once it is enabled.

An org starts without multi-currency (`orgs.currency` is its only currency). Enabling it
creates the base currency and adds `Currency` (pick list of ISO codes) and `Exchange_Rate` to
every module that has a currency field; the write path's `records.currency.CurrencyDefaults`
step then gives each record written the home currency and the currency's rate by default.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from corral.auth.service import Principal
from corral.errors import (
    ActiveStateLimitExceeded,
    AlreadyEnabled,
    CorralError,
    CurrenciesNotEnabled,
    DuplicateData,
    FeatureNotEnabled,
    InvalidData,
    MandatoryNotFound,
    NoPermission,
    NotAllowed,
)
from corral.metadata import seed as seed_mod
from corral.metadata.field_indexes import INDEX_MIN_RECORDS, FieldIndexes
from corral.metadata.registry import Registry
from corral.metadata.text_index import sync_text_indexes
from corral.metadata.users import parse_id
from corral.storage.database import Database, Tx
from corral.storage.errors import UniqueViolation
from corral.storage.repositories.currencies import Currency, CurrencyRepository
from corral.storage.repositories.metadata import MetadataRepository

CURRENCY_FIELD = "Currency"
RATE_FIELD = "Exchange_Rate"
ACTIVE_LIMIT = 10
ISO_RE = re.compile(r"^[A-Z]{3}$")
DEFAULT_FORMAT = {"decimal_separator": "Period", "thousand_separator": "Comma",
                  "decimal_places": "2"}
_FORMAT_VALUES = {"decimal_separator": ("Comma", "Period"),
                  "thousand_separator": ("Space", "Comma", "Period"),
                  "decimal_places": ("0", "2", "3")}


def exchange_rate(value: Any) -> str | None:
    """The rate as Zoho writes it (`"1.000000000"`), or None when it is not a positive
    number of at most 9 + 9 digits."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not rate.is_finite() or rate <= 0 or rate >= Decimal(10) ** 9:
        return None
    return f"{rate.quantize(Decimal('1.000000000')):f}"


class CurrencyService:
    def __init__(self, db: Database, registry: Registry, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.registry = registry
        self.clock = clock
        self._repo = CurrencyRepository()
        self._meta = MetadataRepository()

    # ------------------------------------------------------------------ read
    def list(self) -> builtins.list[Currency]:
        """Every currency, the home one first; CURRENCIES_NOT_ENABLED before multi-currency."""
        with self.db.read() as tx:
            found = self._repo.all(tx)
        if not found:
            raise CurrenciesNotEnabled()
        return found

    def get(self, currency_id: int | None) -> Currency:
        found = next((c for c in self.list() if c.id == currency_id), None)
        if found is None:
            raise InvalidData("the id given seems to be invalid", {"resource_path_index": 2})
        return found

    def enabled(self) -> bool:
        with self.db.read() as tx:
            return bool(self._repo.all(tx))

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _admin(principal: Principal) -> None:
        if not principal.is_admin:
            raise NoPermission("Permission denied to update")

    @staticmethod
    def _properties(spec: dict[str, Any], root: str, *, new: bool) -> dict[str, Any]:
        """Checked values of a currency spec; `new`: name, iso_code, exchange_rate needed."""

        def at(key: str) -> dict[str, str]:
            return {"api_name": key, "json_path": f"{root}.{key}"}

        out: dict[str, Any] = {}
        for key in ("name", "iso_code", "exchange_rate") if new else ():
            if spec.get(key) in (None, ""):
                raise MandatoryNotFound(details=at(key))
        if new:
            name, iso = spec["name"], spec["iso_code"]
            if not isinstance(name, str) or len(name) > 100:
                raise InvalidData("Currency name is invalid.", at("name"))
            if not isinstance(iso, str) or not ISO_RE.match(iso.strip().upper()):
                raise InvalidData("ISO code is invalid.", at("iso_code"))
            out.update(name=name.strip(), iso_code=iso.strip().upper())
        if spec.get("exchange_rate") is not None:
            rate = exchange_rate(spec["exchange_rate"])
            if rate is None:
                raise InvalidData(details={**at("exchange_rate"), "expected_data_type": "double"})
            out["exchange_rate"] = rate
        if spec.get("symbol") is not None:
            if not isinstance(spec["symbol"], str) or not 0 < len(spec["symbol"]) <= 20:
                raise InvalidData("Currency symbol is invalid.", at("symbol"))
            out["symbol"] = spec["symbol"]
        for key in ("is_active", "prefix_symbol"):
            if spec.get(key) is not None:
                if not isinstance(spec[key], bool):
                    raise InvalidData(details={**at(key), "expected_data_type": "boolean"})
                out[key] = spec[key]
        if spec.get("format") is not None:
            out["format"] = CurrencyService._format(spec["format"], at("format"))
        return out

    @staticmethod
    def _format(value: Any, where: dict[str, str]) -> dict[str, str]:
        if not isinstance(value, dict):
            raise InvalidData(details={**where, "expected_data_type": "jsonobject"})
        out = dict(DEFAULT_FORMAT)
        for key, allowed in _FORMAT_VALUES.items():
            given = value.get(key)
            if given is None:
                continue
            text = str(given) if isinstance(given, int | str) and not isinstance(
                given, bool) else None
            if text not in allowed:
                raise InvalidData(details={**where, "api_name": key,
                                           "supported_values": list(allowed)})
            out[key] = text
        if out["decimal_separator"] == out["thousand_separator"]:
            raise NotAllowed("Thousand separator and decimal separator should not be equal",
                             where)
        return out

    # ------------------------------------------------------------------ write
    def enable(self, spec: Any, principal: Principal) -> int:
        """POST /org/currencies/actions/enable: the base currency; the currency fields."""
        self._admin(principal)
        if not isinstance(spec, dict):
            raise MandatoryNotFound(details={"api_name": "base_currency",
                                             "json_path": "$.base_currency"})
        props = self._properties(spec, "$.base_currency", new=True)
        currency_id = self.db.new_id()
        self.registry.refresh()
        modules = [m for m in self.registry.modules()
                   if any(f.data_type == "currency" for f in m.fields)
                   and m.field(CURRENCY_FIELD) is None]
        field_ids = self.db.new_ids(2 * len(modules))
        now, me = self.clock(), principal.user.id
        with self.db.write() as tx:
            # Two concurrent enables: the global lock lets one in first, the other then sees it.
            self.db.lock_global(tx)
            if self._repo.all(tx):
                raise AlreadyEnabled()
            self._repo.add(tx, Currency(
                id=currency_id, symbol=props.get("symbol", props["iso_code"]),
                is_active=True, is_base=True, prefix_symbol=props.get("prefix_symbol", True),
                format=props.get("format", dict(DEFAULT_FORMAT)), created_by=me,
                created_time=now, modified_by=me, modified_time=now,
                **{k: props[k] for k in ("iso_code", "name", "exchange_rate")}))
            self._repo.set_org_currency(tx, props["iso_code"])
            for i, module in enumerate(modules):
                for k, spec_field in enumerate(self._field_specs([props["iso_code"]])):
                    self._meta.add_field(tx, seed_mod.field_definition(
                        spec_field, field_id=field_ids[2 * i + k], module_id=module.id,
                        sequence=len(module.fields) + k + 1, custom=False, now=now))
            sync_text_indexes(tx, [m.id for m in modules])
            self._meta.bump_version(tx)
        self.registry.refresh()
        with self.db.write() as tx:  # the new fields' search indexes
            FieldIndexes().sync(tx, [self.registry.require(m.api_name) for m in modules],
                                min_records=INDEX_MIN_RECORDS)
        self.db.reload_statistics()
        return currency_id

    @staticmethod
    def _field_specs(iso_codes: builtins.list[str]) -> builtins.list[dict[str, Any]]:
        return [{"api_name": CURRENCY_FIELD, "label": "Currency", "type": "picklist",
                 "pick_list": iso_codes},
                {"api_name": RATE_FIELD, "label": "Exchange Rate", "type": "double"}]

    def update_base(self, spec: Any, principal: Principal) -> int:
        """PUT /org/currencies/actions/enable: the home currency's symbol, rate, format."""
        self._admin(principal)
        if not isinstance(spec, dict):
            raise MandatoryNotFound(details={"api_name": "base_currency",
                                             "json_path": "$.base_currency"})
        props = self._properties(spec, "$.base_currency", new=False)
        with self.db.write() as tx:
            found = self._repo.all(tx)
            if not found:
                raise FeatureNotEnabled()
            base = found[0]
            if spec.get("id") is not None and parse_id(spec["id"]) != base.id:
                raise InvalidData("ID is invalid", {"api_name": "id",
                                                    "json_path": "$.base_currency.id"})
            props.pop("is_active", None)  # the home currency stays active
            self._repo.update(tx, replace(base, **props, modified_by=principal.user.id,
                                          modified_time=self.clock()))
        return base.id

    def add(self, specs: builtins.list[Any], principal: Principal,
            ) -> builtins.list[int | CorralError]:
        """POST /org/currencies: each currency's id, or its error (the others still go in)."""
        self._admin(principal)
        ids = self.db.new_ids(len(specs))
        out: builtins.list[int | CorralError] = []
        try:
            with self.db.write() as tx:
                if not self._repo.all(tx):
                    raise FeatureNotEnabled()
                for i, spec in enumerate(specs):
                    try:
                        out.append(self._add_one(tx, spec, ids[i], i, principal))
                    except CorralError as err:
                        out.append(err)
                self._sync_pick_lists(tx)
        except UniqueViolation:  # a concurrent request added one of the ISO codes
            raise DuplicateData(details={"api_name": "iso_code"}) from None
        self.registry.refresh()
        return out

    def _add_one(self, tx: Tx, spec: Any, currency_id: int, index: int,
                 principal: Principal) -> int:
        root = f"$.currencies[{index}]"
        if not isinstance(spec, dict):
            raise InvalidData(details={"api_name": "currencies", "json_path": root,
                                       "expected_data_type": "jsonobject"})
        props = self._properties(spec, root, new=True)
        existing = self._repo.all(tx)
        if any(c.iso_code == props["iso_code"] for c in existing):
            raise DuplicateData('Duplicate value given for "Isocode" parameter.',
                                {"api_name": "iso_code", "json_path": f"{root}.iso_code"})
        active = props.get("is_active", True)
        if active and sum(c.is_active for c in existing) >= ACTIVE_LIMIT:
            raise ActiveStateLimitExceeded()
        now, me = self.clock(), principal.user.id
        self._repo.add(tx, Currency(
            id=currency_id, symbol=props.get("symbol", props["iso_code"]), is_active=active,
            is_base=False, prefix_symbol=props.get("prefix_symbol", True),
            format=props.get("format", dict(DEFAULT_FORMAT)), created_by=me, created_time=now,
            modified_by=me, modified_time=now,
            **{k: props[k] for k in ("iso_code", "name", "exchange_rate")}))
        return currency_id

    def update(self, specs: builtins.list[Any], principal: Principal, *,
               currency_id: int | None = None) -> builtins.list[int | CorralError]:
        """PUT /org/currencies (ids in the body) or /org/currencies/{id}: symbol, rate,
        format, prefix, active flag. Name and ISO code never change (ignored)."""
        self._admin(principal)
        out: builtins.list[int | CorralError] = []
        with self.db.write() as tx:
            if not self._repo.all(tx):
                raise FeatureNotEnabled()
            for i, spec in enumerate(specs):
                try:
                    out.append(self._update_one(tx, spec, i, principal, currency_id))
                except CorralError as err:
                    out.append(err)
            self._sync_pick_lists(tx)
        self.registry.refresh()
        return out

    def _update_one(self, tx: Tx, spec: Any, index: int, principal: Principal,
                    path_id: int | None) -> int:
        root = f"$.currencies[{index}]"
        if not isinstance(spec, dict):
            raise InvalidData(details={"api_name": "currencies", "json_path": root,
                                       "expected_data_type": "jsonobject"})
        if path_id is None and spec.get("id") is None:
            raise MandatoryNotFound(details={"api_name": "id", "json_path": f"{root}.id"})
        wanted = path_id if path_id is not None else parse_id(spec["id"])
        existing = {c.id: c for c in self._repo.all(tx)}
        current = existing.get(wanted or 0)
        if current is None:
            raise InvalidData("ID is invalid", {"resource_path_index": 2} if path_id
                              else {"api_name": "id", "json_path": f"{root}.id"})
        if current.is_base:
            raise NotAllowed("Base currency ID is not allowed here",
                             {"api_name": "id", "json_path": f"{root}.id"})
        props = self._properties(spec, root, new=False)
        if props.get("is_active") and not current.is_active and sum(
                c.is_active for c in existing.values()) >= ACTIVE_LIMIT:
            raise ActiveStateLimitExceeded()
        self._repo.update(tx, replace(current, **props, modified_by=principal.user.id,
                                      modified_time=self.clock()))
        return current.id

    def _sync_pick_lists(self, tx: Tx) -> None:
        """The `Currency` fields offer the active currencies (the home one first)."""
        codes = [c.iso_code for c in self._repo.all(tx) if c.is_active]
        field_ids = [f.id for m in self.registry.modules()
                     if (f := m.field(CURRENCY_FIELD)) is not None]
        self._meta.set_pick_lists(tx, field_ids, codes, modified_time=self.clock())
        self._meta.bump_version(tx)
