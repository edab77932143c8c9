"""The service's commands: run it, ask whether it is healthy, and try it on sandboxes
(`sandbox`, `demo`)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import click

from oneshop import logs
from oneshop.cli_util import _config, _ledger


@click.command("run")
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the service (SIGTERM stops, SIGHUP reloads the config)."""
    from oneshop import app as app_mod
    from oneshop.cli_shop import require_taken_over
    from oneshop.config import load
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


@click.command("health")
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
        with _ledger(cfg) as ledger, ledger.sessions() as s:
            ok, why = reports.health(s, cfg, utcnow())
    except SQLAlchemyError as exc:
        ok, why = False, describe(exc, cfg.database_url)
    click.echo(why)
    raise SystemExit(0 if ok else 1)


@click.command("sandbox")
@click.option("--state-dir", type=click.Path(path_type=Path), default=Path("oneshop-sandbox"),
              show_default=True, help="where the sandbox config and ledger go")
@click.option("--latency-ms", type=float, default=0.0, help="added to every API answer")
def sandbox(state_dir: Path, latency_ms: float) -> None:
    """Serve the three marketplace sandboxes on loopback with a seeded catalog."""
    import signal
    import threading

    from oneshop.testing.sandbox import INSTALL_HINT, available_sandboxes
    from oneshop.testing.shop import KINDS, SandboxShop

    demo_mod = _demo_module("oneshop sandbox")
    if not set(KINDS) <= set(available_sandboxes()):
        raise click.ClickException(INSTALL_HINT)
    shop = SandboxShop(state_dir=state_dir.resolve(), serve_http=True,
                       latency_s=latency_ms / 1000, settings_overrides=demo_mod.FAST_PACING)
    for sku, (title, qty) in demo_mod.CATALOG.items():
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


@click.command("demo")
@click.option("--show-logs", is_flag=True, help="also print the service's own log lines")
def demo(show_logs: bool) -> None:
    """Sandboxes + the service + a sale propagating, narrated (under a minute). Needs the
    sandboxes: pip install 'oneshop[sandbox]'."""
    raise SystemExit(_demo_module("oneshop demo").run_demo(verbose=show_logs))


def _demo_module(command: str) -> ModuleType:
    """`oneshop_sandboxes.demo`, or one line saying how to install it and exit 2: the demo
    and the emulators it runs on ship apart (the `oneshop-sandboxes` distribution), so a
    plain install carries neither."""
    try:
        import oneshop_sandboxes.demo as demo_mod
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != "oneshop_sandboxes":
            raise
        from oneshop.testing.sandbox import INSTALL_HINT

        click.echo(f"{command} runs on the marketplace emulators; {INSTALL_HINT}", err=True)
        raise SystemExit(2) from None
    return demo_mod


def register(group: click.Group) -> None:
    for command in (run, health, sandbox, demo):
        group.add_command(command)
