"""The takeover and catalog commands: sync, adopt, listings, link, unlink, status, release.

Each says what it changes and what it does not; a table on a terminal, JSON when piped.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from oneshop.cli_util import _command_line, _config, _emit, _ledger, _table
from oneshop.config import Config
from oneshop.errors import OneshopError

ADOPT_HINT = ("nothing is adopted yet: run `oneshop sync --once --dry-run` to see what each "
              "channel shows, then `oneshop adopt --from ACCOUNT` (or `--min`)")


def require_taken_over(cfg: Config) -> None:
    """`run` and `sync` refuse until the shop was taken over (`oneshop adopt`)."""
    from oneshop.ledger import takeover

    with _ledger(cfg) as ledger, ledger.sessions() as s:
        if not takeover.taken_over(s):
            raise OneshopError(ADOPT_HINT)


@click.command("sync")
@click.option("--once", is_flag=True, required=True, help="one pass over every account")
@click.option("--dry-run", is_flag=True,
              help="read every channel and show what adoption and the next sync would do; "
                   "writes nothing to the ledger or to any channel")
@click.pass_context
def sync(ctx: click.Context, once: bool, dry_run: bool) -> None:
    """Pull, reconcile and push every account once (after `oneshop adopt`)."""
    from oneshop import app as app_mod
    from oneshop.service import Runner

    cfg = _config(ctx)
    if dry_run:
        _show_plan(cfg)
        return
    require_taken_over(cfg)
    with app_mod.build(cfg) as application:
        runner = Runner(application)
        if sys.stderr.isatty():
            from rich.progress import Progress

            with Progress(transient=True) as progress:
                task = progress.add_task("syncing", total=len(application.accounts.connectors))
                ok = runner.sync_once(lambda name: progress.update(
                    task, advance=1, description=f"syncing {name}"))
        else:
            ok = runner.sync_once()
    if not ok:
        raise click.ClickException("some accounts failed; see the log lines above")


def _show_plan(cfg: Config) -> None:
    from oneshop.adopt import plan

    result = plan(cfg)
    data = {"skus": [p.as_dict() for p in result.skus], "unlinked": result.unlinked,
            "adopted": result.adopted, "bundles_ignored": result.bundles,
            "unlimited_candidates": [{"account": a, "listing": e, "sku": k}
                                     for a, e, k in result.unlimited],
            "ignored": result.ignored}

    def render() -> None:
        accounts = list(cfg.accounts)
        rows = []
        for p in result.skus:
            row: dict[str, Any] = {"sku": p.sku}
            for a in accounts:
                shown = "-" if a not in p.shows else str(p.shows[a])
                if p.wants and a in p.wants and p.wants[a] != p.shows.get(a):
                    shown += f"->{p.wants[a]}"
                row[a] = shown
            row["min"] = p.options.get("min")
            row["!"] = "differ" if p.disagree else ""
            if p.stock != "tracked":  # no count to adopt (docs/stock-models.md)
                row["!"] = f"{p.stock}: not adopted"
            rows.append(row)
        _table("what each channel shows now (->: what the next sync would publish)", rows)
        for account, n in result.unlinked.items():
            click.echo(f"{account}: {n} listing(s) without a SKU: `oneshop listings {account}`, "
                       "then `oneshop link`")
        if result.bundles:
            click.echo(f"bundles (their listings' quantities are never adopted: each shows "
                       f"what its components make): {', '.join(result.bundles)}")
        for account, listing, sku in result.unlimited:
            click.echo(f"{account}: {listing} ({sku or 'no SKU'}) is sold without a count: "
                       f'an unlimited candidate, not bound; set stock = "unlimited" on '
                       f"[skus.\"{sku or 'SKU'}\"] to sync its orders")
        for account, ids in result.ignored.items():
            click.echo(f"{account}: {len(ids)} ignored listing(s) (`ignore` globs, `oneshop "
                       "ignore`): not adopted, never written")
        click.echo("nothing was written to the ledger or to any channel")
        if not result.adopted:
            click.echo("next: `oneshop adopt --from ACCOUNT` takes that account's counts "
                       "(column ACCOUNT), or `oneshop adopt --min` the lowest (column min)")

    _emit(data, False, render)


@click.command("adopt")
@click.option("--from", "source", help="take the counts from this account")
@click.option("--min", "use_min", is_flag=True, help="take the lowest quantity any channel shows")
@click.option("--force", is_flag=True,
              help="count again after the service ran (keeps the order history, books only "
                   "the difference as `count` movements)")
@click.option("--yes", is_flag=True,
              help="let the first sync push even a change that zeroes many listings")
@click.option("--reason", help="why (kept with the batch: `oneshop batches`)")
@click.pass_context
def adopt(ctx: click.Context, source: str | None, use_min: bool, force: bool,
          yes: bool, reason: str | None) -> None:
    """Take over the shop: read every channel fresh and record the counts.

    Writes the counts and each account's takeover watermark to the ledger; writes
    nothing to any channel. Orders made before the takeover go into the order book as
    history and move no stock; the first `sync`/`run` then pushes the counts.
    """
    from oneshop.adopt import adopt_counts

    if bool(source) == use_min:
        raise click.UsageError("give exactly one of --from ACCOUNT or --min")
    cfg = _config(ctx)
    report = adopt_counts(cfg, source=source, force=force,
                          record=(_command_line(ctx), reason))
    if yes:
        _release_all(cfg, _command_line(ctx), reason)

    def render() -> None:
        rows = [{"sku": a.sku, "count": a.count, "from": a.source,
                 "next sync": ", ".join(f"{acc} {was}->{to}" for acc, (was, to)
                                        in a.moves.items()) or "nothing to change"}
                for a in report.skus]
        _table("adopted counts", rows)
        for sku, model in report.not_counted.items():
            click.echo(f"{sku}: stock = {model!r}, not adopted from channel counts")
        if report.not_adopted:
            click.echo(f"not adopted (no quantity on {report.source}): "
                       f"{', '.join(report.not_adopted)}; adopt them --from another account")
        if report.bundles:
            click.echo(f"bundles ignored (no stock of their own; each shows what its "
                       f"components make): {', '.join(report.bundles)}")
        for account, ids in report.ignored.items():
            click.echo(f"{account}: {len(ids)} ignored listing(s) not adopted and never "
                       "written (`oneshop status` lists them)")
        if not report.settled:
            click.echo("warning: sales kept landing during the reads; the counts are the last "
                       "reads, check them with `oneshop status`")
        click.echo("these counts are the truth at the takeover instant: orders placed before "
                   "it, on every channel, are history and move no stock")
        click.echo("nothing was written to any channel; the next `oneshop sync --once` or "
                   "`oneshop run` pushes the changes above")

    _emit(report.as_dict(), False, render)


def _release_all(cfg: Config, command: str, reason: str | None) -> None:
    from oneshop.ledger import batches
    from oneshop.ledger.db import transaction

    with _ledger(cfg) as ledger, transaction(ledger.sessions) as s, \
            batches.operator_batch(s, command, reason, kind="release") as batch:
        for name in cfg.accounts:
            _release_noted(s, batch, name)


def _release_noted(s: Any, batch: Any, account: str) -> str | None:
    """`guard.release`, noted in the batch with the hold it replaced (for `undo`)."""
    from oneshop.guard import release
    from oneshop.ledger import account_state

    before = account_state.health(s, account)
    batch.note({"what": "release", "account": account, "hold_before": before.hold_reason,
                "release_once_before": before.release_once})
    return release(s, account)


@click.command("release")
@click.argument("account")
@click.option("--reason", "why", help="why (kept with the batch: `oneshop batches`)")
@click.pass_context
def release_cmd(ctx: click.Context, account: str, why: str | None) -> None:
    """Let a push the bulk-zero guard held go out at the account's next sync."""
    from oneshop.ledger import batches
    from oneshop.ledger.db import transaction

    cfg = _config(ctx)
    if account not in cfg.accounts:
        raise click.ClickException(f"no account {account!r} in {cfg.path}")
    with _ledger(cfg) as ledger, transaction(ledger.sessions) as s, \
            batches.operator_batch(s, _command_line(ctx), why, kind="release") as batch:
        reason = _release_noted(s, batch, account)
    click.echo(f"{account}: released ({reason or 'nothing was held'}); its next push batch "
               "goes out as planned")


