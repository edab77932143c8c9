"""The systemd unit: verify, offline security score, and the sd_notify conversation."""

from __future__ import annotations

import itertools
import re
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ONESHOP, REPO, Running
from .test_secret_names import EXAMPLE, credentials

UNIT = REPO / "deploy" / "oneshop.service"
ALERT_UNIT = REPO / "deploy" / "oneshop-alert@.service"
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")
MAX_EXPOSURE = 2.0


def installed_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart* pointed at this venv's oneshop, so verify can check it."""
    text = UNIT.read_text().replace("/opt/oneshop/bin/oneshop", str(ONESHOP))
    unit = tmp_path / "oneshop.service"
    unit.write_text(text)
    shutil.copy(ALERT_UNIT, tmp_path / ALERT_UNIT.name)
    return unit


def unit_settings(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_unit_has_the_settings_the_issue_requires() -> None:
    s = unit_settings(UNIT)
    assert s["Type"] == ["notify"] and s["Restart"] == ["on-failure"]
    assert s["DynamicUser"] == ["yes"] and s["StateDirectory"] == ["oneshop"]
    assert s["ConfigurationDirectory"] == ["oneshop"] and s["UMask"] == ["0077"]
    assert any("db upgrade" in v for v in s["ExecStartPre"])
    assert "-HUP" in s["ExecReload"][0]
    assert s["ProtectSystem"] == ["strict"] and s["CapabilityBoundingSet"] == [""]
    assert "@system-service" in s["SystemCallFilter"]
    assert s["OnFailure"] == ["oneshop-alert@%n.service"]
    creds = {v.split(":", 1)[0] for v in s["LoadCredential"]}
    # One credential per secret, with the names the example config uses.
    assert creds == set(credentials(EXAMPLE))


@needs_analyze
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    unit = installed_copy(tmp_path)
    done = subprocess.run([str(ANALYZE), "verify", str(unit), str(tmp_path / ALERT_UNIT.name)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


@needs_analyze
def test_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    """verify is meaningful here: an ExecStart that does not exist fails it."""
    unit = tmp_path / "oneshop.service"
    unit.write_text(UNIT.read_text().replace("/opt/oneshop/bin/oneshop", "/nonexistent/oneshop"))
    shutil.copy(ALERT_UNIT, tmp_path / ALERT_UNIT.name)
    done = subprocess.run([str(ANALYZE), "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0 and "/nonexistent/oneshop" in done.stderr


@needs_analyze
def test_security_exposure_is_at_most_two(tmp_path: Path) -> None:
    unit = installed_copy(tmp_path)
    done = subprocess.run([str(ANALYZE), "security", "--offline=yes", str(unit)],
                          capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for oneshop\.service: (\d+\.\d+)", done.stdout)
    assert found, done.stdout[-2000:] + done.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, done.stdout


def test_sd_notify_ready_watchdog_stopping(start_service: Callable[..., Running]) -> None:
    name = f"oneshop-test-{uuid.uuid4().hex[:12]}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(0.2)
        # WatchdogSec=1 s: the service must ping every 0.5 s.
        service = start_service(env={"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "1000000"})
        got: list[tuple[float, str]] = []

        def receive_until(done: Callable[[], bool], timeout_s: float) -> None:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and not done():
                try:
                    got.append((time.monotonic(), sock.recv(4096).decode()))
                except TimeoutError:
                    continue

        def pings() -> list[float]:
            return [t for t, msg in got if msg == "WATCHDOG=1"]

        receive_until(lambda: any(m == "READY=1" for _, m in got), 15)
        assert any(m == "READY=1" for _, m in got), service.stderr.read_text()[-2000:]
        ready_at = next(t for t, m in got if m == "READY=1")
        receive_until(lambda: len([t for t in pings() if t > ready_at]) >= 6, 10)
        after = [t for t in pings() if t > ready_at]
        assert len(after) >= 6
        gaps = sorted(b - a for a, b in itertools.pairwise(after))
        assert 0.3 <= gaps[len(gaps) // 2] <= 0.8, gaps  # the cadence is WatchdogSec/2
        assert max(gaps) < 1.0, gaps  # never long enough for systemd to kill it
        stop_sent = time.monotonic()
        service.proc.send_signal(15)
        receive_until(lambda: any(m == "STOPPING=1" for _, m in got), 5)
        assert any(m == "STOPPING=1" for _, m in got)
        assert service.proc.wait(10) == 0
        assert time.monotonic() - stop_sent < 10
        assert service.events("service.stopped")
