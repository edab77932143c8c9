"""The Prometheus endpoint: `oneshop run` with [metrics], scraped over HTTP."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError

from oneshop.config import MetricsConfig
from oneshop.metrics import parse_listen
from oneshop.testing.shop import SandboxShop

from .conftest import Running, wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str,
          **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_listen_addresses_parse_and_bad_ones_are_refused() -> None:
    assert parse_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert parse_listen("[::1]:9464") == ("::1", 9464)
    for bad in ("9464", "localhost", "host:port", "a b:1"):
        with pytest.raises(ValidationError):
            MetricsConfig(listen=bad)


def test_service_serves_per_account_metrics(shop: SandboxShop,
                                            start_service: Callable[..., Running]) -> None:
    ids = shop.seed("MUG", 5)
    for _ in range(2):
        shop.sandboxes["etsy"].seed_listing("TWICE", 1)  # a duplicate_sku alert
    port = free_port()
    service = start_service(extra=f'\n[metrics]\nlisten = "127.0.0.1:{port}"\n',
                            poll_seconds=1)
    url = f"http://127.0.0.1:{port}/metrics"

    def polled_everywhere() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
        try:
            samples = scrape(url)
        except httpx.HTTPError:
            return None
        done = all(value(samples, "oneshop_last_success_timestamp_seconds", account=k)
                   for k in shop.kinds)
        return samples if done else None

    samples = wait_until(polled_everywhere, 20, "a successful poll of every account")
    for kind in shop.kinds:
        assert (value(samples, "oneshop_api_requests_total", account=kind) or 0) > 0
        lag = value(samples, "oneshop_poll_lag_seconds", account=kind)
        assert lag is not None and 0 <= lag < 30
        assert value(samples, "oneshop_consecutive_failures", account=kind) == 0
        assert value(samples, "oneshop_account_paused", account=kind) == 0
        assert value(samples, "oneshop_throttle_wait_seconds_total", account=kind) is not None
    for kind in ("etsy", "shopify"):  # the channels that publish a budget
        left = value(samples, "oneshop_api_budget_remaining", account=kind)
        limit = value(samples, "oneshop_api_budget_limit", account=kind)
        assert left is not None and limit is not None and 0 < left <= limit
    assert value(samples, "oneshop_alerts_stored_total", event="duplicate_sku") == 1
    assert value(samples, "oneshop_alert_lines_total", event="duplicate_sku",
                 severity="warning") == 1
    assert value(samples, "oneshop_oversells_total") == 0
    assert (value(samples, "oneshop_process_resident_memory_bytes") or 0) > 10_000_000

    # A sale on Shopify is pushed to the two other channels: the push counters move.
    shop.sandboxes["shopify"].sell(ids["shopify"], 1)

    def pushed() -> bool:
        samples = scrape(url)
        return all((value(samples, "oneshop_pushes_total", account=k, status="ok") or 0) >= 1
                   for k in ("etsy", "gumroad"))

    wait_until(pushed, 20, "pushes to etsy and gumroad")
    assert service.stop() == 0
