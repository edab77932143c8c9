"""The `oneshop` command line. Errors are one clear line and a non-zero exit."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import structlog

from oneshop import logs
from oneshop.cli_util import _config, _emit, _sessions, _table
from oneshop.config import Config, load
from oneshop.errors import ConfigError, OneshopError

F = TypeVar("F", bound=Callable[..., Any])
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
    from oneshop.ledger.db import make_engine
    from oneshop.ledger.schema import upgrade

    cfg = _config(ctx)
    engine = make_engine(cfg.database_url)
    before, after = upgrade(engine)
    click.echo(f"ledger schema: {before or 'empty'} -> {after} ({_safe_url(cfg.database_url)})")


@cli.command("run")
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the service (SIGTERM stops, SIGHUP reloads the config)."""
    from oneshop import app as app_mod
    from oneshop.cli_shop import require_taken_over
    from oneshop.daemon import serve

    path = ctx.obj["path"]
    require_taken_over(_config(ctx))

    def factory() -> app_mod.App:
        cfg = load(path)
        logs.REDACTOR.add(cfg.secrets)
        return app_mod.build(cfg)

    code = serve(factory)
    if code:
        # The ledger is dead: jobs may still wait on it (a lock, a hung connection) and
        # would hold the exit for as long. Leave now, so the supervisor restarts us.
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


@cli.command("history")
@click.argument("sku")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def history(ctx: click.Context, sku: str, as_json: bool) -> None:
    """The SKU's timeline: sales, restocks, edits, pushes and alerts."""
    from oneshop import reports

    cfg = _config(ctx)
    with _sessions(cfg)() as s:
        events = reports.history(s, sku)
    if events is None:
        raise click.ClickException(f"unknown SKU {sku!r}")
    rows = [e.as_dict() for e in events]
    _emit(rows, as_json, lambda: _table(f"history of {sku}", rows))


@cli.command("adjust", context_settings={"ignore_unknown_options": True})
@click.argument("sku")
@click.argument("delta")
@click.option("--reason", required=True, help="why (kept in the history)")
@click.pass_context
def adjust(ctx: click.Context, sku: str, delta: str, reason: str) -> None:
    """Correct a SKU's stock by ±N units (pushed by the service at its next poll)."""
    from oneshop.app import utcnow
    from oneshop.ledger import store
    from oneshop.ledger.db import transaction

    try:
        change = int(delta)
    except ValueError:
        raise click.BadParameter(f"{delta!r} is not a whole number like +3 or -2") from None
    cfg = _config(ctx)
    with transaction(_sessions(cfg)) as s:
        ids = store.sku_ids(s, [sku])
        if sku not in ids:
            raise click.ClickException(f"unknown SKU {sku!r}")
        store.record_movement(s, sku_id=ids[sku], kind="adjust", delta=change,
                              source_key=f"adjust:{utcnow().isoformat()}:{uuid.uuid4()}",
                              reason=reason)
        now_on_hand = store.on_hand(s, ids[sku])
    click.echo(f"{sku}: {change:+d} ({reason}); on hand now {now_on_hand}")


@cli.command("auth")
@click.argument("kind")
@click.option("--account", required=True, help="the account's name in the config")
@click.option("--paste", is_flag=True,
              help="paste the redirected URL instead of listening on the redirect URI")
