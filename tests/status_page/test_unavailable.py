"""A ledger the page cannot read gives a 503 page naming the database (password masked)
and why, not a traceback; the service goes on."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.test import Client

from oneshop.ledger.readonly import read_only_engine, read_only_sessions
from oneshop.status_page.server import StatusPage

PASSWORD = "pw-VERY-SECRET-31"


@pytest.mark.parametrize("url", [
    "sqlite:///{tmp}/no-such-dir/oneshop.sqlite3",
    f"postgresql+psycopg://oneshop:{PASSWORD}@127.0.0.1:1/ledger",  # nothing listens there
])
def test_an_unreadable_ledger_is_a_503_that_says_why(tmp_path: Path, url: str) -> None:
    url = url.format(tmp=tmp_path)
    engine = read_only_engine(url)
    try:
        page = StatusPage(sessions=read_only_sessions(engine), current_app=lambda: pytest.fail(),
                          refresh_s=30, credential=None, database_url=url)
        answer = Client(page).get("/sku/MUG")
    finally:
        engine.dispose()
    body = answer.get_data(as_text=True)
    assert answer.status_code == 503
    assert "Ledger unavailable" in body and "unavailable:" in body
    assert PASSWORD not in body and "Traceback" not in body
    assert "***" in body or "sqlite" in body
