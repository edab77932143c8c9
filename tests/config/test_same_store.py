"""Two accounts on one store would each book every sale: config load (and so `run` and
`config check`) refuses them, naming both; the connectors say what identifies a store."""

from __future__ import annotations

from pathlib import Path

import pytest

from oneshop import config as c
from oneshop.errors import ConfigError
from oneshop.plugins import available_connectors
from oneshop.protocols import StoreIdentity

from .conftest import Run
from .test_check import check, problems

ENV = {"T_ONE": "token-one-SECRET", "T_TWO": "token-two-SECRET"}


def etsy(name: str, shop_id: int, *, extra: str = "", enabled: bool = True) -> str:
    return (f'[accounts.{name}]\nkind = "etsy"\nenabled = {str(enabled).lower()}\n'
            f'[accounts.{name}.settings]\nshop_id = {shop_id}\nkeystring = "ks"\n{extra}\n'
            f'[accounts.{name}.secrets]\nshared_secret = {{ env = "T_ONE" }}\n')


def shopify(name: str, shop: str, *, var: str = "T_ONE", extra: str = "") -> str:
    return (f'[accounts.{name}]\nkind = "shopify"\n[accounts.{name}.settings]\n'
            f'shop = "{shop}"\n{extra}\n'
            f'[accounts.{name}.secrets]\naccess_token = {{ env = "{var}" }}\n')


def gumroad(name: str, var: str, *, extra: str = "") -> str:
    return (f'[accounts.{name}]\nkind = "gumroad"\n[accounts.{name}.settings]\n{extra}\n'
            f'[accounts.{name}.secrets]\naccess_token = {{ env = "{var}" }}\n')


def load(tmp_path: Path, text: str) -> c.Config:
    path = tmp_path / "oneshop.toml"
    path.write_text(text)
    return c.load(path, env={**ENV, "STATE_DIRECTORY": str(tmp_path)})


@pytest.mark.parametrize(("text", "store"), [
    (shopify("shop_a", "my-shop.myshopify.com") + shopify("shop_b", "My-Shop", var="T_TWO"),
     "Shopify store my-shop.myshopify.com"),
    (etsy("etsy_a", 4242) + etsy("etsy_b", 4242), "Etsy shop 4242"),
    (gumroad("gum_a", "T_ONE") + gumroad("gum_b", "T_ONE"), "Gumroad account of access "
     "token sha256:"),
])
def test_two_accounts_on_one_store_are_refused_naming_both(
        tmp_path: Path, text: str, store: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, text)
    (line,) = refused.value.problems
    first, second = (n for n in ("shop_a", "shop_b", "etsy_a", "etsy_b", "gum_a", "gum_b")
                     if f"[accounts.{n}]" in text)
    assert line.startswith(f"{tmp_path / 'oneshop.toml'}: accounts.{first}, "
                           f"accounts.{second}: point at the same store ({store}")
    assert "each would book every sale" in line
    assert not any(secret in line for secret in ENV.values())


@pytest.mark.parametrize("text", [
    shopify("shop_a", "one.myshopify.com") + shopify("shop_b", "two.myshopify.com"),
    etsy("etsy_a", 1) + etsy("etsy_b", 2),
    gumroad("gum_a", "T_ONE") + gumroad("gum_b", "T_TWO"),
    # The same shop id at another API root is another store (a sandbox, in tests).
    etsy("etsy_a", 7) + etsy("etsy_b", 7, extra='base_url = "http://127.0.0.1:9999"'),
    shopify("shop_a", "s.myshopify.com")
    + shopify("shop_b", "s.myshopify.com", extra='base_url = "http://127.0.0.1:9998"'),
    # A disabled account books nothing.
    etsy("etsy_a", 9) + etsy("etsy_b", 9, enabled=False),
])
def test_accounts_on_different_stores_are_accepted(tmp_path: Path, text: str) -> None:
    assert len(load(tmp_path, text).accounts) == 2


def test_three_accounts_on_one_store_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, etsy("a", 5) + etsy("b", 5) + etsy("c", 5) + etsy("d", 6))
    (line,) = refused.value.problems
    assert ": accounts.a, accounts.b, accounts.c: point at the same store (Etsy shop 5)" in line


def test_config_check_refuses_it_with_exit_2(run: Run, write: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    code, out, err = check(run, write, gumroad("gum_a", "T_ONE") + gumroad("gum_b", "T_ONE"))
    assert (code, out) == (2, "")
    assert len(problems(err)) == 1 and "accounts.gum_a, accounts.gum_b" in err


def test_the_built_in_connectors_implement_the_hook() -> None:
    factories = available_connectors()
    assert all(isinstance(factories[k], StoreIdentity) for k in ("etsy", "shopify", "gumroad"))
