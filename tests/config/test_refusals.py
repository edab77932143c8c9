"""`config check` refuses everything `run` would trip on: one line naming the file and the
key, exit 2; and `run` refuses the same in the same words. What runs but not as meant is a
`warning:` line with exit 0."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .conftest import Run
from .test_check import GOOD, check, problems

ETSY = """
[accounts.{name}]
kind = "etsy"
enabled = {enabled}
[accounts.{name}.settings]
shop_id = {shop_id}
keystring = "ks-public"
[accounts.{name}.secrets]
shared_secret = {{ env = "T_GUM_TOKEN" }}
"""
SHOPIFY = """
[accounts.{name}]
kind = "shopify"
[accounts.{name}.settings]
shop = "{shop}"
{extra}
[accounts.{name}.secrets]
access_token = {{ env = "{var}" }}
"""


def one_problem(run: Run, path: Path, text: str) -> str:
    code, out, err = check(run, path, text)
    assert (code, out) == (2, ""), err
    assert len(problems(err)) == 1, err
    return problems(err)[0]


def said(line: str, path: Path, key: str) -> str:
    """What the line says about `key` (the file name may hold any word: not searched)."""
    assert line.startswith(f"{path}: {key}: "), line
    return line.removeprefix(f"{path}: {key}: ")


def with_account_line(line: str) -> str:
    return GOOD.replace('kind = "gumroad"', f'kind = "gumroad"\n{line}')


@pytest.mark.parametrize(("text", "key", "why"), [
    (with_account_line("poll_seconds = inf"), "accounts.gum.poll_seconds", "finite"),
    (with_account_line("poll_seconds = -inf"), "accounts.gum.poll_seconds", "finite"),
    (with_account_line("poll_seconds = nan"), "accounts.gum.poll_seconds", "finite"),
    (with_account_line("poll_seconds = 1e300"), "accounts.gum.poll_seconds", "less than"),
    (with_account_line("reconcile_seconds = 1e12"), "accounts.gum.reconcile_seconds",
     "less than"),
    (with_account_line("stale_after_polls = 9223372036854775807"),
     "accounts.gum.stale_after_polls", "less than"),
    (with_account_line("cap = 9223372036854775807"), "accounts.gum.cap", "less than"),
    (GOOD + "[accounts.gum.settings]\nrequests_per_second = nan\n",
     "accounts.gum.settings.requests_per_second", "finite"),
    (GOOD + "[alerts]\ncommand = ['true']\nmin_interval_s = inf\n", "alerts.min_interval_s",
     "finite"),
    (GOOD + "[skus.MUG]\nreserve = 4294967296\n", "skus.MUG.reserve", "less than"),
])
def test_infinite_nan_and_absurd_numbers_are_refused(
        run: Run, write: Path, text: str, key: str, why: str) -> None:
    assert why in said(one_problem(run, write, text), write, key)


@pytest.mark.parametrize(("table", "listen", "why"), [
    ("webhooks", "notahost", "must be host:port"),
    ("webhooks", "127.0.0.1:0", "between 1 and 65535"),
    ("metrics", "127.0.0.1:99999", "between 1 and 65535"),
    ("webhooks", "notahost.invalid:8780", "cannot listen on host 'notahost.invalid'"),
    ("metrics", "notahost.invalid:9464", "cannot listen on host 'notahost.invalid'"),
])
def test_a_listen_address_run_cannot_bind_is_refused(
        run: Run, write: Path, table: str, listen: str, why: str) -> None:
    line = one_problem(run, write, f'{GOOD}[{table}]\nlisten = "{listen}"\n')
    assert why in said(line, write, f"{table}.listen")


def test_an_ipv6_webhook_address_loses_its_brackets_for_the_receiver(
        run: Run, write: Path) -> None:
    from oneshop.config import WebhooksConfig

    assert WebhooksConfig(listen="[::1]:8780").listen == "::1:8780"
    assert check(run, write, f'{GOOD}[webhooks]\nlisten = "[::1]:8780"\n')[0] == 0


@pytest.mark.parametrize("text", ["", "\n# only a comment\n", "[service]\n"])
def test_a_config_without_accounts_is_refused(run: Run, write: Path, text: str) -> None:
    line = one_problem(run, write, text)
    assert line.startswith(f"{write}: accounts: no account configured"), line


def test_dev_null_is_refused(run: Run) -> None:
    code, out, err = run("--config", "/dev/null", "config", "check")
    assert (code, out) == (2, "")
    assert problems(err) == ["/dev/null: accounts: no account configured; add an "
                             "[accounts.NAME] table (see config/oneshop.example.toml)"]


@pytest.mark.parametrize("content", ["", "\n", "  \n\t\n"])
def test_an_empty_credential_file_is_refused(
        run: Run, write: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        content: str) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "gum_token").write_text(content)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    text = GOOD.replace('{ env = "T_GUM_TOKEN" }', '{ credential = "gum_token" }')
    line = one_problem(run, write, text)
    assert line == (f"{write}: accounts.gum.secrets.access_token: credential file "
                    f"{creds / 'gum_token'} is empty")


def test_an_empty_environment_variable_is_refused(
        run: Run, write: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_BLANK", " \n")
    line = one_problem(run, write, GOOD.replace("T_GUM_TOKEN", "T_BLANK"))
    assert line == f"{write}: accounts.gum.secrets.access_token: environment variable " \
                   "T_BLANK is empty"


@pytest.mark.parametrize("key", ["access_token", "api_token", "client_secret", "password",
                                 "db_password", "api_key", "Signing_Key", "webhook_secret"])
def test_a_secret_written_under_settings_is_refused(run: Run, write: Path, key: str) -> None:
    inline = "inline-VERY-SECRET-777"
    line = one_problem(run, write, f'{GOOD}[accounts.gum.settings]\n{key} = "{inline}"\n')
    assert line == (f"{write}: accounts.gum.settings.{key}: a secret is never written in the "
                    "file; put it under [accounts.gum.secrets] as "
                    '{ env = "…" } or { credential = "…" }')
    assert inline not in line


def test_a_secret_setting_written_inline_is_refused_once_not_also_as_missing(
        run: Run, write: Path) -> None:
    """Gumroad's required access_token, given inline only: one line, the inline one."""
    text = '[accounts.gum]\nkind = "gumroad"\n[accounts.gum.settings]\naccess_token = "x"\n'
    assert "accounts.gum.settings.access_token: a secret" in one_problem(run, write, text)


