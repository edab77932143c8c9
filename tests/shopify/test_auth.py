"""Auth: the static token, the client-credentials grant and its re-minting, revocation."""

from __future__ import annotations

import pydantic
import pytest
from oneshop_connectors.shopify import ShopifySettings
from oneshop_connectors.shopify.auth import ClientCredentials

from oneshop.errors import AuthError
from oneshop.testing import VirtualClock

from .conftest import make_rig


def cc_rig(clock: VirtualClock, sandbox):  # type: ignore[no-untyped-def]
    extra = sandbox.client_credentials_settings("http://sandbox")
    return make_rig(clock, sandbox, access_token=None, **extra)


def test_client_credentials_mint_once_and_reuse_the_token(clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.seed_listing("A", 1)
    rig = cc_rig(clock, sandbox)
    rig.listings()
    rig.listings()
    assert sandbox.tokens_minted == 1
    assert rig.store.tokens is not None and rig.store.tokens.access_token in sandbox.minted


def test_the_token_is_re_minted_before_expires_in_runs_out(clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.token_lifetime_s = 3600
    sandbox.seed_listing("A", 1)
    rig = cc_rig(clock, sandbox)
    rig.listings()
    clock.advance(seconds=3600 - 120)  # still valid for 2 minutes: inside the margin
    rig.listings()
    assert sandbox.tokens_minted == 2


def test_a_token_rejected_mid_life_is_renewed_once(clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.seed_listing("A", 1)
    rig = cc_rig(clock, sandbox)
    rig.listings()
    sandbox.minted.clear()  # e.g. the app's tokens were rotated on Shopify's side
    assert len(rig.listings()) == 1
    assert sandbox.tokens_minted == 2


def test_revoked_client_credentials_raise_auth_error(clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    sandbox.seed_listing("A", 1)
    rig = cc_rig(clock, sandbox)
    rig.listings()
    sandbox.revoke_credentials()
    with pytest.raises(AuthError):
        rig.listings()


def test_wrong_client_secret_is_an_auth_error_without_the_secret_in_it(clock, sandbox) -> None:  # type: ignore[no-untyped-def]
    rig = make_rig(clock, sandbox, access_token=None, client_id=sandbox.client_id,
                   client_secret="shpss_wrong-secret")
    with pytest.raises(AuthError) as caught:
        rig.listings()
    assert "wrong-secret" not in str(caught.value)
    assert isinstance(rig.connector.auth, ClientCredentials)
    assert "wrong-secret" not in repr(rig.connector.auth) + repr(rig.connector)


@pytest.mark.parametrize("fields", [
    {},
    {"access_token": "shpat_x", "client_id": "id", "client_secret": "s"},
    {"client_id": "id"},
    {"client_secret": "s"},
])
def test_settings_require_exactly_one_auth_method(fields: dict[str, str]) -> None:
    with pytest.raises(pydantic.ValidationError):
        ShopifySettings.model_validate({"shop": "my-shop", **fields})


def test_settings_complete_the_shop_and_hide_secrets() -> None:
    settings = ShopifySettings.model_validate({"shop": "My-Shop", "access_token": "shpat_s3"})
    assert settings.shop == "my-shop.myshopify.com"
    assert settings.api_version == "2026-04"
    assert "shpat_s3" not in repr(settings) + str(settings.model_dump())
    with pytest.raises(pydantic.ValidationError):
        ShopifySettings.model_validate({"shop": "x", "access_token": "t", "page_size": 251})
    with pytest.raises(pydantic.ValidationError):
        ShopifySettings.model_validate({"shop": "x", "access_token": "t", "surprise": 1})


def test_every_setting_is_documented() -> None:
    for name, info in ShopifySettings.model_fields.items():
        assert info.description, name


def test_api_versions_before_2026_04_are_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        ShopifySettings.model_validate({"shop": "x", "access_token": "t",
                                        "api_version": "2025-10"})
    assert ShopifySettings.model_validate({"shop": "x", "access_token": "t",
                                           "api_version": "2026-07"}).api_version == "2026-07"
