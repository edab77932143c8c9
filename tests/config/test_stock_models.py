"""`config check` on the stock-model keys of [skus.X] (docs/stock-models.md): each
contradiction is one line naming the key, exit 2; a sound table passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Run
from .test_check import GOOD, check, problems
from .test_refusals import one_problem, said


def with_sku(table: str, sku: str = "VASE") -> str:
    return GOOD + f'\n[skus."{sku}"]\n{table}\n'


@pytest.mark.parametrize(("table", "key", "words"), [
    ('stock = "unlimited"\nbackorder = 2', "skus.VASE.backorder", "never out of stock"),
    ('stock = "made_to_order"\nbackorder = 1\nadvertise = 5', "skus.VASE.backorder",
     "tracked SKUs only"),
    ('stock = "made_to_order"', "skus.VASE.advertise", "needs `advertise`"),
    ("advertise = 5", "skus.VASE.advertise", "only a SKU with stock"),
    ('stock = "unlimited"\ncapacity_per_week = 3', "skus.VASE.capacity_per_week",
     "has a capacity"),
    ('stock = "unlimited"\ncap = 3', "skus.VASE.cap", "never pushed"),
    ('stock = "unlimited"\nreserve = 1', "skus.VASE.reserve", "never pushed"),
])
def test_a_contradictory_stock_model_is_refused_naming_the_key(
        run: Run, write: Path, table: str, key: str, words: str) -> None:
    line = one_problem(run, write, with_sku(table))
    assert words in said(line, write, key)


@pytest.mark.parametrize(("table", "key"), [
    ('stock = "digital"', "skus.VASE.stock"),
    ("backorder = -1", "skus.VASE.backorder"),
    ('stock = "made_to_order"\nadvertise = 0', "skus.VASE.advertise"),
    ('stock = "made_to_order"\nadvertise = 5\ncapacity_per_week = 0',
     "skus.VASE.capacity_per_week"),
    ('stock = "made_to_order"\nadvertise = 5\nweekly = 3', "skus.VASE.weekly"),
])
def test_a_bad_value_is_refused_naming_the_key(run: Run, write: Path, table: str,
                                               key: str) -> None:
    said(one_problem(run, write, with_sku(table)), write, key)


@pytest.mark.parametrize("table", [
    'stock = "unlimited"',
    'stock = "made_to_order"\nadvertise = 5',
    'stock = "made_to_order"\nadvertise = 5\ncapacity_per_week = 3\ncap = 4',
    "backorder = 10\nreserve = 1",
])
def test_a_sound_stock_model_passes(run: Run, write: Path, table: str) -> None:
    code, _, err = check(run, write, with_sku(table))
    assert code == 0 and not problems(err), err
