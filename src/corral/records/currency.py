"""The write path's multi-currency step: a record of a multi-currency org carries `Currency`
(an active currency's ISO code, the home currency by default) and `Exchange_Rate` (that
currency's rate unless the request gives one)."""

from __future__ import annotations

from decimal import Decimal

from corral.records import validate as v
from corral.records.writes import Batch, Decision, Item, Step
from corral.storage.database import Tx
from corral.storage.repositories.currencies import Currency, CurrencyRepository

CURRENCY = "Currency"
RATE = "Exchange_Rate"
MEMO = "currencies"


class CurrencyDefaults(Step):
    """Fills in `Currency` and `Exchange_Rate` (modules that have those fields only, which
    enabling multi-currency adds); refuses an unknown or inactive currency."""

    name = "currency"

    def prepare(self, tx: Tx, batch: Batch) -> None:
        if batch.module.field(CURRENCY) is None:
            batch.memo[MEMO] = {}
            return
        batch.memo[MEMO] = {c.iso_code: c for c in CurrencyRepository().all(tx)}

    def active(self, batch: Batch) -> bool:
        return bool(batch.memo.get(MEMO))

    def check(self, item: Item, batch: Batch) -> Decision | None:
        known: dict[str, Currency] = batch.memo.get(MEMO) or {}
        if not known:
            return None
        data, old = item.new.data, item.old
        iso = data.get(CURRENCY)
        if iso is None:
            iso = next(c.iso_code for c in known.values() if c.is_base)
        currency = known.get(iso.upper()) if isinstance(iso, str) else None
        changed = old is None or old.data.get(CURRENCY) != iso
        if currency is None or (changed and not currency.is_active):
            return Decision(error=v.invalid(batch.module.by_name[CURRENCY], item.index))
        out: dict[str, object] = {}
        if data.get(CURRENCY) != currency.iso_code:
            out[CURRENCY] = currency.iso_code
        rate = item.values.get(RATE)
        if rate is not None and rate <= 0:
            return Decision(error=v.invalid(batch.module.by_name[RATE], item.index))
        if rate is None and (changed or data.get(RATE) is None):
            out[RATE] = float(Decimal(currency.exchange_rate))
        return Decision(set_values=out) if out else None
