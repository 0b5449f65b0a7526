"""Finding duplicate records (issue 14, item 5): normalised exact keys plus fuzzy similarity.

Pure: values in, duplicate sets out. Emails are folded per provider rules (case; Gmail's dots;
plus-tags where the provider delivers them to the base address), phones compared as E.164
(`phonenumbers`), names and companies by `rapidfuzz` similarity after folding case, accents,
punctuation and (companies) legal suffixes. Candidate pairs come from blocking — records sharing
an exact key, or the first or last four letters of one text field and alike on the others —
and a large block is walked in overlapping sorted windows, so the work grows with the records,
never with every pair of records.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy
import phonenumbers
from rapidfuzz import fuzz, process

# Providers that deliver `local+tag@` to `local@` (Yahoo uses `-` instead).
PLUS_TAG_DOMAINS = frozenset({
    "gmail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com",
    "mac.com", "fastmail.com", "fastmail.fm", "protonmail.com", "proton.me", "pm.me",
    "zoho.com", "zohomail.com"})
DASH_TAG_DOMAINS = frozenset({"yahoo.com", "ymail.com", "rocketmail.com"})
DOMAIN_ALIASES = {"googlemail.com": "gmail.com", "pm.me": "proton.me"}
DOTLESS_DOMAINS = frozenset({"gmail.com"})  # Gmail ignores dots in the local part
COMPANY_SUFFIXES = frozenset({
    "inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co", "company",
    "gmbh", "ag", "sa", "sarl", "srl", "bv", "nv", "plc", "pty", "pvt", "oy", "ab", "as"})
_NON_WORD = re.compile(r"[^\w\s]+")
_SPACE = re.compile(r"\s+")
MAX_EXACT_GROUP = 200  # a value shared by more records links them as a chain, not all pairs
MAX_BLOCK = 250  # a larger block is compared in overlapping windows of this size
DEFAULT_THRESHOLD = 0.85


def fold_email(raw: Any) -> str | None:
    if not isinstance(raw, str) or "@" not in raw:
        return None
    local, _at, domain = raw.strip().lower().rpartition("@")
    domain = DOMAIN_ALIASES.get(domain, domain)
    if domain in PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    elif domain in DASH_TAG_DOMAINS:
        local = local.split("-", 1)[0]
    if domain in DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local and domain else None


def fold_phone(raw: Any, region: str = "US") -> str | None:
    """E.164 when the number parses (national numbers in `region`), else its digits."""
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    fast = _fast_e164(text, region)
    if fast is not None:
        return fast
    try:
        number = phonenumbers.parse(text, region)
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    except phonenumbers.NumberParseException:
        pass
    digits = re.sub(r"\D", "", text)
    return digits or None


_PLAIN_INTERNATIONAL = re.compile(r"\+[1-9][\d .-]{6,20}")
_PLAIN_NANP = re.compile(r"\(?[2-9]\d\d\)?[ .-]?[2-9]\d\d[ .-]?\d{4}")
NANP_REGIONS = frozenset({"US", "CA"})


def _fast_e164(text: str, region: str) -> str | None:
    """The E.164 form phonenumbers gives, without parsing, for the two plain shapes most phones
    come in: `+` and digits with separators, and a ten-digit North American number
    (tests/records/test_matching.py checks both agree with phonenumbers)."""
    if _PLAIN_INTERNATIONAL.fullmatch(text) and not text.startswith("+1"):
        return None  # other plans have trunk prefixes and lengths only phonenumbers knows
    if _PLAIN_INTERNATIONAL.fullmatch(text):
        digits = re.sub(r"\D", "", text)
        return f"+{digits}" if len(digits) == 11 else None
    if region in NANP_REGIONS and _PLAIN_NANP.fullmatch(text):
        return "+1" + re.sub(r"\D", "", text)
    return None


def fold_text(raw: Any, *, company: bool = False) -> str | None:
    """Lower case, accents and punctuation gone, spaces collapsed (and legal suffixes, for
    companies)."""
    if raw is None:
        return None
    text = str(raw)
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower()
    text = _SPACE.sub(" ", _NON_WORD.sub(" ", text)).strip()
    if company:
        words = text.split(" ")
        while len(words) > 1 and words[-1] in COMPANY_SUFFIXES:
            words.pop()
        text = " ".join(words)
    return text or None


@dataclass(frozen=True)
class MatchField:
    api_name: str
    kind: str  # email | phone | text | company


@dataclass(frozen=True)
class Reason:
    field: str
    kind: str  # exact | fuzzy
    score: float


@dataclass(frozen=True)
class DuplicateSet:
    records: tuple[int, ...]
    score: float
    reasons: tuple[Reason, ...]


def fold(kind: str, raw: Any, region: str) -> str | None:
    if kind == "email":
        return fold_email(raw)
    if kind == "phone":
        return fold_phone(raw, region)
    return fold_text(raw, company=kind == "company")


class _Sets:
    """Union-find over record ids, keeping the accepted pairs of each set."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while self.parent.get(x, x) != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _candidates(folded: Mapping[str, dict[int, str]], fields: Sequence[MatchField],
                cutoff: float) -> set[tuple[int, int]]:
    """Pairs worth scoring: sharing an exact key (email, phone), or sharing a block of a text
    field with similar text fields all together."""
    pairs: set[tuple[int, int]] = set()
    texts = [f for f in fields if f.kind in ("text", "company")]
    for f in fields:
        if f.kind not in ("email", "phone"):
            continue
        groups: dict[str, list[int]] = {}
        for rid, key in folded[f.api_name].items():
            groups.setdefault(key, []).append(rid)
        for ids in groups.values():
            ids.sort()
            if len(ids) <= MAX_EXACT_GROUP:
                pairs.update((a, b) for i, a in enumerate(ids) for b in ids[i + 1:])
            else:
                pairs.update(zip(ids, ids[1:], strict=False))
    for f in texts:
        # Within a block of one field, compare the other text fields: a pair must be similar
        # on every field, and the blocking field is alike already (same start or end), so
        # same-company records are only paired when their names are alike too.
        others = [g for g in texts if g is not f] or [f]
        rest: dict[int, str] = {}
        for rid in folded[f.api_name]:
            parts = [folded[g.api_name].get(rid) for g in others]
            if all(parts):
                rest[rid] = " ".join(p for p in parts if p)
        values = {rid: v for rid, v in folded[f.api_name].items() if rid in rest}
        for block in _blocks(values, tails=f.kind == "text"):
            pairs.update(_similar_in_block(block, rest, cutoff))
    return pairs


