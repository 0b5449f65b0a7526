"""A pair of records is linked once (many-to-many related lists), enforced in the write path,
race-free: whatever door writes the linking module, and however many requests race."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from corral.errors import DuplicateData
from corral.metadata.model import Module
from corral.records.query import Filters
from corral.records.related import Linked, Relation
from corral.services import Corral
from tests.records.test_pipeline import ctx

RACERS = 4


def _ids(corral: Corral, module: str, *records: dict[str, str]) -> list[str]:
    outcomes = corral.records.insert(corral.registry.require(module), list(records), ctx(corral))
    assert all(o.error is None and o.record for o in outcomes), outcomes
    return [str(o.record.id) for o in outcomes if o.record]


def _live_links(corral: Corral, links: Module) -> int:
    recs, _ = corral.query.fetch(links, corral.query.base_where(
        links, Filters(converted="both", approved="both")), offset=0, limit=100)
    return len(recs)


def test_a_second_link_of_one_pair_is_duplicate_data(corral: Corral) -> None:
    (camp,) = _ids(corral, "Campaigns", {"Campaign_Name": "Fair"})
    lead, other = _ids(corral, "Leads", {"Last_Name": "Daly"}, {"Last_Name": "Kim"})
    links = corral.registry.require("Campaigns_X_Leads")
    first, again, fine = corral.records.insert(links, [
        {"Campaign": camp, "Lead": lead}, {"Campaign": camp, "Lead": lead},
        {"Campaign": camp, "Lead": other}], ctx(corral))
    assert first.error is None and fine.error is None
    assert isinstance(again.error, DuplicateData)
    (later,) = corral.records.insert(links, [{"Campaign": camp, "Lead": lead}], ctx(corral))
    assert isinstance(later.error, DuplicateData)
    # moving a link onto a pair that is taken is refused too; unlinking frees the pair
    assert fine.record is not None and first.record is not None
    (moved,) = corral.records.update(links, [{"id": str(fine.record.id), "Lead": lead}],
                                     ctx(corral))
    assert isinstance(moved.error, DuplicateData)
    corral.records.delete(links, [str(first.record.id)], ctx(corral))
    (relinked,) = corral.records.insert(links, [{"Campaign": camp, "Lead": lead}], ctx(corral))
    assert relinked.error is None


def test_racing_links_of_one_pair_make_one_link(corral: Corral) -> None:
    products = _ids(corral, "Products", *({"Product_Name": f"P{i}"} for i in range(3)))
    tier = {"From_Range": 1, "To_Range": 10, "Discount": 0}
    (pb,) = _ids(corral, "Price_Books", {"Price_Book_Name": "Retail", "Pricing_Details": [tier]})
    parent = corral.registry.require("Price_Books")
    links = corral.registry.require("Price_Books_X_Products")
    for n, product in enumerate(products):
        rel = corral.related.relation(parent, int(pb), "Products")
        barrier = threading.Barrier(RACERS)
        with ThreadPoolExecutor(RACERS) as pool:
            answers = [f.result() for f in [
                pool.submit(_link, corral, rel, int(product), price, barrier)
                for price in range(RACERS)]]
        assert all(a[0].error is None for a in answers), answers
        assert _live_links(corral, links) == n + 1


def _link(corral: Corral, rel: Relation, product: int, price: int,
          barrier: threading.Barrier) -> list[Linked]:
    barrier.wait()
    return corral.related.link(rel, [(product, {"list_price": price})], ctx(corral))