@click.command("listings")
@click.argument("account", required=False)
@click.pass_context
def listings(ctx: click.Context, account: str | None) -> None:
    """Read each channel's listings and show how each binds to a SKU.

    Records the listings and binds those whose channel SKU matches (bindings are not
    stock: no count, no push); a listing without a SKU is bound with `oneshop link`."""
    from oneshop import app as app_mod
    from oneshop.listings import read_listings

    cfg = _config(ctx)
    if account is not None and account not in cfg.accounts:
        raise click.ClickException(f"no account {account!r} in {cfg.path}")
    with app_mod.build(cfg) as application:
        rows = read_listings(application, [account] if account else
                             list(application.accounts.connectors))
    _emit(rows, False, lambda: _table("listings", [
        {k: r[k] for k in ("account", "listing", "title", "sku", "qty", "binding")}
        for r in rows]))


@click.command("link")
@click.argument("account")
@click.argument("listing")
@click.argument("sku")
@click.option("--create", is_flag=True, help="create SKU (it starts unadopted)")
@click.option("--rebind", is_flag=True, help="move a listing bound to another SKU")
@click.option("--reason", help="why (kept with the batch: `oneshop batches`)")
@click.pass_context
def link_cmd(ctx: click.Context, account: str, listing: str, sku: str, create: bool,
             rebind: bool, reason: str | None) -> None:
    """Bind a channel listing to a SKU by hand (reads the listing from the channel when
    oneshop has not seen it yet). Its sales since the takeover, kept pending while it was
    unbound, are booked to the SKU once, with their order times, and the decrease is pushed
    to every channel at once."""
    from oneshop import app as app_mod
    from oneshop.listings import link_listing

    cfg = _config(ctx)
    if account not in cfg.accounts:
        raise click.ClickException(f"no account {account!r} in {cfg.path}")
    with app_mod.build(cfg) as application:
        note = link_listing(application, account, listing, sku, create=create, rebind=rebind,
                            record=(_command_line(ctx), reason))
    click.echo(f"{account} {listing} -> {sku}" + (f" ({note})" if note else ""))


