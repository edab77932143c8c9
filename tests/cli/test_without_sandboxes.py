"""`oneshop demo` and `oneshop sandbox` on an install without the `oneshop-sandboxes`
distribution: one line that says how to get it, a non-zero exit, no traceback.

The missing distribution is made missing for real in a fresh interpreter: `None` in
`sys.modules` makes every import of `oneshop_sandboxes` fail as an absent package does,
and its entry points then fail to load, as they would not be listed at all.
(`tests/deploy/test_docker.py` runs the same on a venv that has only the base wheel.)"""

from __future__ import annotations

import subprocess
import sys

import pytest

HIDE = "import sys; sys.modules['oneshop_sandboxes'] = None; from oneshop.cli import main; main()"


def oneshop_without_sandboxes(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", HIDE, *args], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("command", ["demo", "sandbox"])
def test_it_says_in_one_line_how_to_install_the_sandboxes(command: str) -> None:
    done = oneshop_without_sandboxes(command)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        f"oneshop {command} runs on the marketplace emulators; the sandboxes are not "
        "installed: pip install 'oneshop[sandbox]' (from a checkout: make install)"]

