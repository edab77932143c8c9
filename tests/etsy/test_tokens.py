"""OAuth tokens: rotation under concurrency, 401 replay, revocation, missing tokens."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from oneshop_connectors.etsy import connector

from oneshop.errors import AuthError
from oneshop.protocols import ConnectorContext
from oneshop.testing import MemoryTokenStore
from oneshop.values import StockLevel

from .conftest import Rig


def test_concurrent_connectors_refresh_once_and_all_succeed(rig: Rig) -> None:
    rig.sandbox.seed_listing("ROT-1", 2)
    rig.clock.advance(3600)  # every access token has expired
    old = rig.store.tokens
    conns = [rig.connector() for _ in range(6)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(conns))

    def work(conn: object) -> None:
        barrier.wait()
        try:
            rig.listings(conn)  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # Rotation kills the old refresh token at once: a second refresh would have failed.
    assert rig.store.saves == 1
    assert rig.store.tokens is not None and old is not None
    assert rig.store.tokens.refresh_token != old.refresh_token
    assert rig.store.tokens.expires_at >= old.expires_at + timedelta(seconds=3600)


def test_a_401_refreshes_and_replays_the_same_write(rig: Rig) -> None:
    external_id = rig.sandbox.seed_listing("REPLAY-1", 5)
    conn = rig.connector()
    listing = rig.listings(conn)[external_id]
    # Etsy says expired while our store says fresh, just as the write goes out.
    rig.before(lambda request: request.method == "PUT", rig.sandbox.expire_access_tokens)
    (result,) = conn.push_stock([StockLevel(listing=listing, quantity=2, observed=5,
                                            push_id="p")])
    assert (result.status, result.observed) == ("ok", 2)
    assert rig.sandbox.quantity(external_id) == 2
    puts = [r for r in rig.transport.sent if r.method == "PUT"]
    # PUT (401), refresh, the same PUT again: it went out as a PUT with its body.
    assert len(puts) == 2 and puts[0].content == puts[1].content
    assert puts[0].headers["authorization"] != puts[1].headers["authorization"]
    assert rig.sandbox.writes == 1 and rig.store.saves == 1  # the refused PUT wrote nothing


def test_revoked_tokens_raise_auth_error(rig: Rig) -> None:
    rig.sandbox.seed_listing("REV-1", 1)
    rig.sandbox.revoke_credentials()
    with pytest.raises(AuthError, match="invalid_grant"):
        rig.listings()


def test_no_stored_tokens_tells_the_seller_what_to_run(rig: Rig) -> None:
    ctx = ConnectorContext(account="myshop", clock=rig.clock, sleep=rig.clock.sleep,
                           token_store=MemoryTokenStore(), transport=rig.transport)
    conn = connector.build(rig.settings, ctx)
    with pytest.raises(AuthError, match="oneshop auth etsy --account myshop"):
        list(conn.fetch_listings())


def test_a_wrong_shared_secret_is_an_auth_error_that_names_no_secret(rig: Rig) -> None:
    conn = rig.connector(shared_secret="not-the-secret")
    with pytest.raises(AuthError) as caught:
        rig.listings(conn)
    assert "not-the-secret" not in str(caught.value)
    assert "not-the-secret" not in repr(conn._settings)
    rig.transport.problems.clear()  # the refused request is fine by the document
