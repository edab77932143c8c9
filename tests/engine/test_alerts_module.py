"""oneshop.alerts itself: a line only after its transaction commits, nothing if it rolls
back, and the same text stored and logged."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from oneshop import alerts
from oneshop.ledger import models as m
from oneshop.ledger.db import make_engine, transaction
from oneshop.ledger.schema import upgrade

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


def raise_it(s: Session, now: datetime = T0) -> bool:
    return alerts.raise_alert(s, "push_failed", "error", "stock could not be pushed", now=now,
                              account="etsy", subject="L1", fields={"listing": "L1"})


def test_the_line_is_written_after_the_commit_and_matches_the_stored_alert(
        factory: sessionmaker[Session]) -> None:
    with capture_logs() as logs:
        with transaction(factory) as s:
            assert raise_it(s)
            assert logs == [], "logged before the transaction committed"
        (line,) = logs
    with factory() as s:
        (row,) = s.scalars(select(m.Alert))
    assert (line["event"], line["message"], line["listing"]) == \
        (row.event, row.message, row.fields["listing"])
    assert line["episode"] == "started" and line["account"] == row.account == "etsy"


def test_a_rolled_back_transaction_tells_nobody(factory: sessionmaker[Session]) -> None:
    with capture_logs() as logs:
        with pytest.raises(RuntimeError), transaction(factory) as s:
            assert raise_it(s)
            raise RuntimeError("the page failed")
        with transaction(factory) as s:  # the same session factory, a later transaction
            pass
    assert logs == []
    with factory() as s:
        assert list(s.scalars(select(m.Alert))) == []


def test_an_episode_is_reminded_at_the_interval_and_can_start_again_after_it_ends(
        factory: sessionmaker[Session]) -> None:
    with capture_logs() as logs:
        for minutes in range(0, 13 * 60, 10):
            with transaction(factory) as s:
                raise_it(s, T0 + timedelta(minutes=minutes))
        with transaction(factory) as s:
            assert alerts.resolve(s, "push_failed", now=T0 + timedelta(hours=13),
                                  account="etsy", subject="L1")
            assert not alerts.resolve(s, "push_failed", now=T0 + timedelta(hours=13),
                                      account="etsy", subject="L1")
        with transaction(factory) as s:
            assert raise_it(s, T0 + timedelta(hours=14))
    assert [x["episode"] for x in logs] == ["started", "reminder", "reminder", "resolved",
                                            "started"]
    with factory() as s:
        assert len(list(s.scalars(select(m.Alert)))) == 2
