"""A fixed set of simulation seeds (the ones that found bugs among them) and one seed
against the real `oneshop run` process, SIGKILLed and restarted. `make sim` runs many more."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim import run_seed
from sim.model import Sale
from sim.real import run_real
from sim.scenario import Sim

# 6, 7, 14, 60, 680 each found a bug (tests/sim/test_regressions.py); 52, 83, 87, 138 a
# mistake of the checker's own; 257 a Gumroad push handing back an unpulled sale
# (tests/gumroad/test_stock.py); 79 a lost answer to a zero push leaving Etsy off sale;
# 123277 a failed push that only seemed to land, which must stay able to explain the
# quantity it wrote (drift.unconfirmed_push). Odd seeds run Etsy with restock_on_cancel.
SEEDS = [1, 2, 3, 6, 7, 14, 52, 60, 79, 83, 87, 138, 257, 680, 123277]


@pytest.mark.parametrize("seed", SEEDS)
def test_a_seed_keeps_every_invariant(seed: int) -> None:
    result = run_seed(seed)
    assert result.ok, result.report()


def test_a_seed_replays_the_same_way() -> None:
    first, again = run_seed(14), run_seed(14)
    assert first.trace == again.trace
    assert (first.sales, first.crashes) == (again.sales, again.crashes)


def test_the_checker_reports_a_sale_the_ledger_never_booked(tmp_path: Path) -> None:
    class Lossy(Sim):
        def quiesce(self) -> None:
            super().quiesce()
            sku = sorted(self.truth.listings)[0]
            self.truth.sales.append(Sale(kind="gumroad", order_id="never-pulled", sku=sku,
                                         quantity=1, step=0))

    sim = Lossy(5, tmp_path)
    try:
        result = sim.run()
    finally:
        sim.world.close()
    assert any("never-pulled" in v and "booked as 0" in v for v in result.violations)


def test_a_real_process_seed_keeps_every_invariant() -> None:
    result = run_real(1)
    assert result.crashes >= 1
    assert result.ok, result.report()
