"""Any TOML text gives a Config or a ConfigError naming the file, never another exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oneshop.config import Config, load
from oneshop.errors import ConfigError

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

SECTIONS = ["service", "logging", "webhooks", "alerts", "metrics", "skus.MUG", "accounts.shop",
            "accounts.shop.settings", "accounts.shop.secrets", "accounts.etsy",
            "accounts.etsy.secrets", "accounts.gumroad.settings", "bogus"]
KEYS = ["kind", "enabled", "poll_seconds", "reserve", "cap", "hand_edit_policy", "database_url",
        "state_dir", "level", "format", "listen", "access_token", "shared_secret", "shop_id",
        "keystring", "base_url", "env", "file", "webhook_secret", "max_body_bytes", "command"]
scalars = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20),
    st.sampled_from(["etsy", "shopify", "gumroad", "adopt", "json", "sqlite:///x.db",
                     "127.0.0.1:8088", "-1", ""]))
values: st.SearchStrategy[Any] = st.one_of(
    scalars, st.lists(scalars, max_size=3),
    st.fixed_dictionaries({}, optional={"env": st.text(max_size=8), "file": st.text(max_size=8)}))


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, float):
        return repr(value) if "e" in repr(value) or "." in repr(value) else f"{value}.0"
    return json.dumps(value)  # strings and integers are the same in JSON and TOML


documents = st.lists(st.tuples(st.sampled_from(SECTIONS), st.dictionaries(
    st.sampled_from(KEYS), values, max_size=5)), max_size=5).map(
    lambda parts: "\n".join(f"[{name}]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in body.items())
                            for name, body in parts))


def _loads(tmp_path: Path, text: str) -> None:
    path = tmp_path / "oneshop.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        config = load(path, env={"STATE_DIRECTORY": str(tmp_path)})
    except ConfigError as exc:
        assert exc.problems and all(str(path) in p for p in exc.problems)
    else:
        assert isinstance(config, Config)


@FUZZ
@given(documents)
def test_toml_shaped_like_ours_gives_a_config_or_a_config_error(tmp_path: Path,
                                                                text: str) -> None:
    _loads(tmp_path, text)


@FUZZ
@given(st.one_of(st.text(max_size=200), st.binary(max_size=200).map(
    lambda b: b.decode("utf-8", errors="replace"))))
def test_any_text_gives_a_config_or_a_config_error(tmp_path: Path, text: str) -> None:
    _loads(tmp_path, text)
