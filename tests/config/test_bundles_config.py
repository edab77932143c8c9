"""`config check` and `run` refuse a bundle the ledger could not book, naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Run
from .test_check import GOOD, check, problems


@pytest.mark.parametrize(("skus", "key", "why"), [
    ('[skus."GIFT"]\nbundle = { "GIFT" = 1, "MUG" = 1 }', 'skus.GIFT.bundle.GIFT',
     "cannot contain itself"),
    ('[skus."KIT"]\nbundle = { "MUG" = 1 }\n[skus."GIFT"]\nbundle = { "KIT" = 1, "MUG" = 2 }',
     "skus.GIFT.bundle.KIT", "'KIT' is a bundle itself; bundles do not nest"),
    ('[skus."GIFT"]\nbundle = { "MUG" = 0 }', "skus.GIFT.bundle.MUG",
     "greater than or equal to 1"),
    ('[skus."GIFT"]\nbundle = { "MUG" = -2 }', "skus.GIFT.bundle.MUG",
     "greater than or equal to 1"),
    ('[skus."GIFT"]\nbundle = { "MUG" = 1.5 }', "skus.GIFT.bundle.MUG", "integer"),
    ('[skus."GIFT"]\nbundle = {}', "skus.GIFT.bundle", "at least 1"),
])
def test_a_bundle_that_cannot_be_booked_is_refused_naming_the_key(
        run: Run, write: Path, skus: str, key: str, why: str) -> None:
    code, out, err = check(run, write, GOOD + skus + "\n")
    assert (code, out) == (2, ""), err
    (line,) = problems(err)
    assert line.startswith(f"{write}: {key}: "), line
    assert why in line, line


def test_a_component_that_is_not_tracked_stock_is_refused() -> None:
    """A component must be a counted SKU; a `stock` other than "tracked" (unlimited,
    made to order) is not one. Checked only where the config can say so."""
    from oneshop import configrules
    from oneshop.configfile import SkuOverride

    class Unlimited(SkuOverride):
        stock: str = "unlimited"

    found = list(configrules.bundle_problems({
        "GIFT": SkuOverride.model_validate({"bundle": {"EBOOK": 1, "MUG": 1}}),
        "EBOOK": Unlimited()}))
    assert found == [("skus.GIFT.bundle.EBOOK", "'EBOOK' is not a tracked SKU (stock = "
                      "'unlimited'); a bundle is made of counted stock only")]


def test_a_valid_bundle_passes_with_its_own_reserve_and_cap(run: Run, write: Path) -> None:
    code, _out, err = check(run, write, GOOD + '[skus."GIFT"]\nreserve = 1\ncap = 5\n'
                           'bundle = { "MUG" = 1, "CARD" = 2 }\n')
    assert (code, err) == (0, ""), err
