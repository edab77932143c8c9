"""`oneshop config check`: exit 0 and one summary line, or exit 2 and one line per
problem naming the file, the key path and what is wrong; never a secret value."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import SECRET, Run

GOOD = """
[accounts.gum]
kind = "gumroad"
[accounts.gum.secrets]
access_token = { env = "T_GUM_TOKEN" }
"""


def check(run: Run, path: Path, text: str | None = None) -> tuple[int, str, str]:
    if text is not None:
        path.write_text(text)
    code, out, err = run("--config", str(path), "config", "check")
    assert SECRET not in out + err
    assert "Traceback" not in out + err
    return code, out, err


def problems(err: str) -> list[str]:
    return err.strip().splitlines()


def test_a_valid_file_gives_exit_0_and_one_summary_line(run: Run, write: Path) -> None:
    code, out, err = check(run, write, GOOD)
    assert (code, err) == (0, "")
    assert out == f"{write}: ok: 1 account(s): gum (gumroad); database " \
                  f"{out.split('database ', 1)[1]}"
    assert out.count("\n") == 1


@pytest.mark.parametrize(("text", "line"), [
    (GOOD + "[service]\ndatabase = 'x'\n", "service.database: unknown key"),
    ("colour = 'blue'\n" + GOOD, "colour: unknown key"),
    (GOOD + "[accounts.gum.settings]\nspeed = 3\n", "accounts.gum.settings.speed: unknown key"),
    (GOOD.replace('kind = "gumroad"', 'kind = "gumroad"\npoll_seconds = "often"'),
     "accounts.gum.poll_seconds: Input should be a valid number"),
    (GOOD + "[accounts.gum.settings]\nrestock_refunds = 'maybe'\n",
     "accounts.gum.settings.restock_refunds: Input should be a valid boolean"),
    (GOOD.replace("T_GUM_TOKEN", "T_UNSET_VAR"),
     "accounts.gum.secrets.access_token: environment variable T_UNSET_VAR is not set"),
    (GOOD.replace('{ env = "T_GUM_TOKEN" }', '{ credential = "gum_token" }'),
     "accounts.gum.secrets.access_token: credential 'gum_token' not found in /run/secrets"),
    (GOOD.replace('"gumroad"', '"woocommerce"'),
     "accounts.gum.kind: unknown connector 'woocommerce' (installed: "),
])
def test_each_problem_is_one_line_with_file_key_and_reason(
        run: Run, write: Path, text: str, line: str) -> None:
    code, out, err = check(run, write, text)
    assert (code, out) == (2, "")
    assert len(problems(err)) == 1, err
    assert problems(err)[0].startswith(f"{write}: {line}"), err


def test_every_problem_is_reported_at_once(run: Run, write: Path) -> None:
    text = GOOD.replace("T_GUM_TOKEN", "T_UNSET_VAR") + """
[accounts.other]
kind = "nope"
"""
    code, _, err = check(run, write, text)
    assert code == 2
    assert [p.split(": ")[1] for p in problems(err)] == [
        "accounts.gum.secrets.access_token", "accounts.other.kind"]


def test_a_credential_file_is_found_in_credentials_directory(
        run: Run, write: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "gum_token").write_text(SECRET + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    text = GOOD.replace('{ env = "T_GUM_TOKEN" }', '{ credential = "gum_token" }')
    assert check(run, write, text)[0] == 0
    (creds / "gum_token").unlink()
    code, _, err = check(run, write)
    assert code == 2 and f"not found in {creds}, /run/secrets" in err


def test_a_secret_value_in_a_failing_field_is_not_echoed(run: Run, write: Path) -> None:
    """A secret given for a setting that rejects it: the error names the key only."""
    text = GOOD + '[accounts.gum.secrets.requests_per_second]\nenv = "T_GUM_TOKEN"\n'
    code, _, err = check(run, write, text)
    assert code == 2 and "accounts.gum.secrets.requests_per_second" in err


def test_a_missing_file_is_one_line(run: Run, tmp_path: Path) -> None:
    code, out, err = check(run, tmp_path / "absent.toml")
    assert (code, out) == (2, "")
    assert problems(err) == [f"{tmp_path / 'absent.toml'}: cannot read: no such file"]


def test_an_unreadable_file_is_one_line(run: Run, tmp_path: Path) -> None:
    code, _, err = check(run, tmp_path)  # a directory cannot be read as a file
    assert code == 2
    assert len(problems(err)) == 1 and problems(err)[0].startswith(f"{tmp_path}: cannot read")


def test_invalid_toml_names_the_line(run: Run, write: Path) -> None:
    code, _, err = check(run, write, GOOD + "\n[accounts.gum\nkind = 1\n")
    assert code == 2
    assert len(problems(err)) == 1
    assert problems(err)[0].startswith(f"{write}: invalid TOML")
    assert "line 7" in err