def test_the_built_in_connectors_secrets_and_only_those_are_named_like_secrets() -> None:
    """A connector setting named like a secret could never be written under settings."""
    from pydantic import SecretStr

    from oneshop.configrules import looks_secret
    from oneshop.plugins import available_connectors

    for kind in ("etsy", "shopify", "gumroad"):
        fields = available_connectors()[kind].settings_model.model_fields
        secret = {n for n, f in fields.items() if SecretStr in (f.annotation,
                                                                 *getattr(f.annotation,
                                                                          "__args__", ()))}
        assert secret and {n for n in fields if looks_secret(n)} == secret, kind


def test_etsy_keystring_is_not_taken_for_a_secret(run: Run, write: Path) -> None:
    text = ETSY.format(name="etsy", enabled="true", shop_id=42)
    code, _, err = check(run, write, text)
    assert (code, err) == (0, ""), err


@pytest.mark.parametrize(("url", "why"), [
    ("not a url", "not a database URL"),
    ("", "not a database URL"),
    ("foo://x/y", "unsupported database 'foo'"),
    ("mysql://u@h/db", "unsupported database 'mysql'"),
    ("postgresql+nosuch://u@h/db", "unknown database driver 'postgresql+nosuch'"),
    ("sqlite+pysqlcipher:///x.db", "the driver of 'sqlite+pysqlcipher' is not installed"),
    ("sqlite://", "in-memory SQLite ledger"),
])
def test_a_database_url_run_cannot_open_is_refused(
        run: Run, write: Path, url: str, why: str) -> None:
    line = said(one_problem(run, write, f'[service]\ndatabase_url = "{url}"\n{GOOD}'), write,
                "service.database_url")
    assert why in line and "sqlalche.me" not in line and "Error" not in line


def test_a_malformed_database_url_is_never_echoed(run: Run, write: Path) -> None:
    """It may hold a password in clear."""
    line = one_problem(run, write, '[service]\ndatabase_url = "postgres ql://u:pw-SECRET@h"\n'
                       + GOOD)
    assert "pw-SECRET" not in line


def test_a_utf8_bom_at_the_start_is_accepted(run: Run, write: Path) -> None:
    write.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    code, out, err = check(run, write)
    assert (code, err) == (0, "") and "ok: 1 account(s)" in out


def test_run_refuses_what_check_refuses_in_the_same_words(run: Run, write: Path) -> None:
    write.write_text(with_account_line("poll_seconds = inf"))
    checked = run("--config", str(write), "config", "check")
    ran = run("--config", str(write), "run")
    assert ran == checked and ran[0] == 2


# -- warnings ---------------------------------------------------------------------------

def test_an_alert_program_not_on_path_is_a_warning(
        run: Run, write: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    code, out, err = check(run, write, GOOD + '[alerts]\ncommand = ["ntfy", "publish", "x"]\n')
    assert code == 0 and "ok: 1 account(s)" in out
    assert problems(err) == [f"warning: {write}: alerts.command: program 'ntfy' not found on "
                             "PATH; every alert would fail to run it (alerts are still logged)"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ntfy").write_text("#!/bin/sh\n")
    (bin_dir / "ntfy").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert check(run, write)[::2] == (0, "")


def test_an_alert_program_path_that_is_not_executable_is_a_warning(
        run: Run, write: Path, tmp_path: Path) -> None:
    script = tmp_path / "notify.sh"
    script.write_text("#!/bin/sh\n")
    code, _, err = check(run, write, f'{GOOD}[alerts]\ncommand = ["{script}"]\n')
    assert code == 0
    assert problems(err) == [f"warning: {write}: alerts.command: program '{script}' is not an "
                             "executable file; every alert would fail to run it (alerts are "
                             "still logged)"]
    script.chmod(0o755)
    assert check(run, write)[::2] == (0, "")
    assert os.access(script, os.X_OK)
