"""`[status_page]`: loopback needs no password; any other address is refused by `config
check` (naming status_page.basic_auth) unless basic auth is set, and its credential must
be USER:PASSWORD. The credential never reaches the output."""

from __future__ import annotations

from pathlib import Path

import pytest

from oneshop import config as c
from oneshop.status_page.access import authorized, is_loopback

from .conftest import Run
from .test_check import GOOD, check, problems

PAGE_SECRET = "seller:pw-VERY-SECRET-77"


def page(listen: str | None, extra: str = "") -> str:
    return GOOD + "[status_page]\n" + (f'listen = "{listen}"\n' if listen else "") + extra


@pytest.mark.parametrize("listen", ["127.0.0.1:8790", "127.0.0.2:8790", "[::1]:8790",
                                    "localhost:8790"])
def test_a_loopback_page_needs_no_password(run: Run, write: Path, listen: str) -> None:
    code, _out, err = check(run, write, page(listen))
    assert (code, err) == (0, "")
    cfg = c.load(write)
    assert cfg.file.status_page is not None and cfg.status_page_auth is None


def test_the_default_address_is_loopback_port_8790(write: Path) -> None:
    write.write_text(page(None))
    cfg = c.load(write)
    assert cfg.file.status_page is not None
    assert cfg.file.status_page.listen == "127.0.0.1:8790"
    assert cfg.file.status_page.refresh_s == 30


@pytest.mark.parametrize("listen", ["0.0.0.0:8790", "[::]:8790", "192.168.1.20:8790",
                                    "shop.example.lan:8790"])
def test_a_page_others_can_reach_is_refused_without_basic_auth(run: Run, write: Path,
                                                               listen: str) -> None:
    code, out, err = check(run, write, page(listen))
    assert (code, out) == (2, "")
    (line,) = problems(err)
    assert line.startswith(f"{write}: status_page.basic_auth: required when "
                           "status_page.listen"), line
    assert "not a loopback address" in line


def test_basic_auth_makes_any_address_acceptable(run: Run, write: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_PAGE_AUTH", PAGE_SECRET)
    text = page("0.0.0.0:8790", 'basic_auth = { env = "T_PAGE_AUTH" }\n')
    code, out, err = check(run, write, text)
    assert (code, err) == (0, "")
    assert PAGE_SECRET not in out
    cfg = c.load(write)
    assert cfg.status_page_auth == PAGE_SECRET
    assert PAGE_SECRET in cfg.secrets and "pw-VERY-SECRET-77" in cfg.secrets  # redacted


def test_basic_auth_from_a_credential_file(write: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "status_page_auth").write_text(PAGE_SECRET + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    write.write_text(page("0.0.0.0:8790", 'basic_auth = { credential = "status_page_auth" }\n'))
    assert c.load(write).status_page_auth == PAGE_SECRET


@pytest.mark.parametrize(("value", "why"), [
    (None, "environment variable T_PAGE_AUTH is not set"),
    ("no-colon-VERY-SECRET", "the credential must hold USER:PASSWORD"),
    (":VERY-SECRET", "the credential must hold USER:PASSWORD"),
    ("seller:", "the credential must hold USER:PASSWORD"),
])
def test_a_missing_or_malformed_credential_names_the_key(
        run: Run, write: Path, monkeypatch: pytest.MonkeyPatch, value: str | None,
        why: str) -> None:
    if value is not None:
        monkeypatch.setenv("T_PAGE_AUTH", value)
    code, out, err = check(run, write, page("127.0.0.1:8790",
                                            'basic_auth = { env = "T_PAGE_AUTH" }\n'))
    assert (code, out) == (2, "")
    (line,) = problems(err)
    assert line.startswith(f"{write}: status_page.basic_auth: {why}"), line
    assert "VERY-SECRET" not in err


@pytest.mark.parametrize(("extra", "line"), [
    ("refresh_s = 1\n", "status_page.refresh_s: Input should be greater than or equal to 5"),
    ("colour = 1\n", "status_page.colour: unknown key"),
    ('basic_auth = "seller:pw"\n', "status_page.basic_auth: Input should be"),
])
def test_other_mistakes_name_their_key(run: Run, write: Path, extra: str, line: str) -> None:
    code, _out, err = check(run, write, page("127.0.0.1:8790", extra))
    assert code == 2
    assert any(p.startswith(f"{write}: {line}") for p in problems(err)), err


def test_a_bad_listen_address_names_the_key(run: Run, write: Path) -> None:
    code, _out, err = check(run, write, page("8790"))
    assert code == 2
    assert f"{write}: status_page.listen: must be host:port" in err


def test_loopback_and_auth_rules() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("::") and not is_loopback("10.0.0.1")
    assert not is_loopback("localhost.evil.example")
    import base64

    good = "Basic " + base64.b64encode(b"seller:pw").decode()
    assert authorized(good, "seller:pw")
    assert not authorized(good, "seller:pw2")
    assert not authorized(None, "seller:pw")
    assert not authorized("Bearer " + base64.b64encode(b"seller:pw").decode(), "seller:pw")
    assert not authorized("Basic !!!not-base64", "seller:pw")