@click.command("unlink")
@click.argument("account")
@click.argument("listing")
@click.option("--reason", help="why (kept with the batch: `oneshop batches`)")
@click.pass_context
def unlink_cmd(ctx: click.Context, account: str, listing: str, reason: str | None) -> None:
    """Unbind a channel listing (its stock is no longer synced)."""
    from oneshop.ledger import batches, catalog
    from oneshop.ledger.db import transaction
    from oneshop.ledger.undoers import binding_change

    with _ledger(_config(ctx)) as ledger, transaction(ledger.sessions) as s, \
            batches.operator_batch(s, _command_line(ctx), reason, kind="unlink") as batch:
        batch.note(binding_change(s, account, listing))
        if not catalog.unlink(s, account, listing):
            raise click.ClickException(f"no listing {listing!r} known on {account!r}")
    click.echo(f"{account} {listing} unbound")


@click.command("status")
@click.option("--json", "as_json", is_flag=True)
@click.option("--wide", is_flag=True, help="every column (wider than 80)")
@click.pass_context
def status(ctx: click.Context, as_json: bool, wide: bool) -> None:
    """Channels (last poll, lag, failures, budget) and listings: what each channel showed
    at its last read, what oneshop wants it to show, and drift until it is resolved;
    ignored listings and sales waiting for a link. Changes nothing."""
    from oneshop import listing_status, planview, reports, status_view
    from oneshop.app import utcnow

    cfg = _config(ctx)
    with _ledger(cfg) as ledger, ledger.sessions() as s:
        now = utcnow()
        data = {"channels": reports.channels(s, cfg, now),
                "skus": status_view.skus(s, cfg, now),
                "unlimited_candidates": status_view.unlimited_candidates(s),
                **listing_status.collect(s)}
        data["plans"] = planview.plans(s, cfg)

    def render() -> None:
        status_view.render(data, wide=wide)
        listing_status.render(data)
        planview.render(data["plans"])

    _emit(data, as_json, render)


def register(group: click.Group) -> None:
    for command in (sync, adopt, release_cmd, listings, link_cmd, unlink_cmd, status):
        group.add_command(command)
