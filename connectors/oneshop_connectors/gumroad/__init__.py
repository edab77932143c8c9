"""Gumroad (API v2): the connector factory registered under `oneshop.connectors`."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from pydantic import BaseModel

from oneshop.protocols import ConnectorContext
from oneshop_connectors.gumroad.endpoints import DEFAULT_BASE_URL
from oneshop_connectors.gumroad.settings import GumroadSettings

if TYPE_CHECKING:
    from oneshop_connectors.gumroad.account import GumroadConnector

__all__ = ["GumroadFactory", "GumroadSettings", "connector"]


class GumroadFactory:
    """Builds Gumroad connectors."""

    kind = "gumroad"
    settings_model: type[BaseModel] = GumroadSettings

    def build(self, settings: BaseModel, ctx: ConnectorContext) -> GumroadConnector:
        from oneshop_connectors.gumroad.account import GumroadConnector

        if not isinstance(settings, GumroadSettings):
            settings = GumroadSettings.model_validate(settings.model_dump())
        return GumroadConnector(settings, ctx)

    def store_identity(self, settings: BaseModel) -> str | None:
        """One Gumroad account, known by its access token: shown only as a short hash."""
        if not isinstance(settings, GumroadSettings):
            return None
        digest = hashlib.sha256(settings.access_token.get_secret_value().encode()).hexdigest()
        base = settings.base_url.rstrip("/")
        where = "" if base == DEFAULT_BASE_URL.rstrip("/") else f" at {base}"
        return f"Gumroad account of access token sha256:{digest[:12]}{where}"


connector = GumroadFactory()
