"""The status page's markup: plain HTML with inline CSS, no script, no external asset.

Every value goes through `esc` (SKUs, titles, alert messages and errors are typed by
sellers or sent by marketplaces), every link through `sku_href`; the server also sends a
Content-Security-Policy that forbids scripts, in case something slips through.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from html import escape
from itertools import pairwise
from typing import Any
from urllib.parse import quote

from oneshop.status_page.sections import Attention, Overview, SkuPage, is_drift

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.2em;color:#1b1b1b;background:#fafafa}
h1{font-size:1.3em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
.meta{color:#555;margin:0 0 1em}
table{border-collapse:collapse;background:#fff;min-width:40%}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.tag{display:inline-block;padding:0 .4em;border-radius:3px;font-size:.85em;background:#eee}
.oversold{background:#fde2e1}.drift{background:#fff3cd}.low{background:#fff8e5}
.pending{background:#e8f0fe}.bad{color:#b00020;font-weight:600}.ok{color:#1b7a1b}
.critical{background:#b00020;color:#fff}.error{background:#d9480f;color:#fff}
.warning{background:#f2c94c}.none{color:#1b7a1b}
a{color:#0b57d0}
"""
ROW_CLASS = {"oversold": "oversold", "drift": "drift", "low": "low", "pending link": "pending"}


def esc(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def sku_href(sku: str) -> str:
    """The SKU page's path; every character a SKU may hold is percent-encoded."""
    return "/sku/" + quote(sku, safe="")


def sku_link(sku: str) -> str:
    return f'<a href="{esc(sku_href(sku))}">{esc(sku)}</a>'


def document(title: str, body: Iterable[str], *, refresh_s: int | None) -> str:
    refresh = (f'<meta http-equiv="refresh" content="{int(refresh_s)}">'
               if refresh_s else "")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title>{refresh}"
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            '<meta name="robots" content="noindex">'
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def table(headers: Sequence[str], rows: Iterable[str], *, table_id: str, empty: str) -> str:
    body = list(rows)
    if not body:
        return f'<p id="{esc(table_id)}" class="none">{esc(empty)}</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return (f'<table id="{esc(table_id)}"><thead><tr>{head}</tr></thead><tbody>\n'
            + "\n".join(body) + "\n</tbody></table>")


def when(at: datetime | str | None) -> str:
    if at is None:
        return "never"
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def ago(seconds: int | float | None) -> str:
    """'45s ago', '3m 12s ago', '2h 5m ago', '1d 3h ago'."""
    if seconds is None:
        return "never"
    left = max(0, int(seconds))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    for (unit, size), (small, small_size) in pairwise(units):
        if left >= size:
            return f"{left // size}{unit} {left % size // small_size}{small} ago"
    return f"{left}s ago"


# -- the main page, one function per section ---------------------------------------------

def overview_page(data: Overview, *, refresh_s: int) -> str:
    return document("oneshop status", [
        "<h1>oneshop status</h1>",
        f'<p class="meta">Read {esc(when(data.now))}; this page reloads every '
        f"{int(refresh_s)} s and changes nothing.</p>",
        summary(data),
        "<h2>Needs attention</h2>", attention_section(data.attention),
        "<h2>Channels</h2>", channels_section(data.channels),
        "<h2>Open alerts</h2>", alerts_section(data),
        "<h2>All SKUs</h2>", skus_section(data.skus),
    ], refresh_s=refresh_s)


def summary(data: Overview) -> str:
    counts: dict[str, int] = {}
    for item in data.attention:
        counts[item.reason] = counts.get(item.reason, 0) + 1
    parts = [f'<span class="tag {ROW_CLASS[r]}">{esc(r)}: {n}</span>'
             for r, n in counts.items()] or ['<span class="ok">nothing needs attention</span>']
    return f'<p id="summary">{" ".join(parts)}</p>'


def attention_section(items: Sequence[Attention]) -> str:
    rows = []
    for item in items:
        what = (sku_link(item.sku) if item.sku is not None
                else f"{esc(item.account)} listing {esc(item.listing)}")
        rows.append(f'<tr class="{ROW_CLASS[item.reason]}" data-reason="{esc(item.reason)}">'
                    f"<td>{esc(item.reason)}</td><td>{what}</td>"
                    f'<td class="n">{esc("" if item.on_hand is None else item.on_hand)}</td>'
                    f"<td>{esc(item.detail)}</td></tr>")
    return table(["why", "SKU / listing", "on hand", "what to know"], rows,
                 table_id="attention", empty="Nothing: no SKU oversold, drifting, low or "
                                             "waiting for a link.")


