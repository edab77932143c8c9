"""What the CLI's commands share: the config, the ledger, and table-or-JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from oneshop import logs
from oneshop.config import Config, load

if TYPE_CHECKING:
    from oneshop.app import Ledger


def _config(ctx: click.Context) -> Config:
    cfg: Config = ctx.obj["config"] if "config" in ctx.obj else load(ctx.obj["path"])
    ctx.obj["config"] = cfg
    logs.REDACTOR.add(cfg.secrets)
    return cfg


def _emit(rows: Any, as_json: bool, render: Callable[[], None]) -> None:
    if as_json or not sys.stdout.isatty():
        click.echo(json.dumps(rows, indent=None if not sys.stdout.isatty() else 2, default=str))
    else:
        render()


def _ledger(cfg: Config) -> Ledger:
    """The ledger alone (no connectors, no lock), for commands that only read or write it."""
    from oneshop.app import open_ledger

    return open_ledger(cfg.database_url)


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
    Console().print(table)


def _command_line(ctx: click.Context) -> str:
    """The command as a person typed it (`oneshop adjust MUG -2 --reason …`), rebuilt from
    what click parsed, for the operator batch it records (ledger.batches)."""
    import shlex

    names: list[str] = []
    at = ctx
    while at.parent is not None:  # the root's name is how Python was started: not it
        names.insert(0, at.info_name or "")
        at = at.parent
    words = ["oneshop", *names]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if isinstance(param, click.Argument):
            words += [str(v) for v in value] if isinstance(value, tuple) else (
                [] if value is None else [str(value)])
        elif value is True and param.opts:
            words.append(param.opts[0])
        elif value not in (None, False, param.default) and param.opts:
            words += [param.opts[0], str(value)]
    return shlex.join(words)