@click.option("--timeout", "timeout_s", type=float, default=300, show_default=True)
@click.pass_context
def auth(ctx: click.Context, kind: str, account: str, paste: bool, timeout_s: float) -> None:
    """Authorise oneshop on a marketplace that needs a person to say yes (Etsy: PKCE)."""
    import time

    from oneshop.app import LedgerTokenStore, utcnow
    from oneshop.protocols import ConnectorContext, InteractiveAuth
    from oneshop.accountstate import resume

    cfg = _config(ctx)
    acc = cfg.accounts.get(account)
    if acc is None or acc.config.kind != kind:
        raise click.ClickException(f"no {kind} account named {account!r} in {cfg.path}")
    if not isinstance(acc.factory, InteractiveAuth):
        raise click.ClickException(f"{kind} needs no interactive authorisation")
    sessions = _sessions(cfg)
    store = LedgerTokenStore(sessions, account, cfg.state_dir)
    context = ConnectorContext(account=account, clock=utcnow, sleep=time.sleep,
                               token_store=store)
    tokens = acc.factory.authorize(
        acc.settings, context, timeout_s=timeout_s,
        show=lambda url: click.echo(f"Open this address, sign in and allow access:\n{url}",
                                    err=False),
        pasted=(lambda: click.prompt("Paste the address you were sent to")) if paste else None)
    with store.lock():
        store.save(tokens)
    resume(sessions, account)
    click.echo(f"{account}: authorised; tokens stored in the ledger (valid until "
               f"{tokens.expires_at:%H:%M} UTC, refreshed automatically)")


@cli.command("health")
@click.pass_context
def health(ctx: click.Context) -> None:
    """Exit 0 when every account was polled recently, 1 otherwise (for HEALTHCHECK)."""
    from sqlalchemy.exc import SQLAlchemyError

    from oneshop import reports
    from oneshop.app import utcnow
    from oneshop.ledgerwatch import describe, ledger_problem

    cfg = _config(ctx)
    # The service's word first: a ledger that cannot be written may still answer reads.
    problem = ledger_problem(cfg.state_dir)
    if problem is not None:
        click.echo(problem)
        raise SystemExit(1)
    try:
        with _sessions(cfg)() as s:
            ok, why = reports.health(s, cfg, utcnow())
    except SQLAlchemyError as exc:
        ok, why = False, describe(exc, cfg.database_url)
    click.echo(why)
    raise SystemExit(0 if ok else 1)


@cli.command("sandbox")
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path("oneshop-sandbox"),
              show_default=True, help="where the sandbox config and ledger go")
@click.option("--latency-ms", type=float, default=0.0, help="added to every API answer")
def sandbox(state_dir: Path, latency_ms: float) -> None:
    """Serve the three marketplace sandboxes on loopback with a seeded catalog."""
    import signal
    import threading

    from oneshop.demo import CATALOG, FAST_PACING
    from oneshop.sandboxshop import SandboxShop

    shop = SandboxShop(state_dir=state_dir.resolve(), serve_http=True,
                       latency_s=latency_ms / 1000, settings_overrides=FAST_PACING)
    for sku, (title, qty) in CATALOG.items():
        shop.seed(sku, qty, title=title)
    shop.prepare_ledger()
    config = state_dir.resolve() / "oneshop.toml"
    env = shop.write_config(config, poll_seconds=10)
    for kind, served in shop.served.items():
        click.echo(f"{kind:8} {served.url}  (control: {served.url}/_sandbox/stats)")
    click.echo(f"\nconfig for these sandboxes: {config}\nsecrets it reads:")
    for name, value in env.items():
        click.echo(f"  export {name}={value}")
    click.echo(f"then: oneshop --config {config} run        (Ctrl-C here stops the sandboxes)")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        shop.close()


@cli.command("demo")
@click.option("--show-logs", is_flag=True, help="also print the service's own log lines")
def demo(show_logs: bool) -> None:
    """Sandboxes + the service + a sale propagating, narrated (under a minute)."""
    from oneshop.demo import run_demo

    raise SystemExit(run_demo(verbose=show_logs))


@cli.command("resume")
@click.argument("account")
@click.pass_context
def resume(ctx: click.Context, account: str) -> None:
    """Un-pause an account after fixing its credentials (a running service polls it
    again at its next turn)."""
    from oneshop.accountstate import resume

    cfg = _config(ctx)
    if account not in cfg.accounts:
        raise click.ClickException(f"no account named {account!r} in {cfg.path}")
    resume(_sessions(cfg), account)
    click.echo(f"{account}: resumed; the service polls it at its next turn")


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


from oneshop import cli_shop  # noqa: E402  (its commands join the group above)

cli_shop.register(cli)

if __name__ == "__main__":
    main()
