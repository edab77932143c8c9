"""Deliveries: the sandbox's bodies match Gumroad's AsyncAPI description; parse_ping is
tolerant of anything."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from oneshop_connectors.gumroad.webhooks import parse_ping

from .conftest import Rig

REPO = Path(__file__).resolve().parents[2]


def specs_dir() -> Path:
    return Path(os.environ.get("ONESHOP_SPECS_DIR", REPO.parent / "shared" / "specs"))


def asyncapi() -> dict[str, Any]:
    path = specs_dir() / "gumroad-webhooks-asyncapi.yml"
    if not path.exists():
        pytest.skip(f"Gumroad AsyncAPI description not found at {path} "
                    "(set ONESHOP_SPECS_DIR to the shared specs folder)")
    yaml = pytest.importorskip("yaml")
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Rails-style form keys ("variants[Size]") back into nested objects."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            out.setdefault(outer, {})[inner] = value
        else:
            out[key] = value
    return out


def typed(payload: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Form values are strings; read them as the schema's declared scalar types."""
    converters = {"integer": int, "boolean": lambda v: {"true": True, "false": False}[v]}
    props = schema["properties"]
    return {k: converters[props[k]["type"]](v) if props.get(k, {}).get("type") in converters
            else v for k, v in payload.items()}


class Capture(httpx.BaseTransport):
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return httpx.Response(200)


@pytest.mark.parametrize("event", ["sale", "refund", "dispute"])
def test_deliveries_validate_against_the_asyncapi_message_schema(rig: Rig, event: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    spec = asyncapi()
    schema = spec["components"]["schemas"]["PingSalePayload"]
    capture = Capture()
    rig.sandbox.deliver_webhooks_to("https://hooks.example.org/g/secret", resources=[event],
                                    transport=capture)
    product = rig.sandbox.add_product("Tee", permalink="TEE")
    variant = rig.sandbox.add_variant(product, "Size", "L", max_purchase_count=3)
    sale = rig.sandbox.sell(variant)
    {"refund": rig.sandbox.refund, "dispute": rig.sandbox.chargeback}.get(
        event, lambda _: None)(sale)
    rig.sandbox.deliveries.flush()
    (request,) = capture.requests
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert not any(h.lower().startswith("x-") and "sign" in h.lower() for h in request.headers)
    payload = unflatten(parse_qsl(request.content.decode(), keep_blank_values=True))
    assert set(payload) <= set(schema["properties"]), set(payload) - set(schema["properties"])
    jsonschema.validate(typed(payload, schema), schema)
    assert payload["sale_id"] == sale and payload["variants"] == {"Size": "L"}
    assert parse_ping(dict(parse_qsl(request.content.decode()))) == sale


def test_api_resource_subscription_receives_only_its_resource(rig: Rig) -> None:
    capture = Capture()
    rig.sandbox.deliveries.subscription_transport = capture
    client = httpx.Client(transport=rig.sandbox.transport(), base_url="https://api.gumroad.com",
                          headers={"Authorization": f"Bearer {rig.sandbox.world.token}"})
    client.put("/v2/resource_subscriptions", data={
        "resource_name": "refund", "post_url": "https://hooks.example.org/r?t=secret"})
    product = rig.sandbox.seed_listing("R", 3)
    sale = rig.sandbox.sell(product)
    rig.sandbox.refund(sale)
    rig.sandbox.deliveries.flush()
    (request,) = capture.requests
    assert str(request.url) == "https://hooks.example.org/r?t=secret"
    form = dict(parse_qsl(request.content.decode()))
    assert (form["sale_id"], form["refunded"]) == (sale, "true")


@given(st.dictionaries(st.text(max_size=20), st.text(max_size=200)))
def test_parse_ping_never_raises(form: dict[str, str]) -> None:
    result = parse_ping(form)
    assert result is None or result == form.get("sale_id", "").strip()


def test_parse_ping_refuses_hostile_ids() -> None:
    assert parse_ping({"sale_id": "B28UKN-dvxYabdavG97Y-Q=="}) == "B28UKN-dvxYabdavG97Y-Q=="
    assert parse_ping({"sale_id": "../../etc/passwd"}) is None
    assert parse_ping({"sale_id": "x" * 500}) is None
    assert parse_ping({"sale_id": "abc\r\nSet-Cookie: x"}) is None
    assert parse_ping({}) is None
    assert parse_ping({"sale_id": 42}) is None  # type: ignore[dict-item]
