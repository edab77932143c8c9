"""Running the shop day to day: `pause` (and its counterpart `resume`, in cli_stock),
`batches` (every write a person made) and `undo`. A table on a terminal, JSON when piped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import click

from oneshop.cli_util import _command_line, _config, _emit, _ledger, _table
from oneshop.config import Config
from oneshop.pause import Outcome


def chosen_accounts(cfg: Config, account: str | None, every: bool) -> list[str]:
    if bool(account) == every:
        raise click.UsageError("give exactly one of ACCOUNT or --all")
    if account is not None and account not in cfg.accounts:
        raise click.ClickException(f"no account named {account!r} in {cfg.path}")
    return [account] if account else [n for n, a in cfg.accounts.items()
                                      if a.config.enabled]


def parse_until(value: str | None, now: datetime) -> datetime | None:
    """`2026-12-27T08:00Z` (UTC; an offset is converted); it must lie ahead."""
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a time like 2026-12-27T08:00Z",
                                 param_hint="--until") from None
    if at.tzinfo is None:
        raise click.BadParameter(f"{value!r} has no time zone: end it with Z (UTC)",
                                 param_hint="--until")
    at = at.astimezone(UTC)
    if at <= now:
        raise click.BadParameter(f"{value!r} is not in the future", param_hint="--until")
    return at


def show_outcomes(outcomes: Sequence[Outcome], verb: str) -> None:
    rows = [{**o.as_dict(), "message": _line(o, verb)} for o in outcomes]

    def render() -> None:
        for o in outcomes:
            click.echo(_line(o, verb))

    _emit(rows, False, render)


def _line(o: Outcome, verb: str) -> str:
    if verb == "resumed":
        head = (f"{o.account}: resumed ({'; '.join(o.ended)} ended)" if o.ended
                else f"{o.account}: was not paused")
        moved = "put back on sale"
    else:
        head = f"{o.account}: paused" if o.changed else f"{o.account}: already paused so"
        moved = "taken off sale"
    if o.left is None:
        tail = f"{o.to_move} listing(s) to be {moved}" if o.to_move else ""
    else:
        tail = f"{o.to_move - o.left} listing(s) {moved}" + (
            f", {o.left} still to do" if o.left else "")
    return "; ".join(p for p in (head, tail, o.note) if p)


@click.command("pause")
@click.argument("account", required=False)
@click.option("--all", "every", is_flag=True, help="every enabled account")
@click.option("--until", "until_text", metavar="TIME",
              help="resume on its own then (UTC, e.g. 2026-12-27T08:00Z)")
@click.option("--reason", help="why (shown by `status`, kept with the batch)")
@click.pass_context
def pause(ctx: click.Context, account: str | None, every: bool, until_text: str | None,
          reason: str | None) -> None:
    """Take every listing of ACCOUNT (or --all) off sale, e.g. for a vacation.

    Writes the pause to the ledger (one operator batch), pulls the account's orders and
    publishes 0 on each listing: Shopify shows 0, Etsy applies the zero-stock policy,
    Gumroad's cap drops to the units sold. Orders keep being pulled and booked while
    paused. `oneshop resume` (or --until) puts back on sale exactly the listings this
    took off; a listing you had turned off stays off. Running it again finishes a pause
    cut short."""
    from oneshop.app import utcnow
    from oneshop.pause import carry_out, record_pause

    cfg = _config(ctx)
    names = chosen_accounts(cfg, account, every)
    now = utcnow()
    until = parse_until(until_text, now)
    outcomes = record_pause(cfg, names, now=now, until=until, reason=reason or "",
                            command=_command_line(ctx))
    carry_out(cfg, outcomes, credentials_only=set())
    show_outcomes(outcomes, "paused")


@click.command("batches")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def batches_cmd(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Every write a person made (adjust, adopt, link, unlink, release, pause, resume,
    undo, config overrides applied), newest first. Reads only."""
    from oneshop.ledger import batches

    with _ledger(_config(ctx)) as ledger, ledger.sessions() as s:
        rows = [b.as_dict() for b in batches.listed(s, limit=limit)]
    _emit(rows, as_json, lambda: _table("operator batches (`oneshop undo BATCH`)", rows))


@click.command("undo")
@click.argument("batch", type=int)
@click.option("--dry-run", is_flag=True, help="say what it would do; write nothing")
@click.option("--reason", help="why (kept with the undo's own batch)")
@click.pass_context
def undo_cmd(ctx: click.Context, batch: int, dry_run: bool, reason: str | None) -> None:
    """Take back operator batch BATCH: appends compensating movements and puts back the
    links, pauses and releases it changed (nothing is deleted; sales and restocks are
    never undone). Says which listings the service will then push, and how. A batch
    undone once is not undone again."""
    from oneshop.app import utcnow
    from oneshop.ledger.batches import CannotUndo
    from oneshop.undo import run_undo

    try:
        report = run_undo(_config(ctx), batch, dry_run=dry_run, command=_command_line(ctx),
                          reason=reason, now=utcnow())
    except CannotUndo as exc:
        raise click.ClickException(str(exc)) from None
    _emit(report.as_dict(), False, lambda: _render_undo(report.as_dict()))


def _render_undo(d: dict[str, object]) -> None:
    if d["already_undone_by"] is not None:
        click.echo(f"batch {d['batch']} was undone already (batch {d['already_undone_by']}); "
                   "nothing to do")
        return
    head = "would undo" if d["dry_run"] else f"undone as batch {d['undo_batch']}:"
    click.echo(f"{head} batch {d['batch']}")
    for row in d["stock"]:  # type: ignore[attr-defined]
        click.echo(f"  {row['sku']}: {row['delta']:+d}")
    for line in [*d["restored"], *d["kept"]]:  # type: ignore[misc]
        click.echo(f"  {line}")
    channels = d["channels"]
    if channels:
        _table("channels the service will push at their next poll", channels)  # type: ignore[arg-type]
    else:
        click.echo("  no channel will move")
    if d["dry_run"]:
        click.echo("nothing was written")


def register(group: click.Group) -> None:
    for command in (pause, batches_cmd, undo_cmd):
        group.add_command(command)
