"""Alert docs and rules cover what the code emits; the [alerts] command runs, rate-limited,
off the sync's path."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from oneshop import alertcmd
from oneshop.config import AlertsConfig
from oneshop.logs import ALERT_HOOKS, REDACTOR, alert
from oneshop.testing.shop import SandboxShop

from .conftest import REPO, Running, wait_until

DOCS = REPO / "docs" / "alerts.md"
RULES = REPO / "deploy" / "alerts"
SOURCES = [REPO / "src", REPO / "connectors"]
EMITTERS = (
    re.compile(r"\balert\(\s*\"([a-z_]+)\""),                      # logs.alert("event", …)
    re.compile(r"\braise_alert\(\s*\w+,\s*\"([a-z_]+)\""),           # raise_alert(s, "event", …)
    re.compile(r"\bannounce\(\s*\"([a-z_]+)\""),                   # announce("event", …)
    re.compile(r"^EVENT = \"([a-z_]+)\"", re.M),                     # oversell.EVENT
    re.compile(r"\"([a-z_]+)\",\s*alert=True"),  # log.warning("event", alert=True)
)
SEVERITIES = {"critical", "error", "warning", "info"}


def emitted_events() -> set[str]:
    found: set[str] = set()
    for root in SOURCES:
        for path in root.rglob("*.py"):
            text = path.read_text()
            for pattern in EMITTERS:
                found.update(pattern.findall(text))
    return found


def documented_events() -> dict[str, str]:
    """`### \\`event\\`` sections of docs/alerts.md -> their text."""
    parts = re.split(r"(?m)^### `([a-z_]+)`\s*$", DOCS.read_text())
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_source_scan_finds_the_alerts_the_design_names() -> None:
    events = emitted_events()
    assert {"oversell", "auth_failed", "channel_stale", "push_failed", "budget_low",
            "unlinked_listing", "rejected_record", "zero_stock_policy_applied",
            "duplicate_sku", "hand_edit"} <= events


def test_every_alert_event_in_the_source_is_documented() -> None:
    documented = documented_events()
    missing = emitted_events() - set(documented)
    assert not missing, f"document these in docs/alerts.md: {sorted(missing)}"
    table = DOCS.read_text().split("## Alert events", 1)[1].split("###", 1)[0]
    for event, text in documented.items():
        assert f"| `{event}` |" in table, f"{event} missing from the summary table"
        for part in ("**Meaning.**", "**Fields.**", "**What to do.**"):
            assert part in text, f"{event}: no {part}"


def test_the_documented_journalctl_filter_picks_alert_lines() -> None:
    jq = shutil.which("jq")
    if jq is None:
        pytest.skip("jq is not installed")
    command = re.search(r"journalctl -u oneshop -o json -f \| jq -c '([^']+)'", DOCS.read_text())
    assert command, "the journalctl | jq filter is not in docs/alerts.md"
    lines = [{"MESSAGE": json.dumps({"event": "oversell", "alert": True, "sku": "A"})},
             {"MESSAGE": json.dumps({"event": "sync.done", "account": "etsy"})},
             {"MESSAGE": "not json at all"},
             {"MESSAGE": json.dumps({"event": "auth_failed", "alert": True})}]
    done = subprocess.run([jq, "-c", command.group(1)], capture_output=True, text=True,
                          input="\n".join(json.dumps(line) for line in lines), timeout=30)
    assert done.returncode == 0, done.stderr
    assert [json.loads(x)["event"] for x in done.stdout.splitlines()] == ["oversell",
                                                                         "auth_failed"]


def test_promtail_labels_alert_lines_from_journal_and_docker() -> None:
    config = yaml.safe_load((RULES / "promtail.yaml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"journal", "docker"} <= set(jobs)
    for job in jobs.values():
        match = next(s["match"] for s in job["pipeline_stages"] if "match" in s)
        assert "alert" in match["selector"]
        json_stage = next(s["json"] for s in match["stages"] if "json" in s)
        assert {"alert", "event", "severity"} <= set(json_stage["expressions"])
        labels = next(s["labels"] for s in match["stages"] if "labels" in s)
        assert {"alert", "event", "severity"} <= set(labels)


def test_loki_rules_notify_every_severity_per_event() -> None:
    rules = yaml.safe_load((RULES / "loki-rules.yaml").read_text())["groups"][0]["rules"]
    covered = set()
    for rule in rules:
        assert rule["alert"] and rule["expr"] and rule["labels"]["severity"] in SEVERITIES
        if 'alert="true"' in rule["expr"]:
            severity = re.search(r'severity="(\w+)"', rule["expr"])
            assert severity and "by (event, account)" in rule["expr"]
            covered.add(severity.group(1))
    assert covered == SEVERITIES


def test_vector_pipeline_is_wired_from_sources_to_a_notification_sink() -> None:
    config = tomllib.loads((RULES / "vector.toml").read_text())
    nodes = {**config["sources"], **config["transforms"]}
    for name, node in {**config["transforms"], **config["sinks"]}.items():
        for upstream in node["inputs"]:
            assert upstream in nodes, f"{name} reads from unknown {upstream}"
    assert config["sources"]["oneshop_journal"]["include_units"] == ["oneshop"]
    filters = [n for n in config["transforms"].values() if n["type"] == "filter"]
    assert any(".alert == true" in f["condition"] for f in filters)
    sink_inputs = {i for s in config["sinks"].values() for i in s["inputs"]}

    def reaches_filter(name: str) -> bool:
        node = config["transforms"].get(name)
        return node is not None and (node["type"] == "filter" or
                                     any(reaches_filter(i) for i in node["inputs"]))

    assert all(reaches_filter(i) for i in sink_inputs)  # only alert lines are sent


# -- the alert command ------------------------------------------------------------------


def recorder(tmp_path: Path, *, sleep_s: float = 0.0, exit_code: int = 0) -> list[str]:
    """A real program: appends its stdin as one line to a file."""
    script = tmp_path / "record.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        data = sys.stdin.read()
        time.sleep({sleep_s})
        with open({str(tmp_path / 'alerts.jsonl')!r}, "a") as out:
            out.write(data.strip() + "\\n")
        sys.exit({exit_code})
    """))
    return [sys.executable, str(script)]


