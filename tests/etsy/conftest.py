"""Etsy test rig: the sandbox in-process behind a transport that validates every request
and response against Etsy's OpenAPI document, a virtual clock, and a connector.

The validation is an add-on: without the document (`../shared/specs` absent and
`ONESHOP_SPECS_DIR` unset) every behaviour test still runs, unvalidated; only the tests
that are about the document itself (the `openapi_required` fixture) skip."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from oneshop_connectors.etsy import EtsySettings, connector
from oneshop_connectors.etsy.adapter import EtsyConnector
from oneshop_sandboxes.etsy import EtsySandbox
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Response as WerkzeugResponse

from oneshop.protocols import ConnectorContext
from oneshop.testing import MemoryTokenStore, VirtualClock

REPO = Path(__file__).resolve().parents[2]
SPEC_NAME = "etsy-openapi-v3.json"
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def specs_dir() -> Path:
    return Path(os.environ.get("ONESHOP_SPECS_DIR") or REPO.parent / "shared" / "specs")


@pytest.fixture(scope="session")
def openapi() -> Any:
    """Etsy's OpenAPI document, or None when it is absent (behaviour tests still run)."""
    path = specs_dir() / SPEC_NAME
    if not path.exists():
        return None
    from openapi_core import Config, OpenAPI

    document = json.loads(path.read_text())
    _drop_null_defaults(document)
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


def _drop_null_defaults(node: Any) -> None:
    """Etsy's document gives `default: null` to non-nullable parameters (max_created, …),
    which openapi-core would then insert and refuse; such a default means "absent"."""
    if isinstance(node, dict):
        if "default" in node and node["default"] is None and not node.get("nullable"):
            del node["default"]
        for value in node.values():
            _drop_null_defaults(value)
    elif isinstance(node, list):
        for value in node:
            _drop_null_defaults(value)


@pytest.fixture
def openapi_required(openapi: Any) -> Any:
    """For tests about the document itself: they skip without it."""
    if openapi is None:
        pytest.skip(f"{specs_dir() / SPEC_NAME} is absent: set ONESHOP_SPECS_DIR to "
                    "Etsy's OpenAPI document")
    return openapi


class ValidatingTransport(httpx.BaseTransport):
    """Checks each API request and the sandbox's response against the OpenAPI document
    (when there is one: with `openapi` None it only records what was sent)."""

    def __init__(self, inner: httpx.BaseTransport, openapi: Any) -> None:
        self.inner, self.openapi = inner, openapi
        self.checked = 0
        self.problems: list[str] = []
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.sent.append(request)
        response = self.inner.handle_request(request)
        response.read()
        if self.openapi is not None and request.url.path.startswith("/v3/application/"):
            self._validate(request, response)
        return response

    def _validate(self, request: httpx.Request, response: httpx.Response) -> None:
        from openapi_core.contrib.werkzeug import (
            WerkzeugOpenAPIRequest,
            WerkzeugOpenAPIResponse,
        )

        headers = [(k, v) for k, v in request.headers.items() if k.lower() != "host"]
        wreq = EnvironBuilder(
            method=request.method, path=request.url.path,
            query_string=request.url.query.decode(), headers=headers,
            data=request.content, base_url="https://openapi.etsy.com").get_request()
        oreq = WerkzeugOpenAPIRequest(wreq)
        try:
            self.openapi.validate_request(oreq)
        except Exception as exc:
            self.problems.append(f"request {request.method} {request.url}: {exc!r}")
        if b"injected fault" in response.content or response.status_code == 429:
            return  # sandboxkit's injected faults; Etsy's document lists no 429 responses
        wresp = WerkzeugResponse(response.content, status=response.status_code,
                                 headers=list(response.headers.items()))
        try:
            self.openapi.validate_response(oreq, WerkzeugOpenAPIResponse(wresp))
        except Exception as exc:
            self.problems.append(
                f"response {response.status_code} to {request.method} {request.url}: {exc!r}")
        self.checked += 1


class BeforeRequest(httpx.BaseTransport):
    """Runs `action` just before the `nth` request that `match`es reaches the sandbox: a
    fault armed in the middle of a push, a token that expires between two requests."""

    def __init__(self, inner: httpx.BaseTransport, match: Callable[[httpx.Request], bool],
                 action: Callable[[], None], nth: int) -> None:
        self.inner, self.match, self.action, self.left = inner, match, action, nth

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.left > 0 and self.match(request):
            self.left -= 1
            if self.left == 0:
                self.action()
        return self.inner.handle_request(request)


@dataclass
class Rig:
    sandbox: EtsySandbox
    clock: VirtualClock
    store: MemoryTokenStore
    transport: ValidatingTransport
    settings: EtsySettings
    connectors: list[EtsyConnector] = field(default_factory=list)

    def connector(self, **overrides: Any) -> EtsyConnector:
        settings = EtsySettings.model_validate({**self.settings.model_dump(), **overrides})
        ctx = ConnectorContext(account="shop", clock=self.clock, sleep=self.clock.sleep,
                               token_store=self.store, transport=self.transport)
        built = connector.build(settings, ctx)
        assert isinstance(built, EtsyConnector)
        self.connectors.append(built)
        return built

    def before(self, match: Callable[[httpx.Request], bool], action: Callable[[], None],
               *, nth: int = 1) -> None:
        """Run `action` before the `nth` matching API request (behind the validation)."""
        self.transport.inner = BeforeRequest(self.transport.inner, match, action, nth)

    def listings(self, conn: EtsyConnector | None = None) -> dict[str, Any]:
        conn = conn or self.connector()
        return {li.external_id: li for page in conn.fetch_listings() for li in page.listings}


@pytest.fixture(autouse=True)
def _quiet_oauth2_warning() -> None:
    # openapi-core cannot check oauth2 itself (it warns); the sandbox enforces tokens.
    warnings.filterwarnings("ignore", message="Unsupported scheme type")


@pytest.fixture
def rig(openapi: Any) -> Iterator[Rig]:
    clock = VirtualClock(START, record_sleeps=True)
    sandbox = EtsySandbox(seed=3, clock=clock)
    transport = ValidatingTransport(sandbox.transport(), openapi)
    settings = EtsySettings.model_validate(sandbox.connector_settings("http://sandbox"))
    made = Rig(sandbox, clock, MemoryTokenStore(tokens=sandbox.issue_tokens()), transport,
               settings)
    yield made
    for conn in made.connectors:
        conn.close()
    assert not transport.problems, "\n".join(transport.problems)
