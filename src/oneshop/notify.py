"""systemd's sd_notify protocol: one datagram to $NOTIFY_SOCKET (no library needed)."""

from __future__ import annotations

import os
import socket


class Notifier:
    def __init__(self, address: str | None) -> None:
        self.address = address

    @classmethod
    def from_env(cls) -> Notifier:
        return cls(os.environ.get("NOTIFY_SOCKET") or None)

    def send(self, state: str) -> None:
        if not self.address:
            return
        addr = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect(addr)
                sock.sendall(state.encode())
            except OSError:
                pass  # systemd gone: nothing to tell


def watchdog_interval_s(default: float = 10.0) -> float:
    """Half of systemd's WatchdogSec, as sd_watchdog_enabled() advises."""
    usec = os.environ.get("WATCHDOG_USEC")
    if usec and usec.isdigit() and int(usec) > 0:
        return int(usec) / 2_000_000
    return default