def recorded(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "alerts.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def hooks() -> Iterator[None]:
    before = list(ALERT_HOOKS)
    yield
    for hook in list(ALERT_HOOKS):
        if hook not in before:
            ALERT_HOOKS.remove(hook)
            if isinstance(hook, alertcmd.AlertCommand):
                hook.close(0.5)


def test_command_gets_the_alert_as_json_without_secrets(tmp_path: Path, hooks: None) -> None:
    REDACTOR.add(["s3cret-value-for-test"])
    command = alertcmd.install(AlertsConfig(command=recorder(tmp_path)))
    alert("push_failed", "error", "a stock push was refused", account="shopify", sku="MUG",
          detail="token s3cret-value-for-test refused")
    assert command is not None
    command.close()
    [got] = recorded(tmp_path)
    assert got["event"] == "push_failed" and got["severity"] == "error"
    assert got["account"] == "shopify" and got["sku"] == "MUG"
    assert "s3cret-value-for-test" not in json.dumps(got)


def test_command_is_rate_limited_per_event_and_account(tmp_path: Path, hooks: None) -> None:
    now = [1000.0]
    command = alertcmd.AlertCommand(recorder(tmp_path), min_interval_s=60, clock=lambda: now[0])
    ALERT_HOOKS.append(command)
    for _ in range(3):
        alert("push_failed", "error", "refused", account="etsy")
    alert("push_failed", "error", "refused", account="shopify")
    alert("oversell", "critical", "oversold", sku="MUG")
    now[0] += 61
    alert("push_failed", "error", "refused", account="etsy")
    command.close()
    got = [(r["event"], r.get("account"), r.get("held_back")) for r in recorded(tmp_path)]
    assert got == [("push_failed", "etsy", None), ("push_failed", "shopify", None),
                   ("oversell", None, None), ("push_failed", "etsy", 2)]


def test_a_slow_command_never_blocks_the_caller(tmp_path: Path, hooks: None) -> None:
    command = alertcmd.AlertCommand(recorder(tmp_path, sleep_s=2.0), min_interval_s=0)
    ALERT_HOOKS.append(command)
    started = time.monotonic()
    for i in range(5):
        alert("oversell", "critical", "oversold", sku=f"S{i}")
    assert time.monotonic() - started < 0.5
    command.close(timeout_s=0.1)


def test_a_failing_command_is_logged_not_raised(tmp_path: Path, hooks: None,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        broken = alertcmd.AlertCommand([str(tmp_path / "no-such-program")], min_interval_s=0)
        failing = alertcmd.AlertCommand(recorder(tmp_path, exit_code=3), min_interval_s=0)
        ALERT_HOOKS.extend([broken, failing])
        alert("channel_stale", "error", "no poll", account="etsy")
        broken.close()
        failing.close()
    failed = [e for e in logs if e["event"] == "alert_command.failed"]
    assert len(failed) == 2 and {f["alert_event"] for f in failed} == {"channel_stale"}
    assert any("exit status 3" in f["error"] for f in failed)
    assert any("FileNotFoundError" in f["error"] for f in failed)
    assert (broken.failures, failing.failures) == (1, 1)


def test_service_runs_the_command_for_its_alerts(shop: SandboxShop, tmp_path: Path,
                                                 start_service: Callable[..., Running]) -> None:
    # Two SKUs each on two Etsy listings, one on two Shopify listings: three duplicate_sku
    # alerts, two of them for the same (event, account).
    for kind, skus in (("etsy", ["DUP-1", "DUP-2"]), ("shopify", ["DUP-3"])):
        for sku in skus:
            shop.sandboxes[kind].seed_listing(sku, 2)
            shop.sandboxes[kind].seed_listing(sku, 2)
    argv = recorder(tmp_path)
    service = start_service(extra=f"\n[alerts]\ncommand = {json.dumps(argv)}\n"
                                  "min_interval_s = 600\n")
    wait_until(lambda: len(service.events("duplicate_sku")) >= 3 and len(recorded(tmp_path)) >= 2,
               what="three duplicate_sku alert lines and two command runs")
    time.sleep(0.5)
    assert service.stop() == 0
    got = sorted((r["event"], r["account"]) for r in recorded(tmp_path))
    assert got == [("duplicate_sku", "etsy"), ("duplicate_sku", "shopify")]
    assert not service.events("alert_command.failed")
