"""The part of the Admin API 2026-04 schema the sandbox executes.

Every type and field here is named and typed exactly as in the real schema (a test checks
it against `shopify-admin-2026-04.graphql`); enums list only the values the sandbox uses.
"""

from __future__ import annotations

SUBSET_SDL = '''
schema { query: QueryRoot mutation: Mutation }
directive @idempotent(key: String!) on FIELD
scalar DateTime
scalar Decimal
scalar URL
scalar UnsignedInt64

interface Node { id: ID! }
interface DisplayableError { field: [String!] message: String! }

type PageInfo {
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
}

type Shop implements Node {
  id: ID!
  name: String!
  myshopifyDomain: String!
  currencyCode: CurrencyCode!
}

type Location implements Node {
  id: ID!
  name: String!
  isActive: Boolean!
  shipsInventory: Boolean!
  fulfillsOnlineOrders: Boolean!
}
type LocationEdge { cursor: String! node: Location! }
type LocationConnection { edges: [LocationEdge!]! nodes: [Location!]! pageInfo: PageInfo! }
enum LocationSortKeys { ID NAME }

type Product implements Node { id: ID! title: String! }

type ProductVariant implements Node {
  id: ID!
  sku: String
  title: String!
  displayName: String!
  product: Product!
  inventoryItem: InventoryItem!
  inventoryQuantity: Int
  updatedAt: DateTime!
}
type ProductVariantEdge { cursor: String! node: ProductVariant! }
type ProductVariantConnection {
  edges: [ProductVariantEdge!]!
  nodes: [ProductVariant!]!
  pageInfo: PageInfo!
}
enum ProductVariantSortKeys { ID SKU }

type InventoryItem implements Node {
  id: ID!
  sku: String
  tracked: Boolean!
  updatedAt: DateTime!
  variant: ProductVariant!
  inventoryLevel(locationId: ID!, includeInactive: Boolean): InventoryLevel
}
type InventoryLevel implements Node {
  id: ID!
  isActive: Boolean!
  item: InventoryItem!
  location: Location!
  quantities(names: [String!]!): [InventoryQuantity!]!
  updatedAt: DateTime!
}
type InventoryQuantity implements Node {
  id: ID!
  name: String!
  quantity: Int!
  updatedAt: DateTime
}

enum CurrencyCode { USD EUR GBP CAD }
type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type MoneyBag { presentmentMoney: MoneyV2! shopMoney: MoneyV2! }

enum OrderDisplayFinancialStatus {
  PENDING AUTHORIZED PARTIALLY_PAID PARTIALLY_REFUNDED VOIDED PAID REFUNDED EXPIRED
}
enum OrderCancelReason { CUSTOMER DECLINED FRAUD INVENTORY STAFF OTHER }
enum OrderSortKeys { CREATED_AT ID UPDATED_AT }

type Order implements Node {
  id: ID!
  name: String!
  createdAt: DateTime!
  updatedAt: DateTime!
  cancelledAt: DateTime
  cancelReason: OrderCancelReason
  closed: Boolean!
  closedAt: DateTime
  test: Boolean!
  currencyCode: CurrencyCode!
  displayFinancialStatus: OrderDisplayFinancialStatus
  totalPriceSet: MoneyBag!
  lineItems(first: Int, after: String, last: Int, before: String, reverse: Boolean
    ): LineItemConnection!
  refunds(first: Int): [Refund!]!
}
type OrderEdge { cursor: String! node: Order! }
type OrderConnection { edges: [OrderEdge!]! nodes: [Order!]! pageInfo: PageInfo! }

type LineItem implements Node {
  id: ID!
  sku: String
  name: String!
  title: String!
  quantity: Int!
  currentQuantity: Int!
  restockable: Boolean!
  variant: ProductVariant
  originalUnitPriceSet: MoneyBag!
}
type LineItemEdge { cursor: String! node: LineItem! }
type LineItemConnection { edges: [LineItemEdge!]! nodes: [LineItem!]! pageInfo: PageInfo! }

enum RefundLineItemRestockType { RETURN CANCEL LEGACY_RESTOCK NO_RESTOCK }
type Refund implements Node {
  id: ID!
  createdAt: DateTime
  note: String
  refundLineItems(first: Int, after: String, last: Int, before: String, reverse: Boolean
    ): RefundLineItemConnection!
}
type RefundLineItem {
  id: ID
  lineItem: LineItem!
  location: Location
  quantity: Int!
  restockType: RefundLineItemRestockType!
  restocked: Boolean!
}
type RefundLineItemEdge { cursor: String! node: RefundLineItem! }
type RefundLineItemConnection {
  edges: [RefundLineItemEdge!]!
  nodes: [RefundLineItem!]!
  pageInfo: PageInfo!
}

type QueryRoot {
  shop: Shop!
  node(id: ID!): Node
  nodes(ids: [ID!]!): [Node]!
  location(id: ID): Location
  locations(first: Int, after: String, last: Int, before: String, reverse: Boolean,
    sortKey: LocationSortKeys, query: String, includeLegacy: Boolean,
    includeInactive: Boolean): LocationConnection!
  inventoryItem(id: ID!): InventoryItem
  productVariants(first: Int, after: String, last: Int, before: String, reverse: Boolean,
    sortKey: ProductVariantSortKeys, query: String, savedSearchId: ID
    ): ProductVariantConnection!
  order(id: ID!): Order
  orders(first: Int, after: String, last: Int, before: String, reverse: Boolean,
    sortKey: OrderSortKeys, query: String, savedSearchId: ID): OrderConnection!
  productVariantsCount(query: String, limit: Int = 10000): Count
  bulkOperation(id: ID!): BulkOperation
}

enum CountPrecision { EXACT AT_LEAST }
type Count { count: Int! precision: CountPrecision! }

enum BulkOperationStatus { CANCELED CANCELING COMPLETED CREATED EXPIRED FAILED RUNNING }
enum BulkOperationErrorCode { ACCESS_DENIED INTERNAL_SERVER_ERROR TIMEOUT }
enum BulkOperationType { QUERY MUTATION }
type BulkOperation implements Node {
  completedAt: DateTime
  createdAt: DateTime!
  errorCode: BulkOperationErrorCode
  fileSize: UnsignedInt64
  id: ID!
  objectCount: UnsignedInt64!
  partialDataUrl: URL
  query: String!
  rootObjectCount: UnsignedInt64!
  status: BulkOperationStatus!
  type: BulkOperationType!
  url: URL
}
enum BulkOperationUserErrorCode { OPERATION_IN_PROGRESS INVALID LIMIT_REACHED }
type BulkOperationUserError implements DisplayableError {
  code: BulkOperationUserErrorCode
  field: [String!]
  message: String!
}
type BulkOperationRunQueryPayload {
  bulkOperation: BulkOperation
  userErrors: [BulkOperationUserError!]!
}
type UserError implements DisplayableError { field: [String!] message: String! }
type BulkOperationCancelPayload {
  bulkOperation: BulkOperation
  userErrors: [UserError!]!
}

input InventoryQuantityInput {
  inventoryItemId: ID!
  locationId: ID!
  quantity: Int!
  changeFromQuantity: Int
}
input InventorySetQuantitiesInput {
  reason: String!
  name: String!
  referenceDocumentUri: String
  quantities: [InventoryQuantityInput!]!
}
type InventoryChange {
  delta: Int!
  item: InventoryItem
  ledgerDocumentUri: String
  location: Location
  name: String!
  quantityAfterChange: Int
}
type InventoryAdjustmentGroup implements Node {
  id: ID!
  createdAt: DateTime!
  reason: String!
  referenceDocumentUri: String
  changes(inventoryItemIds: [ID!], locationIds: [ID!], quantityNames: [String!]
    ): [InventoryChange!]!
}
enum InventorySetQuantitiesUserErrorCode {
  INVALID_INVENTORY_ITEM INVALID_LOCATION INVALID_QUANTITY_NEGATIVE INVALID_REASON
  INVALID_REFERENCE_DOCUMENT ITEM_NOT_STOCKED_AT_LOCATION INVALID_QUANTITY_TOO_HIGH
  INVALID_QUANTITY_TOO_LOW COMPARE_QUANTITY_REQUIRED COMPARE_QUANTITY_STALE
  CHANGE_FROM_QUANTITY_STALE INVALID_NAME NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR
  NON_MUTABLE_INVENTORY_ITEM IDEMPOTENCY_CONCURRENT_REQUEST IDEMPOTENCY_KEY_PARAMETER_MISMATCH
}
type InventorySetQuantitiesUserError implements DisplayableError {
  code: InventorySetQuantitiesUserErrorCode
  field: [String!]
  message: String!
}
type InventorySetQuantitiesPayload {
  inventoryAdjustmentGroup: InventoryAdjustmentGroup
  userErrors: [InventorySetQuantitiesUserError!]!
}
type Mutation {
  inventorySetQuantities(input: InventorySetQuantitiesInput!): InventorySetQuantitiesPayload
  bulkOperationRunQuery(query: String!, groupObjects: Boolean! = false
    ): BulkOperationRunQueryPayload
  bulkOperationCancel(id: ID!): BulkOperationCancelPayload
}
'''
