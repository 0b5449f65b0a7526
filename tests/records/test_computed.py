"""The computed-fields step on its own (records/computed.py): Deals, Calls, inventory totals."""

from __future__ import annotations

from typing import Any

import pytest

from corral.records.computed import ComputedFields
from corral.records.writes import Decision
from corral.services import Corral
from tests.records.test_steps import batch_of, context, inserting, rec, seeded, updating

__all__ = ["seeded"]  # test_steps' module-scoped fixture: seeded metadata, no writes


def run(corral: Corral, module: str, values: dict[str, Any], *,
        old: dict[str, Any] | None = None) -> Decision | None:
    mod = corral.registry.require(module)
    item = (inserting(mod, 0, values) if old is None
            else updating(rec(mod, 42, old), 0, values))
    return ComputedFields().check(item, batch_of(mod, context(corral), [item]))


def values(decision: Decision | None) -> dict[str, Any]:
    assert decision is not None and decision.error is None, decision
    return decision.set_values


def error(decision: Decision | None) -> tuple[str, str | None, dict[str, Any]]:
    assert decision is not None and decision.error is not None, decision
    return decision.error.code, decision.error.message, decision.error.details


# ----------------------------------------------------------------------------- Deals
@pytest.mark.parametrize("stage,probability", [
    ("Qualification", 10), ("Needs Analysis", 20), ("Value Proposition", 40),
    ("Id. Decision Makers", 60), ("Perception Analysis", 70), ("Proposal/Price Quote", 75),
    ("Negotiation/Review", 90), ("Closed Won", 100), ("Closed Lost", 0),
    ("Closed Lost to Competition", 0)])
def test_stage_sets_probability_and_expected_revenue(seeded: Corral, stage: str,
                                                     probability: int) -> None:
    got = values(run(seeded, "Deals", {"Stage": stage, "Amount": 1000.0}))
    assert got == {"Probability": probability, "Expected_Revenue": 10.0 * probability}


def test_a_given_probability_wins_over_the_stage(seeded: Corral) -> None:
    got = values(run(seeded, "Deals", {"Stage": "Qualification", "Amount": 333.0,
                                       "Probability": 33}))
    assert got == {"Expected_Revenue": 109.89}


def test_update_of_amount_keeps_probability(seeded: Corral) -> None:
    old = {"Stage": "Negotiation/Review", "Probability": 50, "Amount": 10.0,
           "Expected_Revenue": 5.0}
    assert values(run(seeded, "Deals", {"Amount": 20.0}, old=old)) == {"Expected_Revenue": 10.0}


def test_update_moving_the_stage_remaps_probability(seeded: Corral) -> None:
    old = {"Stage": "Qualification", "Probability": 10, "Amount": 10.0, "Expected_Revenue": 1.0}
    got = values(run(seeded, "Deals", {"Stage": "Closed Won"}, old=old))
    assert got == {"Probability": 100, "Expected_Revenue": 10.0}


def test_unchanged_deal_sets_nothing(seeded: Corral) -> None:
    old = {"Stage": "Qualification", "Probability": 10, "Amount": 10.0, "Expected_Revenue": 1.0}
    assert run(seeded, "Deals", {"Description": "x"}, old=old) is None


def test_no_amount_no_expected_revenue(seeded: Corral) -> None:
    assert values(run(seeded, "Deals", {"Stage": "Qualification"})) == {"Probability": 10}
    old = {"Stage": "Qualification", "Probability": 10, "Amount": 10.0, "Expected_Revenue": 1.0}
    assert values(run(seeded, "Deals", {"Amount": None}, old=old)) == {"Expected_Revenue": None}


@pytest.mark.parametrize("probability", [-1, 101, 250.5])
def test_probability_outside_0_100_is_invalid(seeded: Corral, probability: float) -> None:
    code, message, details = error(run(seeded, "Deals", {"Stage": "Qualification",
                                                         "Probability": probability}))
    assert (code, message) == ("INVALID_DATA", "Given Probability is not valid")
    assert details == {"api_name": "Probability", "json_path": "$.data[0].Probability"}


