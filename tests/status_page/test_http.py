"""The status page over plain HTTP, on a shop with history (SQLite and PostgreSQL): what
a seller must see and in which order, each SKU's history one click away, escaping of
SKUs typed like an attack, basic auth, 404/405, and not one row changed by reading."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import PG_SKIP, PG_URL, _pg_database  # tests/conftest.py: the ledger URLs
from sqlalchemy import MetaData, text
from sqlalchemy.exc import DBAPIError

from oneshop import reports
from oneshop.configfile import StatusPageConfig
from oneshop.ledger import oversell, stock
from oneshop.ledger.db import transaction
from oneshop.ledger.readonly import read_only_engine
from oneshop.listings import link_listing
from oneshop.status_page import server
from oneshop.status_page.html import sku_href
from oneshop.testing import VirtualClock
from oneshop.testing.html_tables import read
from oneshop.testing.shop import SandboxShop

from .shop import HOSTILE, HistoryShop, make_history

AUTH = "seller:correct horse"
Page = tuple[HistoryShop, httpx.Client]  # the shop, and a client of its status page


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def built(state_dir: Path, database_url: str) -> Iterator[HistoryShop]:
    clock = VirtualClock()
    shop = SandboxShop(state_dir=state_dir, clock=clock.now, database_url=database_url)
    shop.prepare_ledger()
    app = shop.build_app(clock=clock.now, sleep=clock.sleep)
    try:
        yield make_history(shop, app, clock)
    finally:
        app.close()
        shop.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def history(request: pytest.FixtureRequest,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[HistoryShop]:
    """One shop per ledger backend for the tests that only read (building it takes a
    few seconds); a test that writes takes `fresh_history`."""
    state = tmp_path_factory.mktemp("history")
    if request.param == "sqlite":
        yield from built(state, f"sqlite:///{state / 'ledger.sqlite3'}")
        return
    if not PG_URL:
        pytest.skip(PG_SKIP)
    for url in _pg_database():
        yield from built(state, url)


@pytest.fixture
def fresh_history(tmp_path: Path, database_url: str) -> Iterator[HistoryShop]:
    yield from built(tmp_path / "state", database_url)


def serve_page(h: HistoryShop, **page: Any) -> server.Running:
    running = server.start(StatusPageConfig(listen=f"127.0.0.1:{free_port()}", **page),
                           lambda: h.app)
    assert running is not None
    return running


@pytest.fixture
def page(history: HistoryShop) -> Iterator[Page]:
    running = serve_page(history)
    # One client: a new one per request costs more than the page (its TLS context).
    with httpx.Client(base_url=running.url) as client:
        yield history, client
    running.close()


def test_oversold_skus_come_first_deepest_first_then_drift_then_pending_links(
        page: Page) -> None:
    h, web = page
    got = web.get("/")
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src" not in got.headers["content-security-policy"]
    assert got.headers["content-security-policy"].startswith("default-src 'none'")
    assert '<meta http-equiv="refresh" content="30">' in got.text
    tables = read(got.text)
    attention = tables.tables["attention"]
    assert [row[:3] for row in attention] == [
        ["oversold", "VASE", "-2"], ["oversold", "RING", "-1"], ["drift", "CARD", "6"],
        ["pending link", f"gumroad listing {h.unlinked}", ""]]
    assert "shopify shows 9, should show 6" in attention[2][3]
    assert "oneshop adjust VASE +2" in attention[0][3]
    channels = {row[0]: row for row in tables.tables["channels"]}
    assert sorted(channels) == ["etsy", "gumroad", "shopify"]
    assert all(row[6] == "running" and row[4] == "0" for row in channels.values())
    assert all(row[3].endswith("ago") for row in channels.values())
    assert channels["etsy"][5].endswith("today")  # Etsy's budget is per day
    assert channels["gumroad"][7] == "warning 1"  # the listing with no SKU
    alerts = tables.tables["alerts"]
    assert sorted((r[0], r[1], r[3]) for r in alerts) == [
        ("critical", "oversell", "RING"), ("critical", "oversell", "VASE"),
        ("warning", "unlinked_listing", "")]
    skus = {row[0]: row for row in tables.tables["skus"]}
    assert sorted(skus) == sorted(["CARD", "MUG", "RING", "VASE", HOSTILE])
    assert skus["MUG"][1] == "6" and skus[HOSTILE][1] == "4"


def test_a_sku_typed_like_an_attack_is_shown_as_text_everywhere(
        page: Page) -> None:
    _, web = page
    body = web.get("/").text
    parsed = read(body)
    assert parsed.scripts == 0 and "<script>" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;&quot;/?#%" in body
    assert sku_href(HOSTILE) in parsed.links
    history = web.get(sku_href(HOSTILE))
    assert history.status_code == 200
    assert "<script>" not in history.text and read(history.text).scripts == 0
    assert f"<h1>{'&lt;script&gt;'}" in history.text


def test_every_sku_link_opens_its_history_newest_first(page: Page) -> None:
    h, web = page
    links = sorted({link for link in read(web.get("/").text).links
                    if link.startswith("/sku/")})
    assert len(links) == 5
    for link in links:
        assert web.get(link).status_code == 200, link
    with h.app.sessions() as s:
        events = reports.history(s, "MUG")
    assert events is not None
    got = read(web.get("/sku/MUG").text).tables["history"]
    assert len(got) == len(events) >= 5
    assert [row[1] for row in got] == [e.kind for e in reversed(events)]
    assert [row[1] for row in got].count("sale") == 4  # etsy 2+1, shopify 1+1
    assert any(row[1] == "restock" for row in got)  # the Shopify cancellation


def test_unknown_pages_are_404_and_writes_405(page: Page) -> None:
    _, web = page
    assert web.get("/sku/NOPE").status_code == 404
    assert web.get("/sku/").status_code == 404
    assert web.get("/admin").status_code == 404
    refused = web.post("/", content=b"x=1")
    assert refused.status_code == 405 and refused.headers["allow"] == "GET, HEAD"
    head = web.head("/")
    assert head.status_code == 200 and head.content == b""


def test_basic_auth_guards_every_page(history: HistoryShop) -> None:
    plain = history.app.config
    history.app.config = replace(plain, status_page_auth=AUTH)
    running = serve_page(history)
    history.app.config = plain  # the page took its credential at start, as at `run`
    try:
        for path in ("/", "/sku/MUG", "/nope"):
            bare = httpx.get(running.url + path)
            assert bare.status_code == 401, path
            assert bare.headers["www-authenticate"].startswith("Basic realm=")
            assert "MUG" not in bare.text
        wrong = httpx.get(running.url + "/", auth=("seller", "wrong"))
        assert wrong.status_code == 401
        token = base64.b64encode(AUTH.encode()).decode()
        assert httpx.get(running.url + "/", headers={
            "Authorization": f"Basic {token}"}).status_code == 200
        assert httpx.get(running.url + "/sku/MUG", auth=("seller", "correct horse")
                         ).status_code == 200
    finally:
        running.close()


def rows(h: HistoryShop) -> dict[str, list[str]]:
    """Every row of every table, in a stable order (what 'unchanged' means)."""
    meta = MetaData()
    meta.reflect(h.app.db)
    with h.app.db.connect() as conn:
        return {name: sorted(map(repr, conn.execute(table.select()).all()))
                for name, table in meta.tables.items()}


def test_reading_every_page_many_times_changes_no_row(page: Page) -> None:
    h, web = page
    before = rows(h)
    links = [link for link in read(web.get("/").text).links if link.startswith("/")]
    for _ in range(5):
        for path in ["/", *links, "/sku/NOPE"]:
            assert web.get(path).status_code in (200, 404)
    assert rows(h) == before


def test_the_page_engine_refuses_writes(history: HistoryShop) -> None:
    engine = read_only_engine(history.app.config.database_url)
    try:
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text("UPDATE skus SET on_hand = on_hand + 1"))
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text("DELETE FROM alerts"))
    finally:
        engine.dispose()
    with history.app.sessions() as s:
        assert stock.on_hand(s, stock.sku_ids(s, ["MUG"])["MUG"]) == 6


def test_the_list_follows_the_ledger_a_found_unit_takes_a_sku_off(
        fresh_history: HistoryShop) -> None:
    h = fresh_history
    running = serve_page(h)
    try:
        attention = read(httpx.get(running.url + "/").text).tables["attention"]
        assert [row[1] for row in attention][:2] == ["VASE", "RING"]
        with transaction(h.app.sessions) as s:
            ring = stock.sku_ids(s, ["RING"])["RING"]
            stock.record_movement(s, sku_id=ring, kind="adjust", delta=1,
                                  source_key="test:found-ring", reason="found one")
            oversell.sweep(s, h.clock.now())
        attention = read(httpx.get(running.url + "/").text).tables["attention"]
        assert [row[:2] for row in attention] == [
            ["oversold", "VASE"], ["drift", "CARD"],
            ["pending link", f"gumroad listing {h.unlinked}"]]
        history = read(httpx.get(running.url + "/sku/RING").text).tables["history"]
        assert [row[2] for row in history if row[1] == "adjust"] == ["+1 (found one)"]
        # The seller links the Gumroad product: it no longer waits for a link.
        link_listing(h.app, "gumroad", h.unlinked, "POSTER", create=True, rebind=False)
        attention = read(httpx.get(running.url + "/").text).tables["attention"]
        assert [row[:2] for row in attention] == [["oversold", "VASE"], ["drift", "CARD"]]
    finally:
        running.close()
