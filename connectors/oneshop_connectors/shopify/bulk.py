"""Bulk query operations: start one, follow it by id, download and parse its JSONL result.

    bulkOperationRunQuery -> bulkOperation(id:) until COMPLETED -> GET url -> JSONL lines

A bulk read costs the run mutation and one point a status check, not a page's worth of
points per 249 variants. What can go wrong is raised as `BulkFault(reason, retry=…)`, and
the caller decides (adapter.py: retry once, else read page by page):

    busy         userErrors OPERATION_IN_PROGRESS / LIMIT_REACHED (a slot is taken)
    refused      any other userError (a bug in our query)
    failed       status FAILED; errorCode INTERNAL_SERVER_ERROR is worth one more try
    canceled     status CANCELING / CANCELED
    url_expired  status EXPIRED, or the download refused (403 / 404 / 410)
    timeout      still running after BULK_TIMEOUT_S (then it is canceled)

The whole file is downloaded (into a spooled temporary file) before any line is handed
over, so a fault never leaves a read half delivered.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import IO, Any

import httpx

from oneshop.errors import RetryableError
from oneshop.http import raise_for_transport
from oneshop.protocols import ConnectorContext
from oneshop.retry import call_with_retry
from oneshop_connectors.shopify import queries
from oneshop_connectors.shopify.client import GraphQLClient

# Status checks start a second apart and back off to half a minute: a 10,000-variant
# read finishes in seconds, a 100,000-variant one in minutes.
BULK_POLL_FIRST_S = 1.0
BULK_POLL_MAX_S = 30.0
# Past this a bulk read is given up (and canceled, freeing the shop's one query slot).
BULK_TIMEOUT_S = 2 * 3600.0
# Kept in memory up to this size, then on disk: 100,000 variants are about 40 MB.
SPOOL_BYTES = 8 * 1024 * 1024
BUSY = frozenset({"OPERATION_IN_PROGRESS", "LIMIT_REACHED"})
RUNNING = frozenset({"CREATED", "RUNNING"})
GONE = frozenset({403, 404, 410})


class BulkFault(Exception):
    """A bulk read that did not deliver; `retry` says whether a new run may."""

    def __init__(self, reason: str, *, retry: bool, detail: str | None = None) -> None:
        super().__init__(f"shopify bulk read {reason}" + (f": {detail}" if detail else ""))
        self.reason = reason
        self.retry = retry
        self.detail = detail


class BulkReader:
    def __init__(self, gql: GraphQLClient, http: httpx.Client, ctx: ConnectorContext) -> None:
        self._gql = gql
        self._http = http
        self._ctx = ctx
        self.downloads = 0

    def __repr__(self) -> str:
        return "BulkReader()"

    def read(self, query: str) -> Iterator[dict[str, Any]]:
        """The root objects of `query`, children (`__parentId` lines) under `__children`."""
        operation = self._start(query)
        url = self._wait(operation)
        if url is None:  # Shopify gives no file when the query matched nothing
            return iter(())
        return parse_jsonl(self._download(url))

    def _start(self, query: str) -> str:
        data = self._gql.execute(queries.BULK_RUN, {"query": query}, name="OneshopBulkRun")
        payload = data.get("bulkOperationRunQuery") or {}
        errors = payload.get("userErrors") or []
        if errors:
            code = str(errors[0].get("code"))
            raise BulkFault("busy" if code in BUSY else "refused", retry=False,
                            detail=f"{code}: {errors[0].get('message')!s:.200}")
        operation = (payload.get("bulkOperation") or {}).get("id")
        if not isinstance(operation, str):
            raise BulkFault("refused", retry=False, detail="no operation id in the answer")
        return operation

    def _wait(self, operation: str) -> str | None:
        """The result URL once COMPLETED (None: no results); a BulkFault otherwise."""
        deadline = self._ctx.clock().timestamp() + BULK_TIMEOUT_S
        wait_s = BULK_POLL_FIRST_S
        while True:
            data = self._gql.execute(queries.BULK_OPERATION, {"id": operation},
                                     name="OneshopBulkOperation")
            found = data.get("bulkOperation") or {}
            status = found.get("status")
            if status == "COMPLETED":
                url = found.get("url")
                return url if isinstance(url, str) and url else None
            if status == "FAILED":
                code = found.get("errorCode")
                raise BulkFault("failed", retry=code == "INTERNAL_SERVER_ERROR",
                                detail=str(code))
            if status in ("CANCELING", "CANCELED"):
                raise BulkFault("canceled", retry=False, detail=str(status))
            if status == "EXPIRED":
                raise BulkFault("url_expired", retry=True, detail="status EXPIRED")
            if status not in RUNNING:
                raise BulkFault("failed", retry=False, detail=f"status {status!r}")
            if self._ctx.clock().timestamp() >= deadline:
                self._gql.execute(queries.BULK_CANCEL, {"id": operation},
                                  name="OneshopBulkCancel")
                raise BulkFault("timeout", retry=False, detail=f"{BULK_TIMEOUT_S:.0f} s")
            self._ctx.sleep(wait_s)
            wait_s = min(BULK_POLL_MAX_S, wait_s * 2)

    def _download(self, url: str) -> IO[bytes]:
        """The whole file, rewound. The URL is signed: no access token goes with it."""
        def attempt() -> IO[bytes]:
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
            try:
                with self._http.stream("GET", url, headers={"Accept": "*/*"}) as response:
                    if response.status_code in GONE:
                        raise BulkFault("url_expired", retry=True,
                                        detail=f"HTTP {response.status_code}")
                    if response.status_code >= 500 or response.status_code == 429:
                        raise RetryableError(f"shopify bulk file: HTTP {response.status_code}")
                    if response.status_code >= 400:
                        raise BulkFault("failed", retry=False,
                                        detail=f"download HTTP {response.status_code}")
                    for chunk in response.iter_bytes():
                        spool.write(chunk)
            except httpx.HTTPError as exc:
                spool.close()
                raise raise_for_transport(exc) from None
            except BaseException:
                spool.close()
                raise
            spool.seek(0)
            return spool
        self.downloads += 1
        return call_with_retry(attempt, sleep=self._ctx.sleep)


def parse_jsonl(file: IO[bytes]) -> Iterator[dict[str, Any]]:
    """Root objects in file order, each with its children (lines naming it in `__parentId`)
    under `__children`. Shopify does not promise parents come first, so children are
    gathered in a first pass (none for a query without nested connections). A line that
    is not a JSON object is handed over as `{"__unparsed": text}`."""
    with file:
        children: dict[str, list[dict[str, Any]]] = {}
        for line in file:
            item = _line(line)
            parent = item.get("__parentId")
            if isinstance(parent, str):
                children.setdefault(parent, []).append(item)
        file.seek(0)
        for line in file:
            if not line.strip():
                continue
            item = _line(line)
            if "__parentId" in item:
                continue
            key = item.get("id")
            found = children.get(key) if isinstance(key, str) else None
            if found:
                item["__children"] = found
            yield item


def _line(line: bytes) -> dict[str, Any]:
    if not line.strip():
        return {}
    try:
        item = json.loads(line)
    except ValueError:
        item = None
    return item if isinstance(item, dict) else {"__unparsed": line.decode(errors="replace")[:200]}
