"""End-to-end: the real `oneshop run` process against the three sandboxes on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from oneshop.ledger import models as m
from oneshop.ledger.db import make_engine
from oneshop.testing.shop import SandboxShop

FAST = {"gumroad": {"requests_per_second": 50.0}}


@dataclass
class Service:
    shop: SandboxShop
    config: Path
    env: dict[str, str]
    logs: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    db: Engine | None = None

    def start(self) -> subprocess.Popen[bytes]:
        out = open(self.logs, "ab")  # noqa: SIM115 - owned by the process
        proc = subprocess.Popen([sys.executable, "-m", "oneshop.cli", "--config",
                                 str(self.config), "run"], stdout=out, stderr=out,
                                env=self.env)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
        proc.send_signal(sig)
        return proc.wait(timeout=15)

    def ledger(self) -> Engine:
        if self.db is None:
            self.db = make_engine(self.shop.database_url or "")
        return self.db

    def on_hand(self, sku: str) -> int | None:
        with self.ledger().connect() as conn:
            return conn.execute(select(m.Sku.on_hand).where(m.Sku.sku == sku)).scalar()

    def count(self, model: Any, *where: Any) -> int:
        with self.ledger().connect() as conn:
            return len(conn.execute(select(model.id).where(*where)).all())

    def bound(self) -> int:
        return self.count(m.Binding, m.Binding.sku_id.is_not(None))

    def quantities(self, ids: dict[str, str]) -> dict[str, int | None]:
        return {k: self.shop.sandboxes[k].quantity(v) for k, v in ids.items()}


def make_service(tmp_path: Path, database_url: str | None = None,
                 **account_options: Any) -> Service:
    shop = SandboxShop(state_dir=tmp_path / "state", serve_http=True, settings_overrides=FAST,
                       database_url=database_url,
                       account_options={"reconcile_seconds": 3600, **account_options})
    shop.prepare_ledger(take_over=True)
    config = tmp_path / "oneshop.toml"
    env = {**os.environ, **shop.write_config(config, poll_seconds=1.0)}
    return Service(shop=shop, config=config, env=env, logs=tmp_path / "service.log")


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[Callable[..., Service]]:
    made: list[Service] = []

    def factory(**kw: Any) -> Service:
        svc = make_service(tmp_path, **kw)
        made.append(svc)
        return svc

    yield factory
    for svc in made:
        for proc in svc.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if svc.logs.exists():  # pytest shows this only when the test failed
            print("".join(svc.logs.read_text(errors="replace").splitlines(True)[-60:]))
        if svc.db is not None:
            svc.db.dispose()
        svc.shop.close()