def channels_section(channels: Sequence[dict[str, Any]]) -> str:
    rows = []
    for c in channels:
        rows.append(f'<tr data-account="{esc(c["account"])}"><td>{esc(c["account"])}</td>'
                    f"<td>{esc(c['kind'])}</td><td>{esc(when(c['last_success']))}</td>"
                    f'<td class="n">{esc(ago(c["lag_s"]))}</td>'
                    f'<td class="n">{esc(c["failures"])}</td>'
                    f"<td>{budget_cell(c)}</td><td>{state_cell(c)}</td>"
                    f"<td>{alert_counts(c.get('open_alerts') or {})}</td></tr>")
    return table(["account", "kind", "last poll", "lag", "failures", "API budget", "state",
                  "open alerts"], rows, table_id="channels", empty="No account configured.")


def budget_cell(c: dict[str, Any]) -> str:
    left, limit = c.get("budget_left"), c.get("budget_limit")
    if left is None:
        return "not reported"
    text = f"{left}" + (f" / {limit}" if limit else "") + (" today" if c.get("budget_daily")
                                                            else "")
    return esc(text)


def state_cell(c: dict[str, Any]) -> str:
    """Paused (and why, until when, where the pause says so), disabled, or running."""
    if c["paused"]:
        why = c.get("pause_reason") or c.get("last_error") or ""
        until = c.get("paused_until")
        return ('<span class="bad">paused</span>' + (f" until {esc(until)}" if until else "")
                + (f"<br>{esc(str(why)[:300])}" if why else ""))
    if not c["enabled"]:
        return "disabled"
    if c["failures"]:
        return f'<span class="bad">failing</span><br>{esc(str(c.get("last_error", ""))[:300])}'
    return '<span class="ok">running</span>'


def alert_counts(counts: dict[str, int]) -> str:
    if not counts:
        return '<span class="ok">none</span>'
    return " ".join(f'<span class="tag {esc(sev)}">{esc(sev)} {n}</span>'
                    for sev, n in counts.items())


def alerts_section(data: Overview) -> str:
    rows = [f'<tr><td><span class="tag {esc(a.severity)}">{esc(a.severity)}</span></td>'
            f"<td>{esc(a.event)}</td><td>{esc(a.account or '')}</td>"
            f"<td>{sku_link(a.sku) if a.sku else ''}</td><td>{esc(a.message)}</td>"
            f"<td>{esc(when(a.since))}</td></tr>" for a in data.alerts]
    notices = (f'<p class="meta">and {data.notices} open info notice(s): '
               "see `oneshop history SKU` or the log.</p>" if data.notices else "")
    return table(["severity", "event", "account", "SKU", "message", "since"], rows,
                 table_id="alerts", empty="No open alert.") + notices


def skus_section(skus: Sequence[dict[str, Any]]) -> str:
    rows = []
    for row in skus:
        stock = row["on_hand"] if row["adopted"] else "not adopted"
        cells = "; ".join(
            f"{esc(account)}: {esc(_qty(c['shows']))} / {esc(_qty(c['wants']))}"
            + (f' <span class="tag">{esc(shown_mark(c))}</span>' if c["mark"] else "")
            for account, c in row["channels"].items())
        rows.append(f'<tr><td>{sku_link(row["sku"])}</td><td class="n">{esc(stock)}</td>'
                    f"<td>{cells}</td></tr>")
    return table(["SKU", "on hand", "each channel: shows / should show"], rows,
                 table_id="skus", empty="No SKU bound to a listing yet.")


def shown_mark(channel: dict[str, Any]) -> str:
    """`status`'s mark, except a 'drift' that only an old read makes (sections.is_drift)."""
    if channel["mark"] == "drift" and not is_drift(channel):
        return "sold since read"
    return str(channel["mark"])


def _qty(value: int | None) -> str:
    return "?" if value is None else str(value)


# -- a SKU's page -----------------------------------------------------------------------

def sku_history_page(page: SkuPage, *, refresh_s: int) -> str:
    stock = page.on_hand if page.adopted else "not adopted"
    rows = [f"<tr><td>{esc(when(e.at))}</td><td>{esc(e.kind)}</td><td>{esc(e.detail)}</td>"
            "</tr>" for e in page.events]
    return document(f"{page.sku}: history", [
        '<p><a href="/">&larr; status</a></p>',
        f"<h1>{esc(page.sku)}</h1>",
        f'<p class="meta">On hand: <b id="on-hand">{esc(stock)}</b>. Newest first; the same '
        f"timeline as <code>oneshop history {esc(page.sku)}</code>.</p>",
        table(["when", "what", "detail"], rows, table_id="history", empty="No movement yet."),
    ], refresh_s=refresh_s)


def message_page(title: str, text: str) -> str:
    return document(title, ['<p><a href="/">&larr; status</a></p>', f"<h1>{esc(title)}</h1>",
                            f"<p>{esc(text)}</p>"], refresh_s=None)
