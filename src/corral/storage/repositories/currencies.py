"""The org's currencies: the home (base) currency and the others with their exchange rates."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from corral.storage import tables as t
from corral.storage.database import Tx


@dataclass(frozen=True)
class Currency:
    id: int
    iso_code: str
    name: str
    symbol: str
    exchange_rate: str  # decimal text, e.g. "1.000000000"
    is_active: bool
    is_base: bool
    prefix_symbol: bool
    created_by: int
    created_time: datetime
    modified_by: int
    modified_time: datetime
    # {"decimal_separator", "thousand_separator", "decimal_places"}
    format: dict[str, Any] = field(default_factory=dict)


def _currency(row: Any) -> Currency:
    values = {f.name: getattr(row, f.name) for f in fields(Currency)}
    values["format"] = dict(values["format"] or {})
    return Currency(**values)


class CurrencyRepository:
    def all(self, tx: Tx) -> list[Currency]:
        """Every currency, the base one first, then in id order ([] before multi-currency)."""
        rows = tx.execute(sa.select(t.currencies).order_by(t.currencies.c.is_base.desc(),
                                                           t.currencies.c.id))
        return [_currency(r) for r in rows]

    def find(self, tx: Tx, currency_id: int) -> Currency | None:
        row = tx.execute(sa.select(t.currencies)
                         .where(t.currencies.c.id == currency_id)).first()
        return None if row is None else _currency(row)

    def iso_taken(self, tx: Tx, iso_code: str) -> bool:
        return tx.execute(sa.select(t.currencies.c.id).where(
            sa.func.upper(t.currencies.c.iso_code) == iso_code.upper())).first() is not None

    def add(self, tx: Tx, currency: Currency) -> None:
        """`Database.write()` raises `UniqueViolation` when the ISO code is taken."""
        tx.execute(sa.insert(t.currencies).values(
            {f.name: getattr(currency, f.name) for f in fields(Currency)}))

    def update(self, tx: Tx, currency: Currency) -> None:
        tx.execute(sa.update(t.currencies).where(t.currencies.c.id == currency.id).values(
            {f.name: getattr(currency, f.name) for f in fields(Currency) if f.name != "id"}))

    def set_org_currency(self, tx: Tx, iso_code: str) -> None:
        """The org's home currency (shown by GET /org)."""
        tx.execute(sa.update(t.orgs).values(currency=iso_code))
