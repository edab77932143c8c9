"""Listings before and after the takeover: read them from the channels, bind by hand.

Bindings are not stock: reading listings records them and binds those whose channel SKU
matches, but counts nothing and pushes nothing (the takeover and the service do that).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oneshop import alerts
from oneshop.app import App
from oneshop.errors import OneshopError
from oneshop.ledger import batches, catalog, ignore, records, stock, views
from oneshop.ledger.db import transaction
from oneshop.ledger.oversell import check_oversells
from oneshop.ledger.undoers import binding_change
from oneshop.values import Listing


def _read(app: App, account: str) -> list[Listing]:
    """Record what the channel lists now; returns the listings as read."""
    found: list[Listing] = []
    for page in app.accounts.connectors[account].fetch_listings():
        with transaction(app.sessions) as s:
            catalog.upsert_listings(s, account, page.listings, app.clock())
            records.add_rejected(s, account, "listings", page.rejected)
        found += page.listings
    return found


def read_listings(app: App, accounts: Sequence[str]) -> list[dict[str, Any]]:
    """Each listing, its channel SKU, and how it binds (or why it does not)."""
    rows: list[dict[str, Any]] = []
    for account in accounts:
        listed = _read(app, account)
        with transaction(app.sessions) as s:
            linked = catalog.auto_link(s, account, app.clock(),
                                       rules=app.accounts.rules[account].listings)
            bound = views.listing_links(s, account)
            ignored = ignore.ignored_ids(s, account)
        dup = {ext for ids in linked.duplicates.values() for ext in ids}
        for li in listed:
            sku, how = bound.get(li.external_id, (None, None))
            binding = (f"bound to {sku}" + (" (by hand)" if how == "manual" else "")
                       if sku else "ignored: never written, no stock"
                       if li.external_id in ignored
                       else "unlinked by hand" if how == catalog.UNLINKED
                       else f"SKU {li.sku} on several listings: link by hand"
                       if li.external_id in dup
                       else "no SKU: link by hand" if not li.sku else "not bound")
            rows.append({"account": account, "listing": li.external_id,
                         "title": li.title[:40], "sku": li.sku, "qty": li.quantity,
                         "state": li.state, "bound_to": sku, "binding": binding})
    return rows


def _require_listing(app: App, account: str, listing: str) -> None:
    """Read the account's listings when oneshop has not seen this one yet."""
    with app.sessions() as s:
        known = views.knows_listing(s, account, listing)
    if not known and not any(li.external_id == listing for li in _read(app, account)):
        raise OneshopError(f"no listing {listing!r} on {account!r} "
                           f"(`oneshop listings {account}` shows its listings)")


def link_listing(app: App, account: str, listing: str, sku: str, *, create: bool,
                 rebind: bool, record: tuple[str, str | None] | None = None) -> str:
    """Bind `listing` to `sku` by hand; returns a note for the seller (or raises).

    The sales it made while unbound since the takeover (pending) are booked now, once,
    with their own order times; the decrease goes out to every channel at once.
    record: (command line, reason) of the operator batch it is recorded as."""
    _require_listing(app, account, listing)
    now = app.clock()
    with transaction(app.sessions) as s:
        if listing in ignore.ignored_ids(s, account, [listing]):
            raise OneshopError(f"{account} {listing} is ignored; run `oneshop unignore "
                               f"{account} {listing}` first")
        if views.find_sku(s, sku) is None and not create:
            raise OneshopError(f"unknown SKU {sku!r}: check the spelling, or give --create "
                               "to start a new SKU (it starts unadopted)")
        current = views.bound_sku(s, account, listing)
        if current is not None and current != sku and not rebind:
            raise OneshopError(f"{account} {listing} is bound to {current}; give --rebind "
                               f"to move it to {sku}")
        sku_id = stock.ensure_skus(s, {sku: ""})[sku]
        before = stock.on_hand(s, sku_id)
        if record is not None:
            with batches.operator_batch(s, record[0], record[1], kind="link") as batch:
                batch.note(binding_change(s, account, listing))
                catalog.link(s, account, listing, sku, now)
        else:
            catalog.link(s, account, listing, sku, now)
        delta = stock.on_hand(s, sku_id) - before
        check_oversells(s, {sku_id: delta} if delta else {}, now)
        alerts.resolve(s, "unlinked_listing", now=now, account=account, subject=listing)
        found = views.find_sku(s, sku)
        adopted = found.adopted_at if found is not None else None
    if delta and adopted:
        app.engine.push.skus({sku_id: delta})
    notes = [f"{-delta} unit(s) sold while it waited for a link booked"] if delta else []
    if not adopted:
        notes.append(f"{sku} is not adopted yet: nothing is published for it until "
                     f"`oneshop adopt --from {account}`")
    return "; ".join(notes)


def ignore_listing(app: App, account: str, listing: str) -> None:
    """`oneshop ignore`: the listing is unbound and never written or reconciled again;
    its orders are stored and move no stock."""
    _require_listing(app, account, listing)
    now = app.clock()
    with transaction(app.sessions) as s:
        ignore.ignore_by_hand(s, account, listing)
        alerts.resolve(s, "unlinked_listing", now=now, account=account, subject=listing)


def unignore_listing(app: App, account: str, listing: str) -> str:
    """`oneshop unignore`: bound again by its SKU (ignore.py: the conservative count);
    returns how it binds now."""
    _require_listing(app, account, listing)
    now = app.clock()
    with transaction(app.sessions) as s:
        ignore.unignore_by_hand(s, account, listing, now)
        # Never adopted from this channel here: a new SKU waits for `oneshop adopt`.
        catalog.auto_link(s, account, now, rules=app.accounts.rules[account].listings)
        sku = views.bound_sku(s, account, listing)
        found = views.find_sku(s, sku) if sku is not None else None
    if sku is None:
        return f"not bound: link it with `oneshop link {account} {listing} SKU`"
    if found is None or found.adopted_at is None:
        return (f"bound to {sku}, not adopted: nothing is published for it until "
                f"`oneshop adopt --from ACCOUNT`")
    return f"bound to {sku}: the next sync tells it {sku}'s count"
