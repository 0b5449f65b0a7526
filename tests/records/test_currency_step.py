"""CurrencyDefaults on its own: what it loads, what it decides for inserts and updates."""

from __future__ import annotations

from datetime import datetime

from corral.auth.service import Principal
from corral.records.currency import MEMO, CurrencyDefaults
from corral.services import Corral
from corral.storage.repositories.currencies import Currency
from tests.records.test_steps import batch_of, context, error_of, inserting, rec, updating

NOW = datetime(2026, 3, 2, 9, 30)


def _currency(iso: str, rate: str, *, base: bool = False, active: bool = True) -> Currency:
    return Currency(id=hash(iso) % 10**6, iso_code=iso, name=iso, symbol=iso,
                    exchange_rate=rate, is_active=active, is_base=base, prefix_symbol=True,
                    created_by=1, created_time=NOW, modified_by=1, modified_time=NOW)


KNOWN = {"USD": _currency("USD", "1.000000000", base=True),
         "EUR": _currency("EUR", "0.920000000"),
         "GBP": _currency("GBP", "0.790000000", active=False)}


def _enabled(corral: Corral) -> None:
    admin = corral.auth.principal_for_user(corral.auth.user_by_email(None).id)
    assert isinstance(admin, Principal)
    corral.currencies.enable({"name": "US Dollar", "iso_code": "USD", "exchange_rate": "1"},
                             admin)


def test_prepare_loads_currencies_only_where_the_fields_are(corral: Corral) -> None:
    step = CurrencyDefaults()
    deals = corral.registry.require("Deals")
    b = batch_of(deals, context(corral))
    with corral.db.read() as tx:
        step.prepare(tx, b)
    assert b.memo[MEMO] == {}  # not enabled: no Currency field yet
    _enabled(corral)
    deals, tasks = corral.registry.require("Deals"), corral.registry.require("Tasks")
    for module, expected in ((deals, ["USD"]), (tasks, [])):
        b = batch_of(module, context(corral))
        with corral.db.read() as tx:
            step.prepare(tx, b)
        assert list(b.memo[MEMO]) == expected


def test_insert_defaults_and_choices(corral: Corral) -> None:
    _enabled(corral)
    deals = corral.registry.require("Deals")
    step = CurrencyDefaults()
    b = batch_of(deals, context(corral), **{MEMO: KNOWN})
    decision = step.check(inserting(deals, 0, {"Deal_Name": "A"}), b)
    assert decision is not None
    assert decision.set_values == {"Currency": "USD", "Exchange_Rate": 1.0}
    decision = step.check(inserting(deals, 0, {"Deal_Name": "A", "Currency": "eur"}), b)
    assert decision is not None
    assert decision.set_values == {"Currency": "EUR", "Exchange_Rate": 0.92}
    decision = step.check(inserting(deals, 0, {"Currency": "EUR", "Exchange_Rate": 0.5}), b)
    assert decision is None  # both given
    for values in ({"Currency": "JPY"}, {"Currency": "GBP"}):
        code, details = error_of(step.check(inserting(deals, 3, values), b))
        assert (code, details["api_name"], details["json_path"]) == (
            "INVALID_DATA", "Currency", "$.data[3].Currency")
    code, details = error_of(step.check(inserting(deals, 0, {"Exchange_Rate": 0}), b))
    assert details["api_name"] == "Exchange_Rate"
    # Nothing to do where the org has no currencies.
    assert step.check(inserting(deals, 0, {}), batch_of(deals, context(corral),
                                                        **{MEMO: {}})) is None


def test_update_keeps_or_replaces_the_rate(corral: Corral) -> None:
    _enabled(corral)
    deals = corral.registry.require("Deals")
    step = CurrencyDefaults()
    b = batch_of(deals, context(corral), **{MEMO: KNOWN})
    old = rec(deals, 1, {"Deal_Name": "A", "Currency": "EUR", "Exchange_Rate": 0.5})
    assert step.check(updating(old, 0, {"Amount": 5}), b) is None  # keeps its own rate
    decision = step.check(updating(old, 0, {"Currency": "USD"}), b)
    assert decision is not None and decision.set_values == {"Exchange_Rate": 1.0}
    in_gbp = rec(deals, 2, {"Deal_Name": "B", "Currency": "GBP", "Exchange_Rate": 0.79})
    assert step.check(updating(in_gbp, 0, {"Amount": 1}), b) is None  # inactive, unchanged
    legacy = rec(deals, 3, {"Deal_Name": "C"})
    decision = step.check(updating(legacy, 0, {"Amount": 1}), b)
    assert decision is not None
    assert decision.set_values == {"Currency": "USD", "Exchange_Rate": 1.0}
