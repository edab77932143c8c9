"""API economy, counted at the sandboxes: requests per idle cycle per channel (target 1),
writes per single-SKU sale per other channel (target 1), and Etsy requests per listing
pushed in a burst of sales on the other channels (target about 1: Etsy's daily budget),
and writes per channel for one bundle sale (target: no more than that channel's listings
whose quantity changed; Shopify writes them in one call).

    .venv/bin/python bench/api_economy.py [--skus 200]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from oneshop import logs
from oneshop.service import Runner
from oneshop.testing import VirtualClock
from oneshop.testing.shop import KINDS, SandboxShop


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skus", type=int, default=200)
    args = ap.parse_args()
    logs.configure(level="warning")
    clock = VirtualClock()
    with tempfile.TemporaryDirectory() as tmp:
        shop = SandboxShop(state_dir=Path(tmp), clock=clock.now,
                           skus={KIT: {"bundle": {"E00000": 1, "E00001": 2}}})
        ids = [shop.seed(f"E{i:05d}", 5) for i in range(args.skus)]
        ids.append(shop.seed(KIT, 2))
        shop.prepare_ledger()
        app = shop.build_app(clock=clock.now, sleep=clock.sleep)
        runner = Runner(app)
        for kind in KINDS:
            assert runner.reconcile(kind, link=True)
        for kind in KINDS:  # warm: first polls settle cursors
            assert runner.poll(kind)
            clock.advance(60)
        requests = {k: s.requests for k, s in shop.sandboxes.items()}
        for kind in KINDS:
            clock.advance(60)
            assert runner.poll(kind)
        idle = {k: shop.sandboxes[k].requests - requests[k] for k in KINDS}
        print(f"idle cycle, {args.skus} SKUs bound on 3 channels: requests per channel "
              + ", ".join(f"{k} {v}" for k, v in idle.items()) + " (target 1 each)")
        for seller in KINDS:
            writes = {k: s.writes for k, s in shop.sandboxes.items()}
            reqs = {k: s.requests for k, s in shop.sandboxes.items()}
            target = ids[KINDS.index(seller)]
            shop.sandboxes[seller].sell(target[seller], 1)
            clock.advance(60)
            assert runner.poll(seller)
            others = [k for k in KINDS if k != seller]
            print(f"one sale on {seller}: writes per other channel "
                  + ", ".join(f"{k} {shop.sandboxes[k].writes - writes[k]}" for k in others)
                  + " (target 1); requests incl. read-backs "
                  + ", ".join(f"{k} {shop.sandboxes[k].requests - reqs[k]}" for k in others))
        bundle_sale(shop, runner, ids)
        burst(shop, runner, ids[:-1])
        app.close()
        shop.close()


KIT = "KIT-BENCH"


def bundle_sale(shop: SandboxShop, runner: Runner, ids: list[dict[str, str]]) -> None:
    """One kit (1 x E00000 + 2 x E00001) sold on Gumroad: per channel, the writes made
    against the listings (kit and components) whose quantity changed."""
    watched = [ids[0], ids[1], ids[-1]]

    def shows() -> dict[str, list[int | None]]:
        return {k: [shop.sandboxes[k].quantity(i[k]) for i in watched] for k in KINDS}

    before, writes = shows(), {k: s.writes for k, s in shop.sandboxes.items()}
    shop.sandboxes["gumroad"].sell(ids[-1]["gumroad"], 1)
    assert runner.poll("gumroad")
    after = shows()
    print("one bundle sale on gumroad: writes per channel "
          + ", ".join(f"{k} {shop.sandboxes[k].writes - writes[k]} for "
                      f"{sum(a != b for a, b in zip(before[k], after[k], strict=True))} "
                      "listing(s) changed" for k in KINDS)
          + " (target: writes <= listings changed)")


def burst(shop: SandboxShop, runner: Runner, ids: list[dict[str, str]]) -> None:
    """One sale of every SKU, on Shopify or Gumroad in turn, then a poll of each."""
    etsy = shop.sandboxes["etsy"]
    requests, writes = etsy.requests, etsy.writes
    sellers = [k for k in KINDS if k != "etsy"]
    for i, skus in enumerate(ids):
        seller = sellers[i % len(sellers)]
        shop.sandboxes[seller].sell(skus[seller], 1)
    for seller in sellers:
        assert runner.poll(seller)
    used, pushed = etsy.requests - requests, etsy.writes - writes
    print(f"burst, {len(ids)} sales on {' + '.join(sellers)}: etsy listings pushed {pushed}, "
          f"requests {used} = {used / max(pushed, 1):.2f} per listing (target about 1)")


if __name__ == "__main__":
    main()
