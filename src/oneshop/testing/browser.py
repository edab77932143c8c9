"""Headless Chromium (Debian's `chromium` package) for tests of server-rendered pages (the
status page): the DOM it built and a screenshot, as a seller's browser would show them.

Chromium runs with what this machine needs: no sandbox (tests run as root in CI), no
GPU, and none of its background connections (the network is closed here; they would
only fail and slow it down). `ONESHOP_CHROMIUM` names another binary."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio")
ABSENT = ("headless Chromium is not installed (Debian: apt-get install chromium; "
          ".ci/run installs it when it runs as root): the browser test is skipped")


def find() -> str | None:
    given = os.environ.get("ONESHOP_CHROMIUM")
    if given:
        return shutil.which(given) or (given if Path(given).is_file() else None)
    return next((path for name in NAMES if (path := shutil.which(name))), None)


def _run(binary: str, *args: str, timeout_s: float = 90.0) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="oneshop-chromium-") as profile:
        return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout_s, check=False)


def dump_dom(binary: str, url: str) -> str:
    """The DOM after Chromium loaded `url` (what it rendered, not the bytes sent)."""
    done = _run(binary, "--dump-dom", url)
    assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout


def screenshot(binary: str, url: str, path: Path, size: tuple[int, int]) -> tuple[int, int]:
    """Save a PNG of `url` at `size`; returns its (width, height) read from the file."""
    done = _run(binary, f"--screenshot={path}", f"--window-size={size[0]},{size[1]}", url)
    assert done.returncode == 0 and path.is_file(), done.stderr[-2000:]
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)
