"""Taking over a catalog from the command line: sync --dry-run, adopt, link/unlink."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oneshop.testing.shop import SandboxShop

pytestmark = pytest.mark.e2e


def run(config: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "oneshop.cli", "--config", str(config), *args],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def shop(tmp_path: Path) -> tuple[SandboxShop, Path, dict[str, str], dict[str, str]]:
    shop = SandboxShop(state_dir=tmp_path / "state", serve_http=True,
                       settings_overrides={"gumroad": {"requests_per_second": 50.0}})
    ids = {kind: sandbox.seed_listing("VASE", qty) for (kind, sandbox), qty
           in zip(shop.sandboxes.items(), (5, 3, 4), strict=True)}
    shop.prepare_ledger()
    config = tmp_path / "oneshop.toml"
    env = {**os.environ, **shop.write_config(config)}
    yield shop, config, env, ids  # type: ignore[misc]
    shop.close()


def test_dry_run_adopt_and_sync_take_over_a_catalog(
        shop: tuple[SandboxShop, Path, dict[str, str], dict[str, str]]) -> None:
    sandboxes, config, env, ids = shop[0].sandboxes, shop[1], shop[2], shop[3]
    refused = run(config, env, "sync", "--once")
    assert refused.returncode == 1 and "oneshop adopt" in refused.stderr
    dry = run(config, env, "sync", "--once", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    (vase,) = json.loads(dry.stdout)["skus"]
    assert vase["shows"] == {"etsy": 5, "shopify": 3, "gumroad": 4}
    assert vase["adopt"] == {"from etsy": 5, "from shopify": 3, "from gumroad": 4, "min": 3}
    assert vase["disagree"] and vase["ledger"] is None
    assert all(s.writes == 0 for s in sandboxes.values()), "a dry run wrote"

    adopted = run(config, env, "adopt", "--min")
    assert adopted.returncode == 0, adopted.stderr
    (row,) = json.loads(adopted.stdout)["skus"]
    assert row["count"] == 3 and row["moves"] == {"etsy": {"shows": 5, "will_show": 3},
                                                  "gumroad": {"shows": 4, "will_show": 3}}
    assert all(s.writes == 0 for s in sandboxes.values()), "adopt wrote"
    again = run(config, env, "adopt", "--min")
    assert again.returncode == 1 and "--force" in again.stderr
    assert "Traceback" not in again.stderr

    synced = run(config, env, "sync", "--once")
    assert synced.returncode == 0, synced.stderr
    assert {k: s.quantity(ids[k]) for k, s in sandboxes.items()} == dict.fromkeys(sandboxes, 3)

    status = json.loads(run(config, env, "status", "--json").stdout)
    (vase,) = status["skus"]
    assert vase["on_hand"] == 3
    assert {c["wants"] for c in vase["channels"].values()} == {3}
    # What each channel showed at its last read: Shopify was read (3) and never pushed;
    # the others were pushed, and oneshop says so until a read confirms it.
    assert {a: (c["shows"], c["mark"]) for a, c in vase["channels"].items()} == {
        "etsy": (5, "pushed"), "gumroad": (4, "pushed"), "shopify": (3, "")}


def test_status_marks_drift_until_a_read_shows_it_resolved(
        shop: tuple[SandboxShop, Path, dict[str, str], dict[str, str]]) -> None:
    sandboxes, config, env, ids = shop[0].sandboxes, shop[1], shop[2], shop[3]
    assert run(config, env, "adopt", "--from", "shopify").returncode == 0
    assert run(config, env, "sync", "--once").returncode == 0
    sandboxes["etsy"].hand_edit(ids["etsy"], 14)
    assert run(config, env, "listings", "etsy").returncode == 0  # a read, no fold
    for _ in range(3):  # the mark stays: it is not only between two reconciles
        status = json.loads(run(config, env, "status").stdout)
        etsy = status["skus"][0]["channels"]["etsy"]
        assert (etsy["shows"], etsy["wants"], etsy["mark"]) == (14, 3, "drift")
    sandboxes["etsy"].hand_edit(ids["etsy"], 3)
    assert run(config, env, "listings", "etsy").returncode == 0
    etsy = json.loads(run(config, env, "status").stdout)["skus"][0]["channels"]["etsy"]
    assert (etsy["shows"], etsy["mark"]) == (3, "")
    wide = run(config, env, "status", "--wide")
    assert wide.returncode == 0


def test_an_unlinked_listing_is_left_alone_and_can_be_linked_back(
        shop: tuple[SandboxShop, Path, dict[str, str], dict[str, str]]) -> None:
    sandboxes, config, env, ids = shop[0].sandboxes, shop[1], shop[2], shop[3]
    assert run(config, env, "adopt", "--from", "etsy").returncode == 0
    assert run(config, env, "sync", "--once").returncode == 0
    assert run(config, env, "unlink", "gumroad", ids["gumroad"]).returncode == 0
    assert run(config, env, "adjust", "VASE", "-2", "--reason", "breakage").returncode == 0
    assert run(config, env, "sync", "--once").returncode == 0
    assert sandboxes["etsy"].quantity(ids["etsy"]) == 3
    assert sandboxes["gumroad"].quantity(ids["gumroad"]) == 5, "an unlinked listing was pushed"
    bad = run(config, env, "link", "gumroad", "no-such-listing", "VASE")
    assert bad.returncode == 1 and "no listing" in bad.stderr
    assert run(config, env, "link", "gumroad", ids["gumroad"], "VASE").returncode == 0
    assert run(config, env, "sync", "--once").returncode == 0
    assert sandboxes["gumroad"].quantity(ids["gumroad"]) == 3
