"""Hostile payloads shaped like Gumroad's: mapping returns a value or a Rejected, only."""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oneshop_connectors.gumroad import mapping as m
from oneshop_connectors.gumroad.units import count_all, counted_sale

from oneshop.values import Listing, Order, Rejected

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True), st.text(max_size=30),
    st.sampled_from(["2026-01-05T19:38:56Z", "2026-01-05T19:38:56", "", "Z", "nan"]),
)
junk: st.SearchStrategy[Any] = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                     st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
skus = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, junk)


sale_like = st.fixed_dictionaries({}, optional={
    "id": maybe(st.text(min_size=1, max_size=30)),
    "created_at": maybe(st.datetimes(timezones=st.just(UTC)).map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))),
    "product_id": maybe(st.text(min_size=1, max_size=30)),
    "quantity": maybe(st.integers(min_value=-5, max_value=2**40)),
    "price": maybe(st.integers(min_value=-5, max_value=2**50)),
    "variants": maybe(st.dictionaries(skus, skus, max_size=3)),
    "refunded": maybe(st.booleans()), "partially_refunded": maybe(st.booleans()),
    "chargedback": maybe(st.booleans()), "cancelled": maybe(st.booleans()),
    "email": st.just("someone@example.com"), "full_name": st.just("Private Person"),
})
product_like = st.fixed_dictionaries({}, optional={
    "id": maybe(st.text(min_size=1, max_size=30)),
    "name": maybe(st.text(max_size=30)),
    "custom_permalink": maybe(skus),
    "max_purchase_count": maybe(st.integers(min_value=-5, max_value=2**40)),
    "sales_count": maybe(st.integers(min_value=-5, max_value=2**40)),
    "published": maybe(st.booleans()),
    "variants": maybe(st.lists(st.fixed_dictionaries(
        {"title": maybe(skus), "options": maybe(st.lists(st.fixed_dictionaries(
            {"name": maybe(skus)}), max_size=2))}), max_size=2)),
})
PRODUCT = m.ProductInfo(id="P1", sku="SKU\u0000\u202e", title="t", max_purchase_count=3,
                        published=True, variant_titles=("Size",),
                        variants=(m.VariantRef(category_id="c", variant_id="v",
                                               category_title="Size", name="L"),))
FUZZ = settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)


@FUZZ
@given(st.one_of(sale_like, junk), st.booleans(), st.sampled_from([None, PRODUCT]))
def test_map_sale_returns_an_order_or_a_rejected(raw: Any, restock: bool,
                                                 product: m.ProductInfo | None) -> None:
    result = m.map_sale(raw, product, restock_refunds=restock)
    assert isinstance(result, Order | Rejected)
    if isinstance(result, Order):
        assert result.created_at.tzinfo is not None
        assert isinstance(result.total, Decimal) and result.total >= 0
        assert all(line.quantity >= 1 for line in result.lines)
        assert all(r.quantity == result.lines[0].quantity for r in result.restocks)
    else:
        json.loads(result.raw)
        assert "example.com" not in result.raw and "Private Person" not in result.raw


@FUZZ
@given(st.one_of(product_like, junk), st.integers(min_value=0, max_value=2**40))
def test_map_product_returns_info_or_rejected_and_lists_cleanly(raw: Any, sold: int) -> None:
    result = m.map_product(raw)
    assert isinstance(result, m.ProductInfo | Rejected)
    if isinstance(result, m.ProductInfo):
        listing = m.product_listing(result, sold)
        assert isinstance(listing, Listing)
        assert listing.quantity is None or listing.quantity >= 0
        assert all(isinstance(v, str) for v in listing.extra.values())


@FUZZ
@given(junk, junk, junk, st.integers(min_value=0, max_value=2**40))
def test_variant_mapping_never_raises(category: Any, variants: Any, raw: Any, sold: int) -> None:
    refs = m.variant_refs(category, variants)
    assert isinstance(refs, tuple | Rejected)
    ref = m.VariantRef(category_id="c", variant_id="v", category_title="Size", name="L")
    result = m.variant_listing(PRODUCT, ref, raw, sold)
    assert isinstance(result, Listing | Rejected)
    counted = [c for c in map(counted_sale, variants if isinstance(variants, list)
                              else [variants]) if c is not None]
    assert count_all(counted).option_units("P1", "Size", "L") >= 0


@FUZZ
@given(st.one_of(sale_like, junk, st.lists(st.one_of(sale_like, junk), max_size=3)))
def test_counting_a_sale_never_raises_and_counts_its_quantity(raw: Any) -> None:
    for one in raw if isinstance(raw, list) else [raw]:
        sale = counted_sale(one)
        if sale is not None:
            assert sale.quantity == one["quantity"] >= 1
            assert count_all([sale]).units(sale.product_id) == sale.quantity
