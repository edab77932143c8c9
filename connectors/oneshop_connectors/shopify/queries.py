"""Every GraphQL document the connector sends (a test validates each against 2026-04).

Page sizes are bounded by Shopify's single-query cost cap (1,000 points, requested cost),
priced the conservative way: scalars 0, an object 1, a connection 2 + first × (one node),
and a plain list field N × (one item), N being its `first` or the length of its list
argument. Shopify documents the first three, not the list (docs/connectors/shopify.md);
tests/shopify/test_cost.py prices every document against the real schema by these rules.
"""

from __future__ import annotations

import json
import re

MAX_QUERY_COST = 1000
MAX_PAGE = 250

LOCATIONS = """
query OneshopLocations($first: Int!, $after: String) {
  locations(first: $first, after: $after) {
    nodes { id name isActive shipsInventory }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# One variant costs 4: the variant, its inventory item, the level, the quantities list.
VARIANT_NODE_COST = 4
VARIANTS = """
query OneshopVariants($first: Int!, $after: String, $locationId: ID!,
                      $withCount: Boolean = false, $countLimit: Int = 10000) {
  productVariantsCount(limit: $countLimit) @include(if: $withCount) { count precision }
  productVariants(first: $first, after: $after, sortKey: ID) {
    nodes {
      id
      sku
      displayName
      requiresComponents
      inventoryPolicy
      inventoryItem {
        id
        sku
        tracked
        inventoryLevel(locationId: $locationId) {
          quantities(names: ["available"]) { name quantity }
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

# Orders carry up to ORDER_LINES lines and ORDER_REFUNDS refunds of up to
# ORDER_REFUND_LINES lines inline; a bigger order is re-read alone with ORDER.
ORDER_LINES = 10
ORDER_REFUNDS = 2
ORDER_REFUND_LINES = 10
ORDER_FIELDS = """
fragment OneshopOrder on Order {
  id
  createdAt
  updatedAt
  processedAt
  cancelledAt
  closed
  displayFinancialStatus
  totalPriceSet { shopMoney { amount currencyCode } }
  lineItems(first: $lines) {
    nodes {
      id
      sku
      quantity
      currentQuantity
      variant { id requiresComponents inventoryItem { id } }
      originalUnitPriceSet { shopMoney { amount currencyCode } }
    }
    pageInfo { hasNextPage }
  }
  refunds(first: $refunds) {
    id
    refundLineItems(first: $refundLines) {
      nodes { quantity restockType restocked lineItem { id } }
      pageInfo { hasNextPage }
    }
  }
}
"""
# A line: itself, variant, inventory item, price set, shop money. A refund line: itself
# and its line item. A refund: itself and its lines' connection. A bundle's components
# are lines of their own (each with its `lineItemGroup`, not read: nothing needs it);
# `variant.requiresComponents` (a scalar, free) marks a line for the bundle itself.
LINE_COST = 5
REFUND_LINE_COST = 2


def order_cost(lines: int, refunds: int, refund_lines: int) -> int:
    """One order node: itself, totalPriceSet, shopMoney; its lines; its refunds list."""
    return (3 + (2 + lines * LINE_COST)
            + refunds * (1 + 2 + refund_lines * REFUND_LINE_COST))


ORDER_NODE_COST = order_cost(ORDER_LINES, ORDER_REFUNDS, ORDER_REFUND_LINES)
ORDERS = ORDER_FIELDS + """
query OneshopOrders($first: Int!, $after: String, $query: String!, $lines: Int!,
                    $refunds: Int!, $refundLines: Int!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { ...OneshopOrder }
    pageInfo { hasNextPage endCursor }
  }
}
"""
# One order alone: 100 lines and 10 refunds of 20 lines each request 935 points.
BIG_ORDER_LINES = 100
BIG_ORDER_REFUNDS = 10
BIG_ORDER_REFUND_LINES = 20
BIG_ORDER_COST = order_cost(BIG_ORDER_LINES, BIG_ORDER_REFUNDS, BIG_ORDER_REFUND_LINES)
ORDER = ORDER_FIELDS + """
query OneshopOrder($id: ID!, $lines: Int!, $refunds: Int!, $refundLines: Int!) {
  order(id: $id) { ...OneshopOrder }
}
"""

# `nodes(ids:)` is a plain list: each id costs one item (itself, its level, the quantities
# list of one name), so a read of the most ids one call takes is 250 x 3 = 750 points.
ITEM_LEVEL_COST = 3
ITEM_LEVELS = """
query OneshopItemLevels($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $locationId) {
        quantities(names: ["available"]) { name quantity }
      }
    }
  }
}
"""

SET_QUANTITIES = """
mutation OneshopSetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup {
      id
      changes(quantityNames: ["available"]) { name quantityAfterChange item { id } }
    }
    userErrors { code field message }
  }
}
"""

# --- documents of large shops (bulk catalog reads, cheap order overlaps) ----------------
# The catalog in one bulk operation: the same fields as VARIANTS, without paging. A bulk
# query takes no variables, so the location GID is written into the text (bulk_variants).
BULK_VARIANTS = """
{
  productVariants(sortKey: ID) {
    edges {
      node {
        id
        sku
        displayName
        requiresComponents
        inventoryPolicy
        inventoryItem {
          id
          sku
          tracked
          inventoryLevel(locationId: %s) {
            quantities(names: ["available"]) { name quantity }
          }
        }
      }
    }
  }
}
"""
BULK_RUN = """
mutation OneshopBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { code field message }
  }
}
"""
BULK_OPERATION = """
query OneshopBulkOperation($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount url partialDataUrl }
}
"""
BULK_CANCEL = """
mutation OneshopBulkCancel($id: ID!) {
  bulkOperationCancel(id: $id) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""
# The overlap re-read: ids and update times only (one point an order: 250 cost 252).
ORDER_STAMPS = """
query OneshopOrderStamps($first: Int!, $after: String, $query: String!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { id updatedAt }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ORDER_STAMP_COST = 1
# New or changed orders of the overlap, by id: `nodes(ids:)` is a plain list, so each id
# costs one whole order (ORDER_NODE_COST), the same nine a read as a page of ORDERS.
ORDERS_BY_ID = ORDER_FIELDS + """
query OneshopOrdersById($ids: [ID!]!, $lines: Int!, $refunds: Int!, $refundLines: Int!) {
  nodes(ids: $ids) { ... on Order { ...OneshopOrder } }
}
"""
# Sent only by large shops or on later polls; a busy paged session sends ALL_DOCUMENTS.
SCALE_DOCUMENTS = {"BULK_RUN": BULK_RUN, "BULK_OPERATION": BULK_OPERATION,
                   "BULK_CANCEL": BULK_CANCEL, "ORDER_STAMPS": ORDER_STAMPS,
                   "ORDERS_BY_ID": ORDERS_BY_ID}


def bulk_variants(location_gid: str) -> str:
    """BULK_VARIANTS at one location; the GID is checked, as it becomes query text."""
    if not re.fullmatch(r"gid://shopify/Location/\d+", location_gid):
        raise ValueError(f"not a location GID: {location_gid!r}")
    return BULK_VARIANTS % json.dumps(location_gid)


ALL_DOCUMENTS = {"LOCATIONS": LOCATIONS, "VARIANTS": VARIANTS, "ORDERS": ORDERS,
                 "ORDER": ORDER, "ITEM_LEVELS": ITEM_LEVELS, "SET_QUANTITIES": SET_QUANTITIES}


def page_size(node_cost: int, wanted: int) -> int:
    """The largest `first` ≤ wanted whose connection (2 + first × node) stays under the
    per-query cap."""
    return max(1, min(wanted, MAX_PAGE, (MAX_QUERY_COST - 2) // node_cost))


def ids_per_read(item_cost: int, wanted: int = MAX_PAGE) -> int:
    """The most ids a plain list read (N × item) takes under the per-query cap."""
    return max(1, min(wanted, MAX_PAGE, MAX_QUERY_COST // item_cost))
