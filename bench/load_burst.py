"""A burst: 10,000 sales in one virtual hour over Etsy, Shopify and Gumroad, with every
sandbox enforcing its rate limits (Etsy 10/s and 10,000/day, Shopify's cost bucket,
Gumroad paced by the connector). The real engine polls each channel every POLL_S.

Prints sales/s handled (wall clock), peak and mean lag from a sale to its booking
(virtual seconds; the target is under two poll intervals), peak RSS, requests per
channel against its budget, and the simulation's invariants after the burst.

    PYTHONPATH=. python bench/load_burst.py [--sales 10000] [--skus 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from oneshop.ledger import models as m
from oneshop.testing import VirtualClock
from sim.check import check
from sim.model import Sale, Truth
from sim.scenario import START
from sim.world import World

POLL_S = 60.0
HOUR_S = 3600.0
GUMROAD_RPS = 10.0  # Gumroad documents no limit; the connector paces itself


def _booked(world: World, kind: str, pending: dict[str, float]) -> list[str]:
    assert world.app is not None
    ids = sorted(pending)
    found: list[str] = []
    with world.app.sessions() as s:
        for i in range(0, len(ids), 500):
            found += s.scalars(select(m.Order.external_id).where(
                m.Order.account == kind, m.Order.external_id.in_(ids[i:i + 500]))).all()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales", type=int, default=10_000)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    random.seed(args.seed)
    clock = VirtualClock(START)
    world = World(args.seed, workdir=Path(tempfile.mkdtemp(prefix="oneshop-burst-")),
                  clock=clock, trace=lambda _line: None,
                  account_options={"poll_seconds": POLL_S})
    world.shop.settings_overrides = {"gumroad": {"requests_per_second": GUMROAD_RPS}}
    per_sku = args.sales * 2 // args.skus  # enough stock that most sales find some
    truth = Truth(reserve=0, cap=None)
    for i in range(args.skus):
        sku = f"SKU-{i:05d}"
        truth.listings[sku] = world.shop.seed(sku, per_sku)
        truth.initial[sku] = per_sku
    truth.secrets.update(str(v) for k in world.sandboxes for v in world.shop.settings(k).values())
    runner = world.start()
    for kind in sorted(world.sandboxes):
        runner.reconcile(kind, link=True)
    for sb in world.sandboxes.values():
        sb.requests = 0
    kinds = sorted(world.sandboxes)
    pending: dict[str, dict[str, float]] = {k: {} for k in kinds}
    lags: list[float] = []
    next_poll = {k: clock.now().timestamp() + POLL_S * (i + 1) / len(kinds)
                 for i, k in enumerate(kinds)}
    start = clock.now().timestamp()
    sale_times = sorted(start + rng.uniform(0, HOUR_S) for _ in range(args.sales))
    wall = time.perf_counter()
    sold = refused = 0
    skus = sorted(truth.listings)
    while sale_times or any(pending.values()):
        now = clock.now().timestamp()
        while sale_times and sale_times[0] <= now + 0.001:  # the clock counts in µs
            sale_times.pop(0)
            kind, sku = rng.choice(kinds), rng.choice(skus)
            sb: Any = world.sandboxes[kind]
            try:
                order = str(sb.sell(truth.listings[sku][kind], 1))
            except ValueError:
                refused += 1
                continue
            sold += 1
            pending[kind][order] = now
            truth.sales.append(Sale(kind=kind, order_id=order, sku=sku, quantity=1, step=0,
                                    raced=True))
        due = min(next_poll.values())
        if sale_times and sale_times[0] < due:
            clock.advance(max(0.001, sale_times[0] - now))
            continue
        clock.advance(max(0.0, due - now))
        kind = min(next_poll, key=lambda k: next_poll[k])
        runner.poll(kind)
        booked_at = clock.now().timestamp()
        for order in _booked(world, kind, pending[kind]):
            lags.append(booked_at - pending[kind].pop(order))
        next_poll[kind] = max(booked_at, next_poll[kind] + POLL_S)
    elapsed = time.perf_counter() - wall
    for _ in range(3):  # quiet: every channel pulled and pushed once more
        clock.advance(POLL_S)
        for kind in kinds:
            runner.poll(kind)
    requests = {k: world.sandboxes[k].requests for k in kinds}
    violations = check(world, truth, "")
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    virtual_s = clock.now().timestamp() - start
    print(f"burst: {sold} sales ({refused} refused: sold out) in {virtual_s / 60:.0f} virtual "
          f"min, handled in {elapsed:.1f} s wall = {sold / elapsed:.0f} sales/s")
    print(f"lag sale -> booked: peak {max(lags):.0f} s, mean {sum(lags) / len(lags):.0f} s "
          f"(poll every {POLL_S:.0f} s; target under {2 * POLL_S:.0f} s)")
    print(f"peak RSS {rss_mb:.0f} MB")
    hours = virtual_s / HOUR_S
    etsy: Any = world.sandboxes["etsy"]
    print(f"etsy: {requests['etsy']} requests in {hours:.2f} h (budget {etsy.limiter.per_day}/day,"
          f" {etsy.limiter.per_second}/s enforced by the sandbox)")
    assert world.app is not None
    waited = world.app.accounts.connectors["shopify"].budget().throttle_wait_s
    print(f"shopify: {requests['shopify']} requests (cost bucket enforced by the sandbox; "
          f"throttle waits {waited:.0f} s)")
    print(f"gumroad: {requests['gumroad']} requests (paced at {GUMROAD_RPS:g}/s = "
          f"{GUMROAD_RPS * virtual_s:.0f} possible)")
    print(f"invariants: {len(violations)} violation(s)")
    for v in violations[:20]:
        print(f"  ! {v}")
    world.close()
    ok = not violations and max(lags) < 2 * POLL_S
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
