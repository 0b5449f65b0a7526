"""Fields Zoho computes from others, filled in on every insert and update by a write-path step.

- Deals: `Probability` follows the `Stage` (Zoho's stage-probability mapping) when a record gets
  a stage without a probability of its own; `Expected_Revenue` = Amount x Probability / 100.
- Calls: `Call_Duration_in_seconds` from `Call_Duration` ("mm:ss" or "hh:mm:ss").
- Quotes, Sales Orders, Purchase Orders, Invoices: each line item's `Total` (List_Price x
  Quantity), `Total_After_Discount` and `Net_Total` (+ Tax); the record's `Sub_Total` (sum of
  the lines' net totals) and `Grand_Total` (Sub_Total - Discount + Tax + Adjustment).

The computed fields are read-only in field metadata, so a client writing them gets INVALID_DATA
from validation; line items' computed keys are overwritten (they live inside a subform).
"""

from __future__ import annotations

import math
import re
from typing import Any

from corral.errors import InvalidData
from corral.metadata.seed_data import DEAL_STAGE_PROBABILITY
from corral.records.writes import Batch, Decision, Item, Step

# Line items' subform of each inventory module (Zoho's api_names).
LINE_ITEMS = {"Quotes": "Quoted_Items", "Sales_Orders": "Ordered_Items",
              "Purchase_Orders": "Purchased_Items", "Invoices": "Invoiced_Items"}
DURATION_RE = re.compile(r"^(?:(\d{1,3}):)?(\d{1,4}):(\d{2})$")


def _money(value: float) -> float:
    """Currency values are kept to the cent, as Zoho rounds them."""
    return round(value + 0.0, 2)


def _number(value: Any) -> float | None:
    """A numeric input, or None when absent; a `ValueError` for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(value)
    if not math.isfinite(value):
        raise ValueError(value)
    return float(value)


def _changes(item: Item, wanted: dict[str, Any]) -> Decision | None:
    """Only the values that differ from the record's, so an untouched record logs nothing."""
    data = item.new.data
    changed = {k: x for k, x in wanted.items() if data.get(k) != x}
    return Decision(set_values=changed) if changed else None


def _invalid(item: Item, api_name: str, path: str | None = None,
             message: str | None = None, **extra: Any) -> Decision:
    return Decision(error=InvalidData(message, {
        **extra, "api_name": api_name,
        "json_path": path or f"$.data[{item.index}].{api_name}"}))


def deal_values(item: Item) -> Decision | None:
    data = item.new.data
    old = item.old.data if item.old is not None else {}
    probability = data.get("Probability")
    stage = data.get("Stage")
    stage_moved = item.old is None or old.get("Stage") != stage
    if "Probability" not in item.values and stage_moved and stage in DEAL_STAGE_PROBABILITY:
        probability = DEAL_STAGE_PROBABILITY[stage]
    if isinstance(probability, int | float) and not 0 <= probability <= 100:
        return _invalid(item, "Probability", message="Given Probability is not valid")
    amount = data.get("Amount")
    revenue = (_money(amount * probability / 100)
               if isinstance(amount, int | float) and isinstance(probability, int | float)
               else None)
    return _changes(item, {"Probability": probability, "Expected_Revenue": revenue})


def call_values(item: Item) -> Decision | None:
    duration = item.new.data.get("Call_Duration")
    seconds: int | None = None
    if duration not in (None, ""):
        match = DURATION_RE.match(str(duration).strip())
        if match is None or int(match[3]) >= 60 or (match[1] and int(match[2]) >= 60):
            return _invalid(item, "Call_Duration")
        hours, minutes, secs = (int(x) if x else 0 for x in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    return _changes(item, {"Call_Duration_in_seconds": seconds})


def inventory_values(item: Item, subform: str) -> Decision | None:
    data = item.new.data
    lines: list[dict[str, Any]] = []
    sub_total = 0.0
    for i, raw in enumerate(data.get(subform) or []):
        try:
            quantity = _number(raw.get("Quantity"))
            price = _number(raw.get("List_Price"))
            discount = _number(raw.get("Discount")) or 0.0
            tax = _number(raw.get("Tax")) or 0.0
        except ValueError:
            bad = next(k for k in ("Quantity", "List_Price", "Discount", "Tax")
                       if not _is_number_or_none(raw.get(k)))
            return _invalid(item, bad, f"$.data[{item.index}].{subform}[{i}].{bad}",
                            expected_data_type="double")
        total = _money((quantity if quantity is not None else 1.0) * (price or 0.0))
        after = _money(total - discount)
        net = _money(after + tax)
        sub_total += net
        lines.append({**raw, "Total": total, "Total_After_Discount": after, "Net_Total": net})
    amounts = {}
    for name in ("Discount", "Tax", "Adjustment"):
        value = data.get(name)
        amounts[name] = value if isinstance(value, int | float) else 0
    sub = _money(sub_total)
    grand = _money(sub - amounts["Discount"] + amounts["Tax"] + amounts["Adjustment"])
    wanted: dict[str, Any] = {**amounts, "Sub_Total": sub, "Grand_Total": grand}
    if subform in data:
        wanted[subform] = lines
    return _changes(item, wanted)


def _is_number_or_none(value: Any) -> bool:
    try:
        _number(value)
    except ValueError:
        return False
    return True


class ComputedFields(Step):
    """Fills the fields Zoho computes (Deals, Calls, inventory amounts) from their inputs."""

    name = "computed_fields"

    def active(self, batch: Batch) -> bool:
        return batch.module.api_name in ("Deals", "Calls") or batch.module.api_name in LINE_ITEMS

    def check(self, item: Item, batch: Batch) -> Decision | None:
        module = batch.module.api_name
        if module == "Deals":
            return deal_values(item)
        if module == "Calls":
            return call_values(item)
        if module in LINE_ITEMS:
            return inventory_values(item, LINE_ITEMS[module])
        return None
