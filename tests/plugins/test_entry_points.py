"""A connector from another distribution works through the `oneshop.connectors` group,
with or without a sandbox (registered apart, under `oneshop.sandboxes`)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from oneshop import config as c
from oneshop.errors import ConfigError
from oneshop.plugins import GROUP, SANDBOX_GROUP, available_connectors
from oneshop.testing import SandboxMissing, available_sandboxes, sandbox_for

FAKE = '''
from pydantic import BaseModel, ConfigDict


class FakeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    shop: str


class FakeFactory:
    kind = "fake"
    settings_model = FakeSettings

    def build(self, settings, ctx):
        raise NotImplementedError


connector = FakeFactory()


class FakeSandbox:
    def __init__(self, *, seed=0, latency_s=0.0, clock=None):
        self.seed = seed
'''
# A sandbox whose dependencies (the extra) are not installed.
NEEDS_EXTRA = "import oneshop_fake_extra_dependency\n"


@pytest.fixture
def fake_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A package plus its dist-info on sys.path: what `pip install` of it would leave."""
    (tmp_path / "oneshop_fake_conn").mkdir()
    (tmp_path / "oneshop_fake_conn" / "__init__.py").write_text(FAKE)
    info = tmp_path / "oneshop_fake_conn-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: oneshop-fake-conn\n"
                                   "Version: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(f"""\
        [{GROUP}]
        fake = oneshop_fake_conn:connector

        [{SANDBOX_GROUP}]
        fake = oneshop_fake_conn:FakeSandbox
        other = oneshop_fake_conn.needs_extra:Sandbox
        """))
    (tmp_path / "oneshop_fake_conn" / "needs_extra.py").write_text(NEEDS_EXTRA)
    monkeypatch.syspath_prepend(str(tmp_path))
    available_connectors.cache_clear()
    available_sandboxes.cache_clear()
    yield tmp_path
    monkeypatch.undo()
    available_connectors.cache_clear()
    available_sandboxes.cache_clear()


def write(tmp_path: Path, kind: str, settings: str) -> Path:
    path = tmp_path / "oneshop.toml"
    path.write_text(f'[accounts.a]\nkind = "{kind}"\n[accounts.a.settings]\n{settings}\n')
    return path


def test_an_installed_connector_is_found_and_its_settings_are_checked(
        fake_distribution: Path) -> None:
    assert "fake" in available_connectors()
    assert {"etsy", "shopify", "gumroad"} <= set(available_connectors())
    cfg = c.load(write(fake_distribution, "fake", 'shop = "corner"'), env={})
    assert cfg.accounts["a"].config.kind == "fake"
    assert cfg.accounts["a"].settings.model_dump() == {"shop": "corner"}
    with pytest.raises(ConfigError) as bad:
        c.load(write(fake_distribution, "fake", "colour = 1"), env={})
    assert [p.split(": ", 1)[1] for p in bad.value.problems] == [
        "accounts.a.settings.shop: Field required", "accounts.a.settings.colour: unknown key"]


def test_an_unknown_kind_is_refused_listing_the_installed_ones(
        fake_distribution: Path) -> None:
    with pytest.raises(ConfigError) as bad:
        c.load(write(fake_distribution, "woo", ""), env={})
    (problem,) = bad.value.problems
    assert problem.endswith("accounts.a.kind: unknown connector 'woo' "
                            f"(installed: {', '.join(sorted(available_connectors()))})")
    assert "fake" in problem


def test_without_the_distribution_the_kind_is_unknown(tmp_path: Path) -> None:
    available_connectors.cache_clear()
    assert "fake" not in available_connectors()
    with pytest.raises(ConfigError, match="unknown connector 'fake'"):
        c.load(write(tmp_path, "fake", 'shop = "corner"'), env={})


def test_a_sandbox_is_found_apart_and_one_missing_its_extra_is_left_out(
        fake_distribution: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert {"etsy", "shopify", "gumroad", "fake"} <= set(available_sandboxes())
    assert "other" not in available_sandboxes()
    assert getattr(sandbox_for("fake", seed=4), "seed", None) == 4
    with pytest.raises(SandboxMissing, match=r"pip install 'oneshop\[sandbox\]'"):
        sandbox_for("other")
    assert "error" not in capsys.readouterr().out
