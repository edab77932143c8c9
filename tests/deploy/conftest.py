"""A whole shop on loopback sandboxes and `oneshop run` as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from oneshop.testing.shop import SandboxShop

REPO = Path(__file__).resolve().parents[2]
ONESHOP = Path(sys.executable).parent / "oneshop"


def wait_until(check: Callable[[], Any], timeout_s: float = 15.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what or check}")


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    config: Path
    env: dict[str, str] = field(default_factory=dict)

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.stdout.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line.get("event") == name]

    def stop(self, timeout_s: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout_s)


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[SandboxShop]:
    sandboxes = SandboxShop(state_dir=tmp_path / "state", serve_http=True)
    sandboxes.prepare_ledger(take_over=True)
    yield sandboxes
    sandboxes.close()


@pytest.fixture
def start_service(shop: SandboxShop, tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start `oneshop run` against the shop; `extra` is appended to the TOML config."""
    started: list[Running] = []

    def start(extra: str = "", env: dict[str, str] | None = None,
              poll_seconds: float = 2.0) -> Running:
        config = tmp_path / "oneshop.toml"
        secrets = shop.write_config(config, poll_seconds=poll_seconds, extra=extra)
        full = {**os.environ, **secrets, **(env or {})}
        if "NOTIFY_SOCKET" not in (env or {}):
            full.pop("NOTIFY_SOCKET", None)  # never talk to a real systemd from a test
        out, err = tmp_path / "stdout.jsonl", tmp_path / "stderr.txt"
        with out.open("wb") as o, err.open("wb") as e:
            proc = subprocess.Popen([str(ONESHOP), "--config", str(config), "run"],
                                    stdout=o, stderr=e, env=full)
        running = Running(proc=proc, stdout=out, stderr=err, config=config, env=full)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait(5)
