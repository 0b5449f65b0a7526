"""records.matching: folding rules and duplicate sets (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from corral.records.matching import (
    MatchField,
    find_duplicates,
    fold_email,
    fold_phone,
    fold_text,
)

FIELDS = [MatchField("Email", "email"), MatchField("Phone", "phone"),
          MatchField("Last_Name", "text"), MatchField("Company", "company")]


def test_emails_fold_per_provider_rules() -> None:
    assert fold_email("J.Doe+crm@GoogleMail.com") == "jdoe@gmail.com"
    assert fold_email("j.doe+x@outlook.com") == "j.doe@outlook.com"
    assert fold_email("jdoe-news@yahoo.com") == "jdoe@yahoo.com"
    # an unknown domain keeps its dots and tags: they may name other mailboxes
    assert fold_email("j.doe+x@zylker.com") == "j.doe+x@zylker.com"
    assert fold_email("no-at-sign") is None


def test_phones_fold_to_e164() -> None:
    assert fold_phone("(415) 555-0132") == fold_phone("+1 415 555 0132") == "+14155550132"
    assert fold_phone("+44 20 7946 0958") == "+442079460958"
    assert fold_phone("") is None


def test_text_folds_case_accents_punctuation_and_company_suffixes() -> None:
    assert fold_text("  Zoë  O'Brien ") == "zoe o brien"
    assert fold_text("Zylker Inc.", company=True) == fold_text("zylker", company=True)


@given(st.emails())
def test_folding_an_email_twice_changes_nothing(email: str) -> None:
    once = fold_email(email)
    assert once is None or fold_email(once) == once


def test_sets_from_exact_keys_and_fuzzy_names() -> None:
    records = {
        1: {"Email": "ann.daly@gmail.com", "Last_Name": "Daly", "Company": "Zylker"},
        2: {"Email": "anndaly+crm@gmail.com", "Last_Name": "Daley", "Company": "Acme"},
        3: {"Last_Name": "Johnson", "Company": "Zylker Inc", "Phone": "415-555-0100"},
        4: {"Last_Name": "Jonhson", "Company": "Zylker", "Phone": None},
        5: {"Last_Name": "Smith", "Company": "Other Corp"},
        6: {"Last_Name": "Smith", "Company": "Unrelated"},
        7: {"Phone": "+1 (415) 555-0100", "Last_Name": "X", "Company": "Y"},
    }
    sets = find_duplicates(records, FIELDS, 0.85)
    got = {s.records: s for s in sets}
    assert set(got) == {(1, 2), (3, 4, 7)}
    assert got[(1, 2)].score == 1.0
    assert {(r.field, r.kind) for r in got[(1, 2)].reasons} >= {("Email", "exact")}
    kinds = {(r.field, r.kind) for r in got[(3, 4, 7)].reasons}
    assert ("Phone", "exact") in kinds and ("Last_Name", "fuzzy") in kinds
    assert find_duplicates(records, FIELDS, 1.0)[0].records == (1, 2)


@given(st.integers(200, 999), st.integers(200, 999), st.integers(0, 9999),
       st.sampled_from(["+1 {a} {b} {c:04d}", "({a}) {b}-{c:04d}", "{a}.{b}.{c:04d}",
                        "{a}-{b}-{c:04d}", "+1-{a}-{b}-{c:04d}", "+44 20 {b} {c:04d}",
                        "+49 30 {a}{b}{c:04d}"]))
def test_fast_phone_folding_agrees_with_phonenumbers(a: int, b: int, c: int, shape: str) -> None:
    import phonenumbers

    text = shape.format(a=a, b=b, c=c)
    try:
        parsed = phonenumbers.parse(text, "US")
        possible = phonenumbers.is_possible_number(parsed)
    except phonenumbers.NumberParseException:
        possible = False
    if possible:
        assert fold_phone(text) == phonenumbers.format_number(
            parsed, phonenumbers.PhoneNumberFormat.E164)