def _head(value: str, n: int) -> str:
    return value[:n]


def _tail(value: str, n: int) -> str:
    return value[-n:]


def _blocks(values: Mapping[int, str], *, tails: bool) -> Iterable[list[int]]:
    """Records sharing the first or the last four characters of the value (one typo rarely
    hits both ends, and another field's blocks catch it when it does). A block larger than
    MAX_BLOCK is walked as overlapping windows of its records sorted by the value (read from
    that end), so similar values, which sort close together, still meet; the work stays
    linear in the block instead of quadratic."""
    # Company names share endings ("... Group", "... Labs"): they are blocked by the head only.
    for key_of in (_head, _tail) if tails else (_head,):
        blocks: dict[str, list[int]] = {}
        for rid, value in values.items():
            blocks.setdefault(key_of(value, 4), []).append(rid)
        for ids in blocks.values():
            if len(ids) <= MAX_BLOCK:
                yield ids
                continue
            order = sorted(ids, key=lambda rid: values[rid] if key_of is _head
                           else values[rid][::-1])
            step = MAX_BLOCK // 2
            for start in range(0, len(order) - step, step):
                yield order[start:start + MAX_BLOCK]


def _similar_in_block(ids: list[int], values: Mapping[int, str],
                      cutoff: float) -> Iterable[tuple[int, int]]:
    """Pairs of the block whose values are similar: one vectorised `cdist` per block."""
    if len(ids) < 2:
        return
    choices = [values[rid] for rid in ids]
    scores = process.cdist(choices, choices, scorer=fuzz.ratio, dtype=numpy.uint8,
                           score_cutoff=int(cutoff * 100) - 5, workers=1)
    rows, cols = numpy.nonzero(numpy.triu(scores, k=1))
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        a, b = ids[i], ids[j]
        yield (a, b) if a < b else (b, a)


def score_pair(a: int, b: int, folded: Mapping[str, dict[int, str]],
               fields: Sequence[MatchField]) -> tuple[float, list[Reason]]:
    """A pair's score: 1 when an email or phone is the same; else the lowest similarity of the
    text fields both records have (at least two of them, when two or more are compared): a
    duplicate agrees on every name it has, a shared company alone is no evidence."""
    reasons: list[Reason] = []
    texts: list[float] = []
    exact = False
    for f in fields:
        va, vb = folded[f.api_name].get(a), folded[f.api_name].get(b)
        if va is None or vb is None:
            continue
        if f.kind in ("email", "phone"):
            if va == vb:
                exact = True
                reasons.append(Reason(f.api_name, "exact", 1.0))
            continue
        score = round(fuzz.token_sort_ratio(va, vb) / 100, 4)
        texts.append(score)
        reasons.append(Reason(f.api_name, "exact" if va == vb else "fuzzy", score))
    wanted = min(2, sum(1 for f in fields if f.kind in ("text", "company")))
    if exact:
        return 1.0, reasons
    if not texts or len(texts) < wanted:
        return 0.0, reasons
    return min(texts), reasons


def find_duplicates(records: Mapping[int, Mapping[str, Any]], fields: Sequence[MatchField],
                    threshold: float = DEFAULT_THRESHOLD,
                    region: str = "US") -> list[DuplicateSet]:
    """Sets of records whose pairs score at least `threshold`, best first."""
    folded: dict[str, dict[int, str]] = {}
    for f in fields:
        column: dict[int, str] = {}
        for rid, data in records.items():
            key = fold(f.kind, data.get(f.api_name), region)
            if key is not None:
                column[rid] = key
        folded[f.api_name] = column
    sets = _Sets()
    accepted: list[tuple[int, int, float, list[Reason]]] = []
    for a, b in sorted(_candidates(folded, fields, threshold)):
        score, reasons = score_pair(a, b, folded, fields)
        if score >= threshold:
            sets.union(a, b)
            accepted.append((a, b, score, reasons))
    return _gather(sets, accepted)


def _gather(sets: _Sets, accepted: list[tuple[int, int, float, list[Reason]]],
            ) -> list[DuplicateSet]:
    members: dict[int, set[int]] = {}
    scores: dict[int, float] = {}
    best: dict[int, dict[tuple[str, str], float]] = {}
    for a, b, score, reasons in accepted:
        root = sets.find(a)
        members.setdefault(root, set()).update((a, b))
        scores[root] = min(scores.get(root, 1.0), score)
        per = best.setdefault(root, {})
        for r in reasons:
            per[(r.field, r.kind)] = max(per.get((r.field, r.kind), 0.0), r.score)
    out = [DuplicateSet(tuple(sorted(ids)), scores[root],
                        tuple(Reason(f, k, s) for (f, k), s in sorted(best[root].items())))
           for root, ids in members.items()]
    out.sort(key=lambda d: (-d.score, d.records[0]))
    return out
