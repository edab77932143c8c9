"""`oneshop ignore` and `oneshop unignore`: listings kept out of oneshop by hand
(docs/listings.md). Each says what it changes; a line on a terminal, JSON when piped."""

from __future__ import annotations

import click

from oneshop.cli_util import _config, _emit


@click.command("ignore")
@click.argument("account")
@click.argument("listing")
@click.pass_context
def ignore_cmd(ctx: click.Context, account: str, listing: str) -> None:
    """Ignore a listing: oneshop unbinds it and never writes or reconciles it again; its
    orders are still stored, and move no stock. Kept in the ledger until `unignore`.
    Writes nothing to any channel."""
    from oneshop import app as app_mod
    from oneshop.listings import ignore_listing

    cfg = _config(ctx)
    if account not in cfg.accounts:
        raise click.ClickException(f"no account {account!r} in {cfg.path}")
    with app_mod.build(cfg) as application:
        ignore_listing(application, account, listing)
    note = "ignored: never written or reconciled, its orders move no stock"
    _emit({"account": account, "listing": listing, "ignored": True, "note": note}, False,
          lambda: click.echo(f"{account} {listing} {note}"))


@click.command("unignore")
@click.argument("account")
@click.argument("listing")
@click.pass_context
def unignore_cmd(ctx: click.Context, account: str, listing: str) -> None:
    """Sync an ignored listing again (also one an `ignore` glob matches). It is bound by
    its SKU and told the count the ledger holds; its sales while ignored stay unbooked,
    and its quantity is never adopted unless you run `oneshop adopt --from ACCOUNT`.
    Writes nothing to any channel now; the next sync pushes."""
    from oneshop import app as app_mod
    from oneshop.listings import unignore_listing

    cfg = _config(ctx)
    if account not in cfg.accounts:
        raise click.ClickException(f"no account {account!r} in {cfg.path}")
    with app_mod.build(cfg) as application:
        note = unignore_listing(application, account, listing)
    _emit({"account": account, "listing": listing, "ignored": False, "note": note}, False,
          lambda: click.echo(f"{account} {listing} no longer ignored; {note}"))


def register(group: click.Group) -> None:
    for command in (ignore_cmd, unignore_cmd):
        group.add_command(command)
