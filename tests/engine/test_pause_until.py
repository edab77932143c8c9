"""A pause with `--until` ends on its own (issue 18.2), through the engine on a virtual
clock at the sandboxes' HTTP boundary: every listing off sale from the first poll after
the pause, orders still booked, and back on sale at the first poll after `until`, with
no command run; polls in between write nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from oneshop.ledger import models as m
from oneshop.ledger import pausing
from oneshop.pause import record_pause

from .test_alert_episodes import Rig, make_rig


@pytest.fixture
def rig(tmp_path: Path, database_url: str) -> Iterator[Rig]:
    made = make_rig(tmp_path, database_url)
    yield made
    made.app.close()
    made.shop.close()


def _shows(rig: Rig, ids: dict[str, dict[str, str]]) -> dict[tuple[str, str], int | None]:
    return {(sku, k): rig.shop.sandboxes[k].quantity(i)
            for sku, by in ids.items() for k, i in by.items()}


def test_a_pause_until_a_time_resumes_by_itself(rig: Rig) -> None:
    kinds = rig.shop.kinds
    ids: dict[str, dict[str, str]] = {}
    for sku, qty in {"MUG": 9, "PRINT": 5}.items():
        ids[sku] = rig.shop.seed(sku, qty)
    for kind in kinds:  # history before the takeover: a sale and a cancelled one
        box: Any = rig.shop.sandboxes[kind]
        box.sell(ids["MUG"][kind], 1)
        box.cancel(box.sell(ids["PRINT"][kind], 1), restock=True)
    for kind in kinds:
        assert rig.runner.reconcile(kind, link=True)
    for kind in kinds:
        assert rig.poll(kind)
    in_step = _shows(rig, ids)
    assert len(set(in_step.values())) > 1

    now = rig.clock.now()
    # Shorter than marks.FULL_PLAN_S: the end is not left to the hourly whole-account plan.
    until = now + timedelta(minutes=30)
    (outcome,) = record_pause(rig.app.config, ["shopify"], now=now, until=until,
                              reason="stocktake", command="oneshop pause shopify")
    assert outcome.changed and outcome.to_move == len(ids)
    rig.shop.sandboxes["etsy"].sell(ids["MUG"]["etsy"], 2)
    for kind in kinds:
        assert rig.poll(kind, every_s=120)
    assert rig.on_hand("MUG") == in_step[("MUG", "etsy")] - 2, "orders booked while paused"
    shows = _shows(rig, ids)
    assert {v for (sku, k), v in shows.items() if k == "shopify"} == {0}
    assert shows[("MUG", "etsy")] == shows[("MUG", "gumroad")] == rig.on_hand("MUG")
    pushes = rig.count(m.Push, m.Push.account == "shopify")
    for _ in range(5):  # idle polls while paused write nothing more
        assert rig.poll("shopify", every_s=120)
    assert rig.count(m.Push, m.Push.account == "shopify") == pushes

    rig.clock.advance(minutes=20)  # past `until`
    assert rig.poll("shopify")
    assert _shows(rig, ids)[("MUG", "shopify")] == rig.on_hand("MUG")
    assert _shows(rig, ids)[("PRINT", "shopify")] == rig.on_hand("PRINT")
    with rig.app.sessions() as s:
        assert not pausing.pause_of(s, "shopify").any()
