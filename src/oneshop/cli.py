"""The `oneshop` command line: the group, `config check`, `db upgrade`, and `main`,
which turns every expected error into one clear line and a non-zero exit. The other
commands live by job: cli_service (run, health, sandbox, demo), cli_stock (history,
adjust, auth, resume), cli_shop (takeover and catalog)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
import structlog

from oneshop import logs
from oneshop.cli_util import _config
from oneshop.config import Config
from oneshop.errors import ConfigError, OneshopError

log = structlog.get_logger("oneshop.cli")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", type=click.Path(path_type=Path),
              envvar="ONESHOP_CONFIG", default="/etc/oneshop/oneshop.toml", show_default=True,
              help="the config file ($ONESHOP_CONFIG)")
@click.option("-v", "--verbose", is_flag=True, help="debug logging")
@click.pass_context
def cli(ctx: click.Context, config_path: Path, verbose: bool) -> None:
    """oneshop: run Etsy, Shopify and Gumroad as one shop."""
    ctx.ensure_object(dict)
    ctx.obj["path"] = config_path
    service = ctx.invoked_subcommand in ("run", "demo", "sandbox")
    logs.configure(level="debug" if verbose else "info" if service else "warning",
                   stream=sys.stdout if service else sys.stderr)


@cli.group("config")
def config_group() -> None:
    """Check the config file."""


@config_group.command("check")
@click.pass_context
def config_check(ctx: click.Context) -> None:
    """Validate the config and what it names on this machine; exit 2 with one line per
    problem, exit 0 with `warning:` lines for what runs but not as meant."""
    from oneshop.checks import check

    cfg = _config(ctx)
    found = check(cfg)
    if found.problems:
        raise ConfigError(found.problems)
    kinds = ", ".join(f"{n} ({a.config.kind})" for n, a in cfg.accounts.items()) or "none"
    click.echo(f"{cfg.path}: ok: {len(cfg.accounts)} account(s): {kinds}; "
               f"database {_safe_url(cfg.database_url)}")
    for warning in found.warnings:
        click.echo(f"warning: {warning}", err=True)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.group("db")
def db_group() -> None:
    """The ledger database."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending migrations."""
    from oneshop.app import open_ledger

    cfg = _config(ctx)
    with open_ledger(cfg.database_url, check_schema=False) as ledger:
        before, after = ledger.upgrade()
    click.echo(f"ledger schema: {before or 'empty'} -> {after} ({_safe_url(cfg.database_url)})")


def main() -> None:
    """Entry point: turn expected errors into one line and an exit code."""
    from sqlalchemy.exc import SQLAlchemyError

    state: dict[str, Any] = {}  # the group's ctx.obj: the config, once a command loaded it
    try:
        cli.main(standalone_mode=False, obj=state)
    except ConfigError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(2) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.exceptions.Abort:
        raise SystemExit(130) from None
    except OneshopError as exc:
        click.echo(f"error: {logs.REDACTOR.scrub(str(exc))}", err=True)
        raise SystemExit(1) from None
    except SQLAlchemyError as exc:
        from oneshop.ledger.db import describe_error

        log.debug("cli.database_failed", exc_info=True)
        cfg = state.get("config")
        line = describe_error(exc, cfg.database_url if isinstance(cfg, Config) else None)
        click.echo(f"error: {logs.REDACTOR.scrub(line)}", err=True)
        raise SystemExit(1) from None
    except SystemExit:
        raise
    except Exception as exc:
        log.debug("cli.crashed", exc_info=True)
        click.echo(f"error: {type(exc).__name__}: {logs.REDACTOR.scrub(str(exc))} "
                   "(run with -v for details)", err=True)
        raise SystemExit(1) from None


from oneshop import cli_orders, cli_service, cli_shop, cli_stock  # noqa: E402  (they join)

for _commands in (cli_service, cli_stock, cli_shop, cli_orders):
    _commands.register(cli)

from oneshop import cli_operate  # noqa: E402  (pause, batches, undo)

cli_operate.register(cli)

from oneshop import cli_listings  # noqa: E402  (ignore, unignore)

cli_listings.register(cli)

if __name__ == "__main__":
    main()
