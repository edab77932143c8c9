"""Fuzzing the pure mapping: any JSON shaped like Etsy's gives a value or a Rejected."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from oneshop_connectors.etsy.inventory import reshape
from oneshop_connectors.etsy.mapping import map_listing, map_receipt

from oneshop.errors import InvalidRecord
from oneshop.values import Listing, Order, Rejected

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True), st.text(alphabet=st.characters(codec="utf-8"), max_size=12))
anything = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=8)
counts = st.one_of(st.integers(min_value=-5, max_value=2**64), anything)
skus = st.one_of(st.none(), st.just(""), st.text(max_size=10), anything)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(value, anything)


money = st.fixed_dictionaries({"amount": counts, "divisor": counts,
                               "currency_code": maybe(st.just("USD"))})
offering = st.fixed_dictionaries({"quantity": counts, "is_enabled": maybe(st.booleans()),
                                  "price": maybe(money), "readiness_state_id": counts},
                                 optional={"is_deleted": anything})
property_value = st.fixed_dictionaries({"property_id": counts,
                                        "value_ids": maybe(st.lists(counts, max_size=3)),
                                        "values": maybe(st.lists(st.text(max_size=5)))})
product = st.fixed_dictionaries({"sku": skus, "offerings": maybe(st.lists(offering, max_size=2)),
                                 "property_values": maybe(st.lists(property_value,
                                                                   max_size=2))},
                                optional={"is_deleted": anything})
inventory = st.fixed_dictionaries({"products": maybe(st.lists(product, max_size=3))})
listing = st.fixed_dictionaries(
    {"listing_id": counts, "state": maybe(st.sampled_from(["active", "sold_out", "inactive"])),
     "title": maybe(st.text(max_size=8)), "inventory": maybe(inventory)})
transaction = st.fixed_dictionaries(
    {"transaction_id": counts, "quantity": counts, "price": maybe(money), "sku": skus,
     "listing_id": counts, "product_data": maybe(st.lists(property_value, max_size=2))})
receipt = st.fixed_dictionaries(
    {"receipt_id": counts, "status": maybe(st.sampled_from(["paid", "canceled", "completed"])),
     "grandtotal": maybe(money), "created_timestamp": counts, "updated_timestamp": counts,
     "transactions": maybe(st.lists(transaction, max_size=3)),
     "name": st.just("Jane Buyer"), "buyer_email": st.just("jane@example.com")})


@settings(max_examples=300, deadline=None)
@given(maybe(listing))
def test_listings_map_to_values_or_rejected(raw: Any) -> None:
    found, rejected = map_listing(raw)
    assert all(isinstance(li, Listing) and li.quantity is not None and li.quantity >= 0
               for li in found)
    assert all(isinstance(r, Rejected) and isinstance(r.raw, str) for r in rejected)


@settings(max_examples=300, deadline=None)
@given(maybe(receipt))
def test_receipts_map_to_orders_or_rejected_without_personal_data(raw: Any) -> None:
    mapped = map_receipt(raw)
    assert isinstance(mapped, Order | Rejected)
    if isinstance(mapped, Rejected):
        assert "jane@example.com" not in mapped.raw and "Jane Buyer" not in mapped.raw
    else:
        assert mapped.lines and all(line.quantity > 0 for line in mapped.lines)
        assert mapped.created_at.tzinfo is not None


@settings(max_examples=200, deadline=None)
@given(inventory, st.dictionaries(st.text(max_size=8), st.integers(-5, 5000), max_size=3))
def test_reshape_gives_a_body_or_invalid_record(raw: Any, desired: dict[str, int]) -> None:
    try:
        shaped = reshape(7, raw, desired)
    except InvalidRecord:
        return
    for product_body in shaped.body["products"]:
        (offer,) = product_body["offerings"]
        assert set(offer) == {"price", "quantity", "is_enabled", "readiness_state_id"}
