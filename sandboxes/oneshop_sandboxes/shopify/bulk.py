"""Bulk query operations, as the 2026-04 schema's descriptions tell them.

- `bulkOperationRunQuery`: "Apps can run one bulk query operation and one bulk mutation
  operation at a time per shop" (`query_limit`, 1); a second gets OPERATION_IN_PROGRESS.
  "The query must include at least one connection field and supports up to five
  connections with a maximum nesting depth of two levels"; else INVALID.
- Status on the sandbox clock: CREATED for `start_delay_s`, RUNNING while the objects are
  processed at `objects_per_s` (an assumption: Shopify publishes no rate), then COMPLETED
  with `url`, a JSONL file: one line per node of a connection, nested connections' nodes
  on their own lines with `__parentId`. "The URL expires 7 days after the operation
  completes" (`url_ttl_s`); from then the status reads EXPIRED ("The bulk operation URL has
  expired") and the file answers 403.
- `bulkOperationCancel`: CANCELING ("a short delay", `cancel_delay_s`), then CANCELED.
- Faults, one operation each: `failed` (FAILED with an errorCode; half the lines at
  `partialDataUrl`), `canceled` (canceled half-way through its run), `url_expired` (the URL
  dies right after the first answer that shows it).

The file is the data as it was when the operation was created.
"""

from __future__ import annotations

import json
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from graphql import InlineFragmentNode, OperationDefinitionNode, get_named_type

from oneshop_sandboxes.shopify.app import check_document, subset_schema
from oneshop_sandboxes.shopify.nodes import iso
from oneshop_sandboxes.shopify.state import gid

JSON = dict[str, Any]
FAULTS = ("failed", "canceled", "url_expired")
ACTIVE = frozenset({"CREATED", "RUNNING", "CANCELING"})


@dataclass
class Operation:
    num: int
    query: str
    created_at: datetime
    lines: list[str]
    roots: int
    runs_s: float
    token: str
    fault: str | None = None
    error_code: str | None = None
    canceled_at: datetime | None = None
    url_dies_at: datetime | None = None

    @property
    def done_at(self) -> datetime:
        return self.created_at + timedelta(seconds=self.runs_s)


