"""The optional Prometheus endpoint (`[metrics] listen = "127.0.0.1:9464"`).

A custom collector reads the ledger (account state, pushes, alerts) and each connector's
`budget()` at scrape time, so the engine keeps no metrics of its own; alert lines that
are not stored (auth_failed, rejected_record, …) are counted through `logs.ALERT_HOOKS`.
The registry holds no default collectors: those read /proc/stat, which the systemd unit
hides (ProcSubset=pid); RSS comes from /proc/self/statm instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from oneshop.app import App
from oneshop.config import MetricsConfig
from oneshop.ledger import account_state, views
from oneshop.logs import ALERT_HOOKS

log = structlog.get_logger("oneshop.metrics")
PREFIX = "oneshop"


def parse_listen(listen: str) -> tuple[str, int]:
    """'127.0.0.1:9464' or '[::1]:9464' -> (host, port)."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


def rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=labels or [])


class LedgerCollector(Collector):
    """Per-account figures from the ledger and the live connectors, read at scrape time."""

    def __init__(self, current_app: Callable[[], App]) -> None:
        self.current_app = current_app

    def collect(self) -> Iterator[Metric]:
        app = self.current_app()
        yield from self._accounts(app)
        yield from self._budgets(app)
        yield from self._ledger_counts(app)
        rss = rss_bytes()
        if rss is not None:
            g = _gauge("process_resident_memory_bytes", "Resident set size of the process.")
            g.add_metric([], rss)
            yield g

    def _accounts(self, app: App) -> Iterator[Metric]:
        last = _gauge("last_success_timestamp_seconds",
                      "Unix time of the account's last successful order poll.", ["account"])
        lag = _gauge("poll_lag_seconds", "Seconds since the last successful order poll.",
                     ["account"])
        fails = _gauge("consecutive_failures", "Failed jobs in a row (0 when healthy).",
                       ["account"])
        paused = _gauge("account_paused", "1 when the account is paused (credentials).",
                        ["account"])
        now = app.clock()
        with app.sessions() as s:
            states = account_state.every_health(s)
        for name in app.config.accounts:
            state = states.get(name)
            if state is not None and state.last_success_at is not None:
                last.add_metric([name], state.last_success_at.timestamp())
                lag.add_metric([name], max(0.0, (now - state.last_success_at).total_seconds()))
            fails.add_metric([name], state.consecutive_failures if state else 0)
            paused.add_metric([name], 1 if state and state.paused else 0)
        yield from (last, lag, fails, paused)

    def _budgets(self, app: App) -> Iterator[Metric]:
        requests = CounterMetricFamily(f"{PREFIX}_api_requests", "API requests sent.",
                                       labels=["account"])
        waits = CounterMetricFamily(f"{PREFIX}_throttle_wait_seconds",
                                    "Seconds spent waiting on rate limits.", labels=["account"])
        left = _gauge("api_budget_remaining", "API budget left, as the channel reports it.",
                      ["account"])
        limit = _gauge("api_budget_limit", "The channel's API budget.", ["account"])
        for name, connector in app.accounts.connectors.items():
            budget = connector.budget()
            requests.add_metric([name], budget.requests)
            waits.add_metric([name], budget.throttle_wait_s)
            if budget.remaining is not None:
                left.add_metric([name], budget.remaining)
            if budget.limit is not None:
                limit.add_metric([name], budget.limit)
        yield from (requests, waits, left, limit)

    def _ledger_counts(self, app: App) -> Iterator[Metric]:
        pushes = CounterMetricFamily(f"{PREFIX}_pushes", "Stock pushes by outcome.",
                                     labels=["account", "status"])
        alerts = CounterMetricFamily(f"{PREFIX}_alerts_stored",
                                     "Alerts stored in the ledger, by event.", labels=["event"])
        oversells = CounterMetricFamily(f"{PREFIX}_oversells",
                                        "Oversell episodes recorded in the ledger.")
        with app.sessions() as s:
            for account, status, n in views.push_counts(s):
                pushes.add_metric([account, status], n)
            counts = views.alert_counts(s)
        for event, n in sorted(counts.items()):
            alerts.add_metric([event], n)
        oversells.add_metric([], counts.get("oversell", 0))
        yield from (pushes, alerts, oversells)


@dataclass(slots=True)
class Exporter:
    server: Any
    thread: threading.Thread
    hook: Callable[[dict[str, Any]], None]
    address: tuple[str, int]

    def close(self) -> None:
        if self.hook in ALERT_HOOKS:
            ALERT_HOOKS.remove(self.hook)
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start(config: MetricsConfig | None, current_app: Callable[[], App]) -> Exporter | None:
    """Serve /metrics on the configured address (None when not configured)."""
    if config is None:
        return None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(current_app))
    lines = Counter(f"{PREFIX}_alert_lines", "Alert lines logged by this process, by event.",
                    ["event", "severity"], registry=registry)

    def count(record: dict[str, Any]) -> None:
        lines.labels(str(record.get("event")), str(record.get("severity"))).inc()

    host, port = parse_listen(config.listen)
    server, thread = start_http_server(port, addr=host, registry=registry)
    ALERT_HOOKS.append(count)
    bound = server.server_address
    log.info("metrics.listening", host=host, port=bound[1])
    return Exporter(server=server, thread=thread, hook=count, address=(host, int(bound[1])))
