"""Optional add-ons of `oneshop run`: the alert command, Apprise notifications, the
Prometheus endpoint and the status page."""

from __future__ import annotations

from collections.abc import Callable

from oneshop import alertcmd, alertnotify
from oneshop.app import App
from oneshop.status_page import server as status_server


def start(current_app: Callable[[], App]) -> Callable[[], None]:
    """Start what the config asks for ([alerts] command and notify, [metrics],
    [status_page]); returns what stops them.

    All are read at start-up; changing them needs a restart, not a reload.
    """
    config = current_app().config
    file = config.file
    command = alertcmd.install(file.alerts)
    notifier = alertnotify.install(config.notify_urls, file.alerts.min_severity) \
        if file.alerts is not None else None
    exporter = None
    if file.metrics is not None:
        from oneshop import metrics  # prometheus-client is needed only with [metrics]

        exporter = metrics.start(file.metrics, current_app)
    page = _status_page(current_app)

    def stop() -> None:
        alertcmd.uninstall(command, timeout_s=3.0)
        alertnotify.uninstall(notifier, timeout_s=3.0)
        if exporter is not None:
            exporter.close()
        if page is not None:
            page.close()

    return stop


def _status_page(current_app: Callable[[], App]) -> status_server.Running | None:
    """The status page, when `[status_page]` is configured."""
    return status_server.start(current_app().config.file.status_page, current_app)