class BulkOperations:
    """Every bulk operation of the shop; call under the shop's lock."""

    def __init__(self, clock: Callable[[], datetime], *, objects_per_s: float = 1000.0,
                 start_delay_s: float = 1.0, cancel_delay_s: float = 1.0,
                 url_ttl_s: float = 7 * 86400.0, query_limit: int = 1) -> None:
        self.clock = clock
        self.objects_per_s = objects_per_s
        self.start_delay_s = start_delay_s
        self.cancel_delay_s = cancel_delay_s
        self.url_ttl_s = url_ttl_s
        self.query_limit = query_limit
        self.operations: dict[int, Operation] = {}
        self.faults: deque[tuple[str, str | None]] = deque()
        self.downloads = 0

    def add_fault(self, kind: str, error_code: str | None = None) -> None:
        if kind not in FAULTS:
            raise ValueError(f"bulk fault must be one of {FAULTS}")
        self.faults.append((kind, error_code))

    def running(self) -> int:
        return sum(1 for op in self.operations.values() if self.status(op) in ACTIVE)

    def create(self, num: int, query: str, lines: list[str], roots: int) -> Operation:
        fault, code = self.faults.popleft() if self.faults else (None, None)
        op = Operation(num=num, query=query, created_at=self.clock(), lines=lines,
                       roots=roots, token=secrets.token_hex(8), fault=fault,
                       error_code=(code or "INTERNAL_SERVER_ERROR") if fault == "failed"
                       else None,
                       runs_s=self.start_delay_s + max(1.0, len(lines) / self.objects_per_s))
        self.operations[num] = op
        return op

    def cancel(self, op: Operation) -> None:
        if self.status(op) in ("CREATED", "RUNNING"):
            op.canceled_at = self.clock()

    def status(self, op: Operation) -> str:
        now = self.clock()
        if op.fault == "canceled" and op.canceled_at is None:
            half = op.created_at + timedelta(seconds=op.runs_s / 2)
            if now >= half:
                op.canceled_at = half
        if op.canceled_at is not None:
            settled = op.canceled_at + timedelta(seconds=self.cancel_delay_s)
            return "CANCELING" if now < settled else "CANCELED"
        if now < op.created_at + timedelta(seconds=self.start_delay_s):
            return "CREATED"
        if now < op.done_at:
            return "RUNNING"
        if op.fault == "failed":
            return "FAILED"
        if op.url_dies_at is None:
            op.url_dies_at = op.done_at + timedelta(seconds=self.url_ttl_s)
        return "COMPLETED" if now < op.url_dies_at else "EXPIRED"

    def view(self, op: Operation, host_url: str) -> JSON:
        """The BulkOperation object as `bulkOperation(id:)` answers it now."""
        status = self.status(op)
        processed = len(op.lines) if status in ("COMPLETED", "EXPIRED", "FAILED") else min(
            len(op.lines), int(max(0.0, (self.clock() - op.created_at).total_seconds()
                                   - self.start_delay_s) * self.objects_per_s))
        url = f"{host_url}/_bulk/{op.num}.jsonl?sig={op.token}"
        body = "\n".join(op.lines)
        if status == "COMPLETED" and op.fault == "url_expired":
            op.url_dies_at = self.clock()  # dead by the time anyone downloads it
        return {"__typename": "BulkOperation", "id": gid("BulkOperation", op.num),
                "status": status, "type": "QUERY", "query": op.query,
                "createdAt": iso(op.created_at),
                "completedAt": iso(op.done_at) if status in ("COMPLETED", "EXPIRED") else None,
                "errorCode": op.error_code if status == "FAILED" else None,
                "objectCount": str(processed),
                "rootObjectCount": str(min(op.roots, processed)),
                "fileSize": str(len(body.encode())) if status == "COMPLETED" and op.lines
                else None,
                # No file when the query matched nothing, as on Shopify.
                "url": url if status == "COMPLETED" and op.lines else None,
                "partialDataUrl": url.replace(".jsonl", "-partial.jsonl")
                if status == "FAILED" and len(op.lines) > 1 else None}

    def download(self, name: str, sig: str) -> tuple[int, str]:
        """GET of a result file: (HTTP status, body)."""
        self.downloads += 1
        partial = name.endswith("-partial")
        num = name.removesuffix("-partial")
        op = self.operations.get(int(num)) if num.isdigit() else None
        if op is None or sig != op.token:
            return 403, "AccessDenied: the signature does not match"
        status = self.status(op)
        if partial and status == "FAILED":
            return 200, "\n".join(op.lines[:len(op.lines) // 2]) + "\n"
        if status != "COMPLETED" or partial or (op.url_dies_at and self.clock() >= op.url_dies_at):
            return 403, "ExpiredToken: the request signature expired"
        return 200, "\n".join(op.lines) + "\n"


def flatten(data: JSON) -> tuple[list[str], int]:
    """A query's result as JSONL lines (and how many are roots): every node of a
    connection on its own line, a nested connection's nodes naming their parent."""
    lines: list[str] = []
    roots = 0
    for value in data.values():
        for node in connection_nodes(value) or ():
            roots += 1
            emit(node, None, lines)
    return lines, roots


def connection_nodes(value: Any) -> list[Any] | None:
    if not isinstance(value, dict) or not value or not set(value) <= {"edges", "nodes",
                                                                        "pageInfo"}:
        return None
    if isinstance(value.get("nodes"), list):
        return list(value["nodes"])
    edges = value.get("edges")
    return [e.get("node") for e in edges if isinstance(e, dict)] if isinstance(
        edges, list) else None


def emit(node: Any, parent: str | None, lines: list[str]) -> None:
    children: list[Any] = []
    line = strip(node, children)
    if parent is not None:
        line["__parentId"] = parent
    lines.append(json.dumps(line, separators=(",", ":")))
    for child in children:
        emit(child, node.get("id") if isinstance(node, dict) else None, lines)


def strip(value: Any, children: list[Any]) -> Any:
    """`value` without its nested connections, whose nodes go to `children`."""
    if not isinstance(value, dict):
        return value
    out: JSON = {}
    for key, item in value.items():
        nodes = connection_nodes(item)
        if nodes is not None:
            children.extend(nodes)
        else:
            out[key] = strip(item, children)
    return out


def check_bulk_query(query: str) -> tuple[Any, str | None]:
    """The parsed query, or why bulkOperationRunQuery refuses it: it must validate, be a
    query, and have one to five connections nested at most two levels deep."""
    document, errors = check_document(query)
    if document is None:
        return None, str(errors[0].get("message"))
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation.value != "query":
        return None, "Bulk queries must contain exactly one query operation."
    depths = connection_depths(operations[0].selection_set, subset_schema().query_type, 0)
    if not depths:
        return None, "Bulk queries must contain at least one connection."
    if len(depths) > 5:
        return None, "Bulk queries cannot contain more than 5 connections."
    if max(depths) > 2:
        return None, "Bulk queries cannot contain connections with a nesting depth greater "\
                     "than 2."
    return document, None


def connection_depths(selection_set: Any, parent: Any, depth: int) -> list[int]:
    """The nesting depth of every connection field selected (fields and inline fragments)."""
    found: list[int] = []
    for sel in selection_set.selections if selection_set else ():
        if isinstance(sel, InlineFragmentNode):
            on = subset_schema().type_map.get(sel.type_condition.name.value) \
                if sel.type_condition else parent
            found += connection_depths(sel.selection_set, on or parent, depth)
            continue
        fdef = getattr(parent, "fields", {}).get(getattr(sel, "name", None) and sel.name.value)
        if fdef is None:
            continue
        ftype = get_named_type(fdef.type)
        here = depth + 1 if ftype.name.endswith("Connection") else depth
        if here > depth:
            found.append(here)
        found += connection_depths(sel.selection_set, ftype, here)
    return found
