"""Every GraphQL document the connector sends (a test validates each against 2026-04).

Page sizes are bounded by Shopify's single-query cost cap (1,000 points, requested cost):
a connection costs 2 + first × (cost of one node), an object 1, scalars 0.
"""

from __future__ import annotations

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
query OneshopVariants($first: Int!, $after: String, $locationId: ID!) {
  productVariants(first: $first, after: $after, sortKey: ID) {
    nodes {
      id
      sku
      displayName
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

# Orders carry up to ORDER_LINES lines and ORDER_REFUNDS refunds of up to ORDER_LINES lines
# inline; a bigger order is re-read alone with ORDER (rare for a solo seller).
ORDER_LINES = 10
ORDER_REFUNDS = 5
ORDER_FIELDS = """
fragment OneshopOrder on Order {
  id
  createdAt
  updatedAt
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
      variant { id inventoryItem { id } }
      originalUnitPriceSet { shopMoney { amount currencyCode } }
    }
    pageInfo { hasNextPage }
  }
  refunds(first: $refunds) {
    id
    refundLineItems(first: $lines) {
      nodes { quantity restockType restocked lineItem { id } }
      pageInfo { hasNextPage }
    }
  }
}
"""
# order 1 + total 2 + lines (2 + n×5) + the refunds list, priced as one object (1 + 2 + n×2)
ORDER_NODE_COST = 3 + (2 + ORDER_LINES * 5) + (3 + ORDER_LINES * 2)
ORDERS = ORDER_FIELDS + """
query OneshopOrders($first: Int!, $after: String, $query: String!, $lines: Int!,
                    $refunds: Int!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { ...OneshopOrder }
    pageInfo { hasNextPage endCursor }
  }
}
"""
BIG_ORDER_LINES = 100
BIG_ORDER_REFUNDS = 3
ORDER = ORDER_FIELDS + """
query OneshopOrder($id: ID!, $lines: Int!, $refunds: Int!) {
  order(id: $id) { ...OneshopOrder }
}
"""

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

ALL_DOCUMENTS = {"LOCATIONS": LOCATIONS, "VARIANTS": VARIANTS, "ORDERS": ORDERS,
                 "ORDER": ORDER, "ITEM_LEVELS": ITEM_LEVELS, "SET_QUANTITIES": SET_QUANTITIES}


def page_size(node_cost: int, wanted: int) -> int:
    """The largest `first` ≤ wanted whose requested cost stays under the per-query cap."""
    return max(1, min(wanted, MAX_PAGE, (MAX_QUERY_COST - 2) // node_cost))
