"""The Shopify Admin API emulator (GraphQL 2026-04) used by tests, benchmarks and the demo."""

from __future__ import annotations

from oneshop_sandboxes.shopify.control import ShopifySandbox

__all__ = ["ShopifySandbox"]
