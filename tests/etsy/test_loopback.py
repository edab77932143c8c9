"""On a real loopback port: the PKCE flow end to end, the control surface, webhooks."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from oneshop_connectors.etsy import EtsySettings, auth, connector, webhooks
from oneshop_sandboxes.etsy import EtsySandbox

from oneshop.errors import AuthError
from oneshop.protocols import ConnectorContext
from oneshop.testing import MemoryTokenStore, sandboxkit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served() -> Iterator[tuple[EtsySandbox, sandboxkit.Served]]:
    sandbox = EtsySandbox(seed=5)
    running = sandboxkit.serve(sandbox.wsgi_app)
    yield sandbox, running
    running.close()


def real_ctx(store: MemoryTokenStore) -> ConnectorContext:
    return ConnectorContext(account="loop", clock=lambda: datetime.now(UTC), sleep=time.sleep,
                            token_store=store)


def test_pkce_flow_end_to_end_then_the_connector_works(
        served: tuple[EtsySandbox, sandboxkit.Served]) -> None:
    sandbox, running = served
    redirect = f"http://127.0.0.1:{free_port()}/callback"
    settings = EtsySettings.model_validate(
        {**sandbox.connector_settings(running.url), "redirect_uri": redirect})
    verifier, challenge = auth.new_pkce()
    url = auth.authorize_url(settings, "st-123", challenge)
    assert url.startswith(f"{running.url}/oauth/connect?") and "S256" in url
    codes: list[str] = []
    listener = threading.Thread(target=lambda: codes.append(
        auth.wait_for_redirect(redirect, "st-123", timeout_s=10)))
    listener.start()
    time.sleep(0.2)
    page = httpx.get(url, follow_redirects=True, timeout=10)  # the seller clicks "Allow"
    listener.join(timeout=10)
    assert page.status_code == 200 and codes
    store = MemoryTokenStore()
    ctx = real_ctx(store)
    with pytest.raises(AuthError):
        auth.exchange_code(settings, ctx, codes[0], "a-different-verifier-" + "x" * 30)
    external_id = sandbox.seed_listing("LOOP-1", 3)
    # The code died with the failed attempt (single use): run the flow again.
    page = httpx.get(url, follow_redirects=False, timeout=10)
    code = auth.code_from_redirect(page.headers["location"], "st-123")
    store.save(auth.exchange_code(settings, ctx, code, verifier))
    conn = connector.build(settings, ctx)
    try:
        found = {li.external_id for p in conn.fetch_listings() for li in p.listings}
    finally:
        conn.close()
    assert external_id in found


def test_a_redirect_with_the_wrong_state_is_refused() -> None:
    with pytest.raises(AuthError, match="state"):
        auth.code_from_redirect("http://127.0.0.1/cb?code=abc&state=evil", "good")


def test_control_surface_over_http(served: tuple[EtsySandbox, sandboxkit.Served]) -> None:
    sandbox, running = served
    with httpx.Client(base_url=running.url, timeout=10) as client:
        external_id = client.post("/_sandbox/listings",
                                  json={"sku": "CTL-1", "quantity": 4}).json()["external_id"]
        ids = client.post("/_sandbox/etsy/variant_listing", json={
            "title": "Cap", "variants": [["CAP-S", "S", 1], [None, "L", 2]]}).json()
        order_id = client.post("/_sandbox/sell", json={"external_id": external_id}).json()
        client.post("/_sandbox/etsy/listing_state",
                    json={"external_id": external_id, "state": "inactive"})
        seen = client.get("/_sandbox/etsy/listing", params={"external_id": external_id}).json()
        stats = client.get("/_sandbox/stats").json()
        missing = client.post("/_sandbox/sell", json={"external_id": "1:nope"})
    assert len(ids["external_ids"]) == 2 and "order_id" in order_id
    assert seen == {"quantity": 3, "state": "inactive", "is_enabled": True}
    assert stats == {"requests": 0, "writes": 0}  # control calls are not API requests
    assert missing.status_code == 404
    assert sandbox.requests == 0


def test_sales_are_delivered_as_signed_webhooks(
        served: tuple[EtsySandbox, sandboxkit.Served]) -> None:
    sandbox, _ = served
    received: list[tuple[dict[str, str], bytes]] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        secret = sandbox.deliver_webhooks_to(f"http://127.0.0.1:{server.server_port}/etsy")
        order_id = sandbox.sell(sandbox.seed_listing("HOOK-1", 2))
        sandbox.deliver_webhooks_to("http://127.0.0.1:9/unreachable")
        sandbox.sell(sandbox.seed_listing("HOOK-2", 2))  # an unreachable hook is swallowed
    finally:
        server.shutdown()
        server.server_close()
    headers, body = received[0]
    event = webhooks.verify(secret, headers, body, now_s=time.time())
    assert event is not None and event.event_type == "order.paid"
    assert event.resource_url.endswith(f"/receipts/{order_id}")
    assert webhooks.verify(secret, headers, body + b" ", now_s=time.time()) is None
    assert webhooks.verify(secret, headers, body, now_s=time.time() + 3600) is None
