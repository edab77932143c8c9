"""The budget-planned schedule's keys (docs/connectors/etsy.md): `config check` refuses a
value out of range in one line naming the key, and accepts the documented ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import Run
from .test_check import check, problems
from .test_refusals import ETSY

BASE = ETSY.format(name="etsy", enabled="true", shop_id=42)


def with_keys(account: str = "", settings: str = "") -> str:
    text = BASE.replace('kind = "etsy"\n', f'kind = "etsy"\n{account}\n', 1)
    return text.replace("[accounts.etsy.settings]\n", f"[accounts.etsy.settings]\n{settings}\n")


@pytest.mark.parametrize(("account", "settings", "key"), [
    ("min_poll_seconds = 0", "", "accounts.etsy.min_poll_seconds"),
    ("min_poll_seconds = 100000", "", "accounts.etsy.min_poll_seconds"),
    ("", "budget_reserve_share = 1.0", "accounts.etsy.settings.budget_reserve_share"),
    ("", "budget_reserve_share = -0.1", "accounts.etsy.settings.budget_reserve_share"),
    ("", 'budget_reserve_share = "lots"', "accounts.etsy.settings.budget_reserve_share"),
])
def test_out_of_range_names_the_key(run: Run, write: Path, account: str, settings: str,
                                    key: str) -> None:
    code, _, err = check(run, write, with_keys(account, settings))
    assert code == 2, err
    (line,) = problems(err)
    assert line.startswith(f"{write}: {key}: "), line


def test_the_documented_values_are_accepted(run: Run, write: Path) -> None:
    text = with_keys("poll_seconds = 60\nmin_poll_seconds = 10",
                     "budget_reserve_share = 0.25\nbudget_low_share = 0.2")
    code, _, err = check(run, write, text)
    assert (code, err) == (0, ""), err
