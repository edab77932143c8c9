"""Reading the catalog: page by page for a small shop, one bulk operation for a large one.

Paged, 249 variants cost about 1,000 points: 10,000 variants wait ~6 minutes for the
bucket at the standard 100 points/s, 100,000 over an hour. A bulk operation costs the run
mutation and a point per status check. The switch is `bulk_threshold_variants`; the size
is the last read's, and every paged read asks `productVariantsCount` with its first page
(one point): at the threshold, the rest is read in bulk (that page is kept, bulk skips
its variants), so a process's first read of a large shop costs one page.

A bulk read that fails for a reason worth another try (FAILED with INTERNAL_SERVER_ERROR,
an expired URL) runs once more; any other fault, or a second one, reads page by page from
where the read stands. Each fault is one warning line; nothing is handed over twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import structlog

from oneshop.values import Listing, ListingsPage, Rejected
from oneshop_connectors.shopify import mapping, queries
from oneshop_connectors.shopify.bulk import BulkFault

if TYPE_CHECKING:
    from oneshop_connectors.shopify.adapter import ShopifyConnector

log = structlog.get_logger("oneshop_connectors.shopify")
BULK_ATTEMPTS = 2


def fetch_listings(conn: ShopifyConnector) -> Iterator[ListingsPage]:
    location = conn.location_id()
    threshold = conn.settings.bulk_threshold_variants
    if conn.catalog_size is not None and conn.catalog_size >= threshold:
        yield from in_bulk(conn, location, after=None, skip=frozenset())
        return
    size = 0
    for page, nodes, after, count in pages(conn, location, None, count_limit=threshold):
        yield page
        size += len(nodes)
        if after is not None and count is not None and count >= threshold:
            skip = frozenset(n.get("id") for n in nodes if isinstance(n, dict))
            yield from in_bulk(conn, location, after=after, skip=skip)
            return
    conn.catalog_size = size


def pages(conn: ShopifyConnector, location: str, after: str | None, *,
          count_limit: int | None = None,
          ) -> Iterator[tuple[ListingsPage, list[Any], str | None, int | None]]:
    """Each page, its raw nodes, the cursor after it (None at the end), and on the first
    page the shop's variant count when `count_limit` asks for it."""
    derived = queries.page_size(queries.VARIANT_NODE_COST, conn.settings.page_size)
    with_count = count_limit is not None
    while True:
        def read(first: int, after: str | None = after, with_count: bool = with_count,
                 ) -> dict[str, Any]:
            return conn.gql.execute(queries.VARIANTS, {
                "first": first, "after": after, "locationId": location,
                "withCount": with_count, "countLimit": count_limit},
                name="OneshopVariants")
        data = conn.pages.call("OneshopVariants", derived, read)
        connection = data["productVariants"]
        counted = (data.get("productVariantsCount") or {}).get("count") if with_count else None
        more = connection["pageInfo"]["hasNextPage"] is True
        after = connection["pageInfo"]["endCursor"] if more else None
        nodes = connection["nodes"]
        yield (to_page(nodes, location), nodes, after,
               counted if isinstance(counted, int) else None)
        if after is None:
            return
        with_count = False


def to_page(nodes: Iterable[Any], location: str) -> ListingsPage:
    listings: list[Listing] = []
    rejected: list[Rejected] = []
    for node in nodes:
        mapped = (mapping.rejected("variant: a bulk result line that is not JSON", node)
                  if isinstance(node, dict) and "__unparsed" in node
                  else mapping.listing_from_variant(node, location))
        if isinstance(mapped, Listing):
            listings.append(mapped)
        else:
            rejected.append(mapped)
    return ListingsPage(listings=tuple(listings), rejected=tuple(rejected))


def in_bulk(conn: ShopifyConnector, location: str, *, after: str | None,
            skip: frozenset[Any]) -> Iterator[ListingsPage]:
    """Every variant not in `skip`, from a bulk operation; page by page from `after` when
    bulk cannot deliver."""
    for attempt in range(1, BULK_ATTEMPTS + 1):
        try:
            roots = conn.bulk.read(queries.bulk_variants(location))
        except BulkFault as fault:
            again = fault.retry and attempt < BULK_ATTEMPTS
            log.warning("shopify.bulk_fault", account=conn.account, reason=fault.reason,
                        detail=fault.detail, attempt=attempt,
                        then="running it again" if again else "reading page by page")
            if again:
                continue
            break
        size = len(skip)
        batch: list[Any] = []
        for root in roots:
            if root.get("id") in skip:
                continue
            batch.append(root)
            if len(batch) == queries.MAX_PAGE:
                size += len(batch)
                yield to_page(batch, location)
                batch = []
        if batch:
            size += len(batch)
            yield to_page(batch, location)
        conn.catalog_size = size
        return
    size = len(skip)
    for page, nodes, _, _ in pages(conn, location, after):
        size += len(nodes)
        yield page
    conn.catalog_size = size
