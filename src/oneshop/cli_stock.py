"""Day-to-day commands on the ledger: a SKU's history, a stock correction, and an
account's credentials (`auth`, `resume`). None of them needs the service stopped."""

from __future__ import annotations

import uuid

import click

from oneshop.cli_util import _command_line, _config, _emit, _ledger, _table


@click.command("history")
@click.argument("sku")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def history(ctx: click.Context, sku: str, as_json: bool) -> None:
    """The SKU's timeline: sales, restocks, edits, pushes and alerts."""
    from oneshop import reports
    from oneshop.ledger import stock_models, views

    with _ledger(_config(ctx)) as ledger, ledger.sessions() as s:
        events = reports.history(s, sku)
        row = views.find_sku(s, sku)
    if events is None:
        raise click.ClickException(f"unknown SKU {sku!r}")
    rows = [e.as_dict() for e in events]
    model = stock_models.describe(row) if row is not None else ""
    _emit(rows, as_json, lambda: _table(f"history of {sku}" + (f" ({model})" if model
                                                                 else ""), rows))


@click.command("adjust", context_settings={"ignore_unknown_options": True})
@click.argument("sku")
@click.argument("delta")
@click.option("--reason", required=True, help="why (kept in the history)")
@click.pass_context
def adjust(ctx: click.Context, sku: str, delta: str, reason: str) -> None:
    """Correct a SKU's stock by ±N units (pushed by the service at its next poll).

    Recorded as an operator batch (`oneshop batches`; `oneshop undo BATCH` takes it back)."""
    from oneshop.app import utcnow
    from oneshop.ledger import batches, stock
    from oneshop.ledger.db import transaction

    try:
        change = int(delta)
    except ValueError:
        raise click.BadParameter(f"{delta!r} is not a whole number like +3 or -2") from None
    from oneshop.ledger.lowstock import check_low_stock, rules_from

    cfg = _config(ctx)
    with _ledger(cfg) as ledger, transaction(ledger.sessions) as s:
        ids = stock.sku_ids(s, [sku])
        if sku not in ids:
            raise click.ClickException(f"unknown SKU {sku!r}")
        with batches.operator_batch(s, _command_line(ctx), reason, kind="adjust") as batch:
            stock.record_movement(s, sku_id=ids[sku], kind="adjust", delta=change,
                                  source_key=f"adjust:{utcnow().isoformat()}:{uuid.uuid4()}",
                                  reason=reason)
        now_on_hand = stock.on_hand(s, ids[sku])
        # A correction down can cross a low-stock threshold; one up re-arms it.
        check_low_stock(s, rules_from(cfg.file.service, cfg.file.skus), {ids[sku]: change},
                        utcnow())
    click.echo(f"{sku}: {change:+d} ({reason}); on hand now {now_on_hand} (batch {batch.id})")


@click.command("auth")
@click.argument("kind")
@click.option("--account", required=True, help="the account's name in the config")
@click.option("--paste", is_flag=True,
              help="paste the redirected URL instead of listening on the redirect URI")
@click.option("--timeout", "timeout_s", type=float, default=300, show_default=True)
@click.pass_context
def auth(ctx: click.Context, kind: str, account: str, paste: bool, timeout_s: float) -> None:
    """Authorise oneshop on a marketplace that needs a person to say yes (Etsy: PKCE)."""
    import time

    from oneshop.app import utcnow
    from oneshop.ledger import account_state
    from oneshop.ledger.db import transaction
    from oneshop.protocols import ConnectorContext, InteractiveAuth

    cfg = _config(ctx)
    acc = cfg.accounts.get(account)
    if acc is None or acc.config.kind != kind:
        raise click.ClickException(f"no {kind} account named {account!r} in {cfg.path}")
    if not isinstance(acc.factory, InteractiveAuth):
        raise click.ClickException(f"{kind} needs no interactive authorisation")
    with _ledger(cfg) as ledger:
        store = ledger.token_store(account, cfg.state_dir)
        context = ConnectorContext(account=account, clock=utcnow, sleep=time.sleep,
                                   token_store=store)
        tokens = acc.factory.authorize(
            acc.settings, context, timeout_s=timeout_s,
            show=lambda url: click.echo(f"Open this address, sign in and allow access:\n{url}",
                                        err=False),
            pasted=(lambda: click.prompt("Paste the address you were sent to")) if paste
            else None)
        with store.lock():
            store.save(tokens)
        with transaction(ledger.sessions) as s:
            account_state.resume(s, account)
    click.echo(f"{account}: authorised; tokens stored in the ledger (valid until "
               f"{tokens.expires_at:%H:%M} UTC, refreshed automatically)")


@click.command("resume")
@click.argument("account", required=False)
@click.option("--all", "every", is_flag=True, help="every account")
@click.option("--reason", help="why (kept with the batch: `oneshop batches`)")
@click.pass_context
def resume(ctx: click.Context, account: str | None, every: bool, reason: str | None) -> None:
    """End whichever pause ACCOUNT is in, and say which: yours (`oneshop pause`; the
    listings it took off sale go back on sale, after the account's orders are pulled) or
    one for refused credentials (after fixing them; the service polls it at its next
    turn). Etsy's vacation mode ends only when Etsy says the shop is back.

    Writes the ledger (one operator batch) and, for a pause of yours, the channels."""
    from oneshop.cli_operate import chosen_accounts, show_outcomes
    from oneshop.pause import carry_out, record_resume

    cfg = _config(ctx)
    names = chosen_accounts(cfg, account, every)
    from oneshop.app import utcnow

    outcomes = record_resume(cfg, names, now=utcnow(), reason=reason or "",
                             command=_command_line(ctx))
    credentials_only = {o.account for o in outcomes
                        if o.ended and "paused by the seller" not in o.ended}
    carry_out(cfg, outcomes, credentials_only=credentials_only)
    show_outcomes(outcomes, "resumed")


def register(group: click.Group) -> None:
    for command in (history, adjust, auth, resume):
        group.add_command(command)
