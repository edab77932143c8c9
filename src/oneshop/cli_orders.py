"""`oneshop orders list|export` (the order book, one row per order line) and
`oneshop low-stock` (SKUs at or below their threshold). They only read the ledger."""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from oneshop.cli_util import _config, _emit, _ledger, _table
from oneshop.config import Config
from oneshop.values import OrderStatus

if TYPE_CHECKING:
    from collections.abc import Iterable

    from oneshop.ledger.orderrows import OrderFilter

STATUSES = OrderStatus.__args__  # type: ignore[attr-defined]
LIST_LIMIT = 200


class UtcTime(click.ParamType):  # type: ignore[type-arg,unused-ignore]
    """2026-12-01 (midnight UTC) or 2026-12-01T08:00Z; a time without a zone is UTC."""

    name = "TIME"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            self.fail(f"{value!r} is not a date or time like 2026-12-01 or "
                      "2026-12-01T08:00Z", param, ctx)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _filter(cfg: Config, channel: str | None, sku: str | None, since: datetime | None,
            until: datetime | None, status: tuple[str, ...]) -> OrderFilter:
    from oneshop.ledger.orderrows import OrderFilter

    accounts = None
    if channel is not None:
        accounts = [name for name, acc in cfg.accounts.items()
                    if channel in (name, acc.config.kind)]
        if not accounts:
            raise click.BadParameter(f"no account or channel kind {channel!r} in {cfg.path}",
                                     param_hint="--channel")
    if since is not None and until is not None and until <= since:
        raise click.BadParameter("--until must be after --since", param_hint="--until")
    return OrderFilter(accounts=accounts, sku=sku, since=since, until=until, statuses=status)


def _channels(cfg: Config) -> dict[str, str]:
    return {name: acc.config.kind for name, acc in cfg.accounts.items()}


@click.group("orders")
def orders() -> None:
    """The order book: one row per order line, from the ledger (read only)."""


def _filters(fn: click.decorators.FC) -> click.decorators.FC:
    for option in reversed([
        click.option("--channel", help="an account name or a channel kind (etsy, …)"),
        click.option("--sku", help="lines of this SKU"),
        click.option("--since", type=UtcTime(), help="created at or after (UTC)"),
        click.option("--until", type=UtcTime(), help="created before (UTC)"),
        click.option("--status", multiple=True, type=click.Choice(STATUSES),
                     help="order status (repeat for several)"),
    ]):
        fn = option(fn)
    return fn


@orders.command("list")
@_filters
@click.option("--limit", type=click.IntRange(min=0), default=LIST_LIMIT, show_default=True,
              help="at most this many lines, oldest first (0: all)")
@click.option("--json", "as_json", is_flag=True, help="JSON even on a terminal")
@click.pass_context
def list_orders(ctx: click.Context, channel: str | None, sku: str | None,
                since: datetime | None, until: datetime | None, status: tuple[str, ...],
                limit: int, as_json: bool) -> None:
    """Show order lines oldest first (a table on a terminal, JSON when piped). Changes
    nothing."""
    from oneshop import orderexport
    from oneshop.ledger.orderrows import order_lines

    cfg = _config(ctx)
    where = _filter(cfg, channel, sku, since, until, status)
    with _ledger(cfg) as ledger, ledger.sessions() as s:
        rows = list(orderexport.records(order_lines(s, where, limit or None), _channels(cfg)))
    _emit(rows, as_json, lambda: _table(f"order lines ({len(rows)})", rows))


@orders.command("export")
@_filters
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv",
              show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="write to this file (replaced whole once complete); default: stdout")
@click.pass_context
def export(ctx: click.Context, channel: str | None, sku: str | None, since: datetime | None,
           until: datetime | None, status: tuple[str, ...], fmt: str,
           output: Path | None) -> None:
    """Write order lines created in [--since, --until) as CSV or JSON lines, with the
    header documented in docs/orders.md. Reads the ledger, changes nothing."""
    from oneshop import orderexport
    from oneshop.ledger.orderrows import order_lines

    if since is None or until is None:
        raise click.UsageError("give --since and --until (UTC), e.g. --since 2026-11-01 "
                               "--until 2026-12-01")
    cfg = _config(ctx)
    where = _filter(cfg, channel, sku, since, until, status)
    with _ledger(cfg) as ledger, ledger.sessions() as s:
        rows = orderexport.records(order_lines(s, where), _channels(cfg))
        if output is None:
            count = orderexport.write(sys.stdout, fmt, rows)
        else:
            count = _write_file(output, fmt, rows)
    click.echo(f"{count} order line(s) from {since:%Y-%m-%d %H:%M} to "
               f"{until:%Y-%m-%d %H:%M} UTC" + (f" written to {output}" if output else ""),
               err=True)


def _write_file(path: Path, fmt: str, rows: Iterable[dict[str, str]]) -> int:
    """Into a temporary file beside `path`, renamed over it once complete: an export cut
    short never leaves half a file where a whole one is expected."""
    from oneshop import orderexport

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
            count = orderexport.write(out, fmt, rows)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count


@click.command("low-stock")
@click.option("--json", "as_json", is_flag=True, help="JSON even on a terminal")
@click.pass_context
def low_stock(ctx: click.Context, as_json: bool) -> None:
    """SKUs at or below their low-stock threshold now ([service]/[skus.X] low_stock), with
    what to order. Changes nothing."""
    from oneshop.ledger.lowstock import all_low, rules_from

    cfg = _config(ctx)
    rules = rules_from(cfg.file.service, cfg.file.skus)
    if not rules.active:
        raise click.ClickException(f"no low_stock threshold in {cfg.path} "
                                   "(set low_stock under [service] or [skus.SKU])")
    with _ledger(cfg) as ledger, ledger.sessions() as s:
        rows = [low.as_dict() for low in all_low(s, rules)]
    _emit(rows, as_json, lambda: _table(f"low stock ({len(rows)} SKU(s))", rows))


def register(group: click.Group) -> None:
    for command in (orders, low_stock):
        group.add_command(command)


