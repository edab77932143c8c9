"""The simulation watches the engine through `SyncObserver`: every page of orders is
announced before it is booked and after it is committed, per account."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from oneshop.ledger import models as m
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import SandboxShop
from sim.world import PageTracer


def test_each_booked_page_is_announced_around_its_commit(tmp_path: Path) -> None:
    clock = VirtualClock()
    shop = SandboxShop(state_dir=tmp_path / "state", kinds=("shopify", "gumroad"),
                       clock=clock.now)
    shop.prepare_ledger()
    app = shop.build_app(clock=clock.now, sleep=clock.sleep)
    calls: list[tuple[str, str, int]] = []

    def sales() -> int:
        with app.sessions() as s:
            return int(s.scalar(select(func.count()).select_from(m.Movement)
                                .where(m.Movement.kind == "sale")) or 0)

    class Recorder:
        def page_started(self, account: str) -> None:
            calls.append(("started", account, sales()))

        def page_booked(self, account: str) -> None:
            calls.append(("booked", account, sales()))

    try:
        ids = shop.seed("MUG", 5)
        runner = Runner(app)
        for kind in shop.kinds:
            assert runner.reconcile(kind, link=True)
        app.engine.observer = Recorder()
        shop.sandboxes["shopify"].sell(ids["shopify"], 2)
        assert runner.poll("shopify")
        assert calls and all(account == "shopify" for _, account, _ in calls)
        assert [what for what, _, _ in calls] == ["started", "booked"] * (len(calls) // 2)
        assert (calls[0][2], calls[-1][2]) == (0, 1)  # the sale is committed by "booked"
        pages: list[tuple[int, int]] = []
        app.engine.observer = PageTracer(app.sessions, pages)
        shop.sandboxes["gumroad"].sell(ids["gumroad"], 1)
        assert runner.poll("gumroad")
        assert pages and pages[-1][1] > pages[0][0]
    finally:
        app.close()
        shop.close()
