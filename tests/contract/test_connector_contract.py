"""The connector contract (`oneshop.testing.contract`), run for every installed connector.

Parametrized over every connector registered under `oneshop.connectors`, the way a
separately installed connector runs it, so a new channel gets the same scrutiny.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oneshop.plugins import available_connectors
from oneshop.testing.contract import ConnectorContract, Rig, open_rig

KINDS = sorted(available_connectors())


class TestEveryConnector(ConnectorContract):
    @pytest.fixture(params=KINDS)
    def rig(self, request: pytest.FixtureRequest) -> Iterator[Rig]:
        with open_rig(request.param) as made:
            yield made
