"""Optional add-ons of `oneshop run`: the alert command and the Prometheus endpoint."""

from __future__ import annotations

from collections.abc import Callable

from oneshop import alertcmd
from oneshop.app import App


def start(current_app: Callable[[], App]) -> Callable[[], None]:
    """Start what the config asks for ([alerts], [metrics]); returns what stops them.

    Both are read at start-up; changing them needs a restart, not a reload.
    """
    file = current_app().config.file
    command = alertcmd.install(file.alerts)
    exporter = None
    if file.metrics is not None:
        from oneshop import metrics  # prometheus-client is needed only with [metrics]

        exporter = metrics.start(file.metrics, current_app)

    def stop() -> None:
        alertcmd.uninstall(command, timeout_s=3.0)
        if exporter is not None:
            exporter.close()

    return stop