# ----------------------------------------------------------------------------- Calls
@pytest.mark.parametrize("duration,seconds", [
    ("00:00", 0), ("05:30", 330), ("90:00", 5400), ("1:02:03", 3723), (" 10:05 ", 605)])
def test_call_duration_in_seconds(seeded: Corral, duration: str, seconds: int) -> None:
    got = values(run(seeded, "Calls", {"Call_Duration": duration}))
    assert got == {"Call_Duration_in_seconds": seconds}


@pytest.mark.parametrize("duration", ["5", "5:60", "1:60:00", "ab:cd", "1:2:3:4", "-1:00"])
def test_malformed_call_duration_is_invalid_data(seeded: Corral, duration: str) -> None:
    code, _, details = error(run(seeded, "Calls", {"Call_Duration": duration}))
    assert code == "INVALID_DATA"
    assert details == {"api_name": "Call_Duration", "json_path": "$.data[0].Call_Duration"}


def test_clearing_call_duration_clears_seconds(seeded: Corral) -> None:
    old = {"Call_Duration": "01:00", "Call_Duration_in_seconds": 60}
    got = values(run(seeded, "Calls", {"Call_Duration": None}, old=old))
    assert got == {"Call_Duration_in_seconds": None}


# ----------------------------------------------------------------------------- inventory
@pytest.mark.parametrize("module,subform", [
    ("Quotes", "Quoted_Items"), ("Sales_Orders", "Ordered_Items"),
    ("Purchase_Orders", "Purchased_Items"), ("Invoices", "Invoiced_Items")])
def test_line_items_give_sub_total_and_grand_total(seeded: Corral, module: str,
                                                   subform: str) -> None:
    lines = [{"Product_Name": {"id": "1"}, "Quantity": 2, "List_Price": 10.5, "Discount": 1,
              "Tax": 2.25},
             {"Product_Name": {"id": "2"}, "Quantity": 3, "List_Price": 0.1}]
    got = values(run(seeded, module, {subform: lines, "Discount": 5, "Tax": 1.5,
                                      "Adjustment": -0.5}))
    assert got[subform] == [
        {**lines[0], "Total": 21.0, "Total_After_Discount": 20.0, "Net_Total": 22.25},
        {**lines[1], "Total": 0.3, "Total_After_Discount": 0.3, "Net_Total": 0.3}]
    assert got["Sub_Total"] == 22.55
    assert got["Grand_Total"] == 22.55 - 5 + 1.5 - 0.5


def test_missing_amounts_read_as_zero(seeded: Corral) -> None:
    got = values(run(seeded, "Quotes", {"Quoted_Items": [{"Quantity": 1, "List_Price": 4}]}))
    assert (got["Sub_Total"], got["Grand_Total"]) == (4.0, 4.0)
    assert (got["Discount"], got["Tax"], got["Adjustment"]) == (0, 0, 0)


def test_update_of_adjustment_recomputes_grand_total(seeded: Corral) -> None:
    line = {"Quantity": 1, "List_Price": 4, "Total": 4.0, "Total_After_Discount": 4.0,
            "Net_Total": 4.0}
    old = {"Quoted_Items": [line], "Discount": 0, "Tax": 0, "Adjustment": 0, "Sub_Total": 4.0,
           "Grand_Total": 4.0}
    assert values(run(seeded, "Quotes", {"Adjustment": 1}, old=old)) == {"Grand_Total": 5.0}
    assert run(seeded, "Quotes", {"Subject": "x"}, old=old) is None


@pytest.mark.parametrize("bad", [{"Quantity": "2"}, {"List_Price": True},
                                 {"Discount": "x"}, {"Tax": [1]}])
def test_non_numeric_line_values_are_invalid_data(seeded: Corral, bad: dict[str, Any]) -> None:
    line = {"Quantity": 1, "List_Price": 4, **bad}
    code, _, details = error(run(seeded, "Invoices", {"Invoiced_Items": [{}, line]}))
    (name,) = bad
    assert code == "INVALID_DATA"
    assert details == {"api_name": name, "json_path": f"$.data[0].Invoiced_Items[1].{name}",
                       "expected_data_type": "double"}


def test_other_modules_are_left_alone(seeded: Corral) -> None:
    assert run(seeded, "Leads", {"Last_Name": "x"}) is None
