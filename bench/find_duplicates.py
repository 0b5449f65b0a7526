"""find_duplicates over 100,000 Leads, 5% of them planted near-duplicates: time, precision and
recall, and a plain sqlite3 baseline in the same run.

    python bench/find_duplicates.py                 # 100,000 Leads, SQLite temp file
    python bench/find_duplicates.py --leads 20000   # smaller
    python bench/find_duplicates.py --pg            # throwaway PostgreSQL cluster (no baseline
                                                    # ratio: the baseline is sqlite3)

Data (seeded, deterministic): 95% distinct people (random syllable last names, first names,
one of 2,000 companies, a unique email — half at gmail.com — and a unique US phone); 5% copies
of one of them, each with some of: a one-letter typo in the last name, a legal suffix on the
company ("Inc", "Ltd"), the email varied as its provider still delivers it (dots and a
+tag at gmail.com, upper case elsewhere) or replaced by an unrelated one, the phone written
another way ("(415) 555-0132") or dropped. Ground truth: each copy and its original.

1. Corral: `DuplicateFinder.find(Leads, [Email, Phone, Last_Name, Company], 0.85)` in process
   (reads every live lead, folds, blocks, scores): wall time; duplicate sets turned into pairs;
   precision = true pairs found / pairs found, recall = true pairs found / planted pairs. Then
   the same with First_Name added (the ratio uses the first run).
2. Baseline, same process, same SQLite file, plain `sqlite3`: `SELECT lower(json_extract(data,
   '$.Email')), group_concat(id) FROM records WHERE module_id=? AND deleted_time IS NULL GROUP
   BY 1 HAVING count(*) > 1` — what one would write by hand; its time, precision and recall.

Prints the figures and the time ratio; asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common as c

from corral.config import Settings
from corral.services import Corral

SYLLABLES = ["ka", "lo", "mi", "ra", "ten", "vos", "bri", "dal", "gor", "hen", "jas", "kel",
             "mor", "nad", "pel", "quin", "ros", "sal", "tor", "val", "wen", "yar", "zel",
             "ber", "cor", "dun", "fal", "gil", "har", "ler"]
FIRST = ["Ann", "Ben", "Cara", "Dan", "Eve", "Finn", "Gina", "Hugo", "Ida", "Jon", "Kim",
         "Leo", "Mia", "Ned", "Ola", "Pia", "Raj", "Sue", "Tom", "Uma", "Vic", "Wes", "Xia",
         "Yan", "Zoe"]
DOMAINS = ["gmail.com", "zylker.com", "acme.io", "example.org"]
AREAS = [212, 303, 312, 415, 503, 512, 617, 646, 702, 713, 808, 919]


def person(rng: random.Random, i: int, companies: list[str]) -> dict[str, Any]:
    last = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
    first = rng.choice(FIRST)
    domain = "gmail.com" if i % 2 == 0 else rng.choice(DOMAINS[1:])
    return {"First_Name": first, "Last_Name": last, "Company": rng.choice(companies),
            "Email": f"{first.lower()}.{last.lower()}{i}@{domain}",
            "Phone": f"+1 {rng.choice(AREAS)} {200 + i // 10000:03d} {i % 10000:04d}",
            "Lead_Status": "Not Contacted"}


def typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word))
    kind = rng.randrange(3)
    if kind == 0:
        return word[:i] + word[i + 1:]
    if kind == 1:
        return word[:i] + rng.choice("aeiourstn") + word[i:]
    return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]


def near_copy(rng: random.Random, orig: dict[str, Any], j: int) -> dict[str, Any]:
    dup = dict(orig)
    if rng.random() < 0.7:
        dup["Last_Name"] = typo(rng, orig["Last_Name"])
    if rng.random() < 0.4:
        dup["Company"] = orig["Company"] + rng.choice([" Inc", " Ltd", ", LLC"])
    local, _at, domain = orig["Email"].partition("@")
    roll = rng.random()
    if roll < 0.4 and domain == "gmail.com":
        dup["Email"] = f"{local.replace('.', '')}+crm{j}@googlemail.com"
    elif roll < 0.4:
        dup["Email"] = f"{local}.dup{j}@{domain}"  # a second mailbox: not the same key
    else:
        dup["Email"] = f"other{j}@mailinator.com"
    roll = rng.random()
    if roll < 0.4:
        digits = "".join(ch for ch in orig["Phone"] if ch.isdigit())[1:]
        dup["Phone"] = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
    elif roll < 0.6:
        dup["Phone"] = f"+1 999 {j // 10000:03d} {j % 10000:04d}"
    return dup


def make_data(n: int, seed: int) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    rng = random.Random(seed)
    companies = ["".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize() + " "
                 + rng.choice(["Labs", "Works", "Group", "Systems", "Partners"])
                 for _ in range(2000)]
    planted = n // 20
    people = [person(rng, i, companies) for i in range(n - planted)]
    truth: list[tuple[int, int]] = []
    for j in range(planted):
        orig = rng.randrange(len(people))
        truth.append((orig, len(people)))
        people.append(near_copy(rng, people[orig], j))
    return people, truth


def pairs_of(sets: list[tuple[int, ...]]) -> set[tuple[int, int]]:
    return {(a, b) for s in sets for i, a in enumerate(s) for b in s[i + 1:]}


def quality(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> tuple[float, float]:
    hits = len(found & truth)
    return (hits / len(found) if found else 1.0), hits / len(truth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--leads", type=int, default=100_000)
    ap.add_argument("--threshold", type=float, default=0.85)
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--pg", action="store_true")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    people, truth_idx = make_data(args.leads, args.seed)
    print(c.machine_line())
    with c.bench_database(args) as bench:
        corral = Corral.open(Settings(database_url=bench.url, run_worker=False))
        corral.seed()
        engine = c.make_engine(bench.url, 2)
        meta = c.read_meta(engine)
        secs, ids = c.preload_rows(engine, meta, len(people), lambda i: people[i])
        print(f"{bench.label}: preloaded {len(people):,} Leads "
              f"({len(truth_idx):,} planted near-duplicates) in {secs:.1f} s")
        truth = {tuple(sorted((ids[a], ids[b]))) for a, b in truth_idx}
        module = corral.registry.require("Leads")
        runs = []
        for names in (("Email", "Phone", "Last_Name", "Company"),
                      ("Email", "Phone", "Last_Name", "First_Name", "Company")):
            fields = [module.by_name[n] for n in names]
            t0 = time.perf_counter()
            sets = corral.duplicates.find(module, fields, args.threshold)
            runs.append(time.perf_counter() - t0)
            p, r = quality(pairs_of([s.records for s in sets]), truth)  # type: ignore[arg-type]
            print(f"corral find_duplicates fields={','.join(names)} threshold {args.threshold}: "
                  f"{runs[-1]:.2f} s, {len(sets):,} sets, precision {p:.3f}, recall {r:.3f}")
        corral_secs = runs[0]
        if bench.url.startswith("sqlite"):
            path = bench.url.split("sqlite:///", 1)[1]
            conn = sqlite3.connect(path)
            t0 = time.perf_counter()
            rows = conn.execute(
                "SELECT lower(json_extract(data, '$.Email')), group_concat(id) FROM records "
                "WHERE module_id = ? AND deleted_time IS NULL GROUP BY 1 HAVING count(*) > 1",
                (meta.module_id,)).fetchall()
            base_secs = time.perf_counter() - t0
            conn.close()
            base_sets = [tuple(sorted(int(x) for x in row[1].split(","))) for row in rows]
            bp, br = quality(pairs_of(base_sets), truth)
            print(f"plain sqlite3 GROUP BY lower(Email): {base_secs:.3f} s, "
                  f"{len(base_sets):,} sets, precision {bp:.3f}, recall {br:.3f}")
            print(f"ratio corral / sqlite3 baseline time: {corral_secs / base_secs:.1f}x "
                  f"(recall {r:.3f} vs {br:.3f})")
        corral.close()
        engine.dispose()


if __name__ == "__main__":
    main()
