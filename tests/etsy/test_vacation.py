"""Etsy's vacation mode (getShop `is_vacation`, issue 18.2), through the engine at the
HTTP boundary, on a shop with sales, a cancellation and a hand edit behind it: read true,
it suspends Etsy pushes and hand-edit folding and raises one `channel_vacation` alert,
however many polls pass; read false again, Etsy is brought in step at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from oneshop.ledger import models as m
from oneshop.ledger.pausing import VACATION, pause_of

from .test_engine_policies import Shop


@pytest.fixture
def shop(tmp_path: Path, database_url: str) -> Iterator[Shop]:
    made = Shop(tmp_path, database_url)
    yield made
    made.app.close()
    made.shop.close()


def _shop_requests(shop: Shop) -> int:
    sid = shop.etsy.state.shop_id
    return sum(1 for r in shop.sent if r.method == "GET"
               and r.url.path == f"/v3/application/shops/{sid}")


def _lines(logs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in logs if e.get("event") == "channel_vacation" and e.get("alert")]


def _alerts(shop: Shop) -> list[Any]:
    return shop.rows(m.Alert, event="channel_vacation")


def test_vacation_suspends_etsy_pushes_and_folding_with_one_alert(shop: Shop) -> None:
    ids = {sku: shop.shop.seed(sku, qty) for sku, qty in {"MUG": 10, "PRINT": 6}.items()}
    for kind, box in (("etsy", shop.etsy), ("shopify", shop.shopify)):
        order = box.sell(ids["MUG"][kind], 1)  # history before the takeover
        box.cancel(order, restock=True)
        box.sell(ids["PRINT"][kind], 1)
    shop.discover()
    shop.etsy.hand_edit(ids["PRINT"]["etsy"], 4)  # a hand edit after the takeover
    for _ in range(2):
        assert shop.runner.reconcile("etsy")
    assert shop.runner.poll("shopify") and shop.runner.poll("etsy")
    for _ in range(3):  # an open shop: getShop only at reconciles, never at polls
        assert shop.runner.poll("etsy")
    assert _shop_requests(shop) == 2
    edits = len(shop.rows(m.Movement, kind="channel_edit"))
    mug = shop.on_hand("MUG")

    shop.etsy.set_vacation(True)
    with capture_logs() as logs:
        assert shop.runner.reconcile("etsy")
        writes = len(shop.etsy_writes())
        shop.etsy.hand_edit(ids["PRINT"]["etsy"], 9)  # while away: not folded in
        for n in range(4):
            shop.shopify.sell(ids["MUG"]["shopify"], 1)
            assert shop.runner.poll("shopify") and shop.runner.poll("etsy")
            assert shop.runner.reconcile("etsy")
            shop.clock.advance(60 * (n + 1))
    assert [e["episode"] for e in _lines(logs)] == ["started"]
    assert shop.on_hand("MUG") == mug - 4, "orders are still booked"
    assert len(shop.etsy_writes()) == writes, "pushed to Etsy on vacation"
    assert len(shop.rows(m.Movement, kind="channel_edit")) == edits, "folded on vacation"
    assert len(_alerts(shop)) == 1 and _alerts(shop)[0].resolved_at is None
    with shop.app.sessions() as s:
        assert pause_of(s, "etsy").why() == VACATION
        assert pause_of(s, "shopify").why() == ""
    assert shop.etsy.quantity(ids["MUG"]["etsy"]) == mug, "Etsy keeps what it showed"

    shop.etsy.set_vacation(False)
    with capture_logs() as logs:
        assert shop.runner.poll("etsy")  # read again at the poll: back, in step at once
    assert [e["episode"] for e in _lines(logs)] == ["resolved"]
    assert shop.etsy.quantity(ids["MUG"]["etsy"]) == mug - 4
    (alert,) = _alerts(shop)
    assert alert.resolved_at is not None
    with shop.app.sessions() as s:
        assert s.scalar(select(m.AccountState.vacation_at)
                        .where(m.AccountState.account == "etsy")) is None
    before = _shop_requests(shop)
    for _ in range(3):
        assert shop.runner.poll("etsy")
    assert _shop_requests(shop) == before, "getShop again at polls once back"


@pytest.mark.parametrize("shown", [True, False])
def test_get_shop_is_read_as_the_spec_says(rig: Any, shown: bool) -> None:
    """getShop through the OpenAPI-validating transport (the `rig` of conftest.py): the
    request and the sandbox's answer match Etsy's document, and the field is read."""
    conn = rig.connector()
    rig.sandbox.set_vacation(shown)
    why = conn.channel_paused()
    assert (why is not None) == shown
    assert why is None or "is_vacation" in why
    assert rig.transport.checked >= 1
