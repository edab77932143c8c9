"""Taking over a catalog: set each SKU's initial count from one channel or the minimum."""

from __future__ import annotations

import functools
import uuid

from sqlalchemy import select

from oneshop import app as app_mod
from oneshop.config import Config
from oneshop.errors import OneshopError
from oneshop.ledger import models as m
from oneshop.ledger import store
from oneshop.ledger.db import transaction
from oneshop.service import Runner


def adopt_counts(cfg: Config, *, source: str | None, force: bool) -> dict[str, int]:
    """Scan the channels, then record `count` movements so on_hand equals the chosen value."""
    if source is not None and source not in cfg.accounts:
        raise OneshopError(f"no account {source!r} in {cfg.path}")
    application = app_mod.build(cfg)
    try:
        with application.sessions() as s:
            done = s.scalars(select(m.AccountState.account)
                             .where(m.AccountState.adopted_at.is_not(None))).all()
        if done and not force:
            raise OneshopError(f"counts were adopted before ({', '.join(done)}); "
                               "run again with --force to replace them")
        runner = Runner(application)
        for name in [source] if source else list(application.accounts.connectors):
            assert name is not None
            scan = functools.partial(application.engine.scan_catalog, name, link=True)
            if not runner.guarded(name, "adopt", scan):
                raise OneshopError(f"could not read the catalog of {name}; see the log")
        return _record_counts(application, source)
    finally:
        application.close()


def _record_counts(application: app_mod.App, source: str | None) -> dict[str, int]:
    run = uuid.uuid4().hex[:12]
    now = application.clock()
    counts: dict[str, int] = {}
    with transaction(application.sessions) as s:
        q = (select(m.Sku.id, m.Sku.sku, m.Sku.on_hand, m.Binding.observed_qty)
             .join(m.Binding, m.Binding.sku_id == m.Sku.id)
             .where(m.Binding.observed_qty.is_not(None)))
        if source:
            q = q.where(m.Binding.account == source)
        wanted: dict[int, tuple[str, int, int]] = {}
        for sku_id, sku, on_hand, seen in s.execute(q):
            qty = int(seen or 0)
            prev = wanted.get(sku_id)
            wanted[sku_id] = (sku, on_hand, qty if prev is None else min(prev[2], qty))
        for sku_id, (sku, on_hand, qty) in wanted.items():
            store.record_movement(s, sku_id=sku_id, kind="count", delta=qty - on_hand,
                                  source_key=f"count:adopt:{run}:{sku}",
                                  reason=f"adopted from {source or 'minimum across channels'}")
            counts[sku] = qty
        for name in application.config.accounts:
            store.account_state(s, name).adopted_at = now
    return counts
