"""`ignore`, `unignore`, `duplicate_skus` and pending sales from the command line, on a
shop with history (sales, a cancellation, a hand edit on every channel before the
takeover): config check names the key, the dry run and adopt say what they leave out,
status lists it, JSON when piped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oneshop.testing.shop import SandboxShop

pytestmark = pytest.mark.e2e
FAST = {"gumroad": {"requests_per_second": 50.0}}


def run(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oneshop.cli", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=120)


def ok(config: Path, env: dict[str, str], *args: str) -> Any:
    done = run(config, env, *args)
    assert done.returncode == 0, f"{args}: {done.stderr}"
    return json.loads(done.stdout) if done.stdout.strip().startswith(("{", "[")) else None


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[SandboxShop, Path, dict[str, str],
                                           dict[str, dict[str, str]]]]:
    shop = SandboxShop(state_dir=tmp_path / "state", serve_http=True, settings_overrides=FAST,
                       account_options={"ignore": ["SAMPLE-*", "*-DRAFT"]})
    ids = {"VASE": shop.seed("VASE", 12),
           "SAMPLE-1": {k: shop.sandboxes[k].seed_listing("SAMPLE-1", 4)
                        for k in ("etsy", "shopify")}}
    for kind in ("etsy", "shopify"):  # the history: sales, a cancellation, a hand edit
        for sku in ("VASE", "SAMPLE-1"):
            shop.sandboxes[kind].sell(ids[sku][kind], 1)
        shop.sandboxes[kind].cancel(shop.sandboxes[kind].sell(ids["VASE"][kind], 1),
                                    restock=True)
        shop.sandboxes[kind].hand_edit(ids["SAMPLE-1"][kind], 7)
    shop.sandboxes["gumroad"].sell(ids["VASE"]["gumroad"], 1)
    shop.prepare_ledger()
    config = tmp_path / "oneshop.toml"
    env = {**os.environ, **shop.write_config(config)}
    yield shop, config, env, ids
    shop.close()


def test_ignored_listings_from_the_command_line(
        shop: tuple[SandboxShop, Path, dict[str, str], dict[str, dict[str, str]]]) -> None:
    rig, config, env, ids = shop
    sandboxes = rig.sandboxes
    samples = {k: ids["SAMPLE-1"][k] for k in ("etsy", "shopify")}
    ok(config, env, "config", "check")
    dry = ok(config, env, "sync", "--once", "--dry-run")
    assert dry["ignored"] == {k: [v] for k, v in samples.items()}
    assert [row["sku"] for row in dry["skus"]] == ["VASE"], "a sample was planned"
    adopted = ok(config, env, "adopt", "--min")
    assert adopted["ignored"] == {k: [v] for k, v in samples.items()}
    assert [row["sku"] for row in adopted["skus"]] == ["VASE"]

    done = ok(config, env, "ignore", "shopify", ids["VASE"]["shopify"])
    assert done == {"account": "shopify", "listing": ids["VASE"]["shopify"], "ignored": True,
                    "note": "ignored: never written or reconciled, its orders move no stock"}
    ok(config, env, "sync", "--once")
    writes = sandboxes["shopify"].writes
    sandboxes["shopify"].sell(ids["VASE"]["shopify"], 2)  # moves no stock
    sandboxes["gumroad"].sell(ids["VASE"]["gumroad"], 1)  # a real sale
    ok(config, env, "sync", "--once")
    status = ok(config, env, "status")
    assert {(r["account"], r["listing"], r["why"]) for r in status["ignored"]} == {
        ("etsy", samples["etsy"], "config"), ("shopify", samples["shopify"], "config"),
        ("shopify", ids["VASE"]["shopify"], "hand")}
    assert status["pending"] == []
    (vase,) = [r for r in status["skus"] if r["sku"] == "VASE"]
    assert "shopify" not in vase["channels"] and vase["on_hand"] == 9
    assert sandboxes["shopify"].writes == writes, "an ignored listing was written"
    for kind, listing in samples.items():
        assert sandboxes[kind].quantity(listing) == 7, "a sample was written"

    back = ok(config, env, "unignore", "shopify", ids["VASE"]["shopify"])
    assert back["note"].startswith("bound to VASE")
    ok(config, env, "sync", "--once")
    assert sandboxes["shopify"].quantity(ids["VASE"]["shopify"]) == 9
    refused = run(config, env, "ignore", "shopify", "no-such-listing")
    assert refused.returncode == 1 and "no listing 'no-such-listing'" in refused.stderr
    assert "Traceback" not in refused.stderr
    helped = run(config, env, "ignore", "--help").stdout
    assert "never writes or reconciles" in " ".join(helped.split())
    assert "Writes nothing to any channel" in " ".join(helped.split())


@pytest.mark.parametrize(("line", "key", "words"), [
    ('ignore = [""]', "accounts.etsy.ignore", "empty glob"),
    ('ignore = ["A*", "A*"]', "accounts.etsy.ignore", "given twice"),
    ('ignore = "SAMPLE-*"', "accounts.etsy.ignore", "list"),
    ('duplicate_skus = "bind_some"', "accounts.etsy.duplicate_skus", "refuse"),
])
def test_config_check_names_the_key(tmp_path: Path, line: str, key: str, words: str) -> None:
    shop = SandboxShop(state_dir=tmp_path / "state")
    config = tmp_path / "oneshop.toml"
    env = {**os.environ, **shop.write_config(config)}
    text = config.read_text().replace('[accounts.etsy]\nkind = "etsy"',
                                      f'[accounts.etsy]\nkind = "etsy"\n{line}')
    config.write_text(text)
    done = run(config, env, "config", "check")
    assert done.returncode != 0
    assert key in done.stderr and words in done.stderr, done.stderr
