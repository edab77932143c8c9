"""Root fields: the queries, `inventorySetQuantities` (with idempotency) and the bulk
query operations (bulk.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLResolveInfo,
    execute_sync,
    value_from_ast_untyped,
)

from oneshop_sandboxes.shopify import search
from oneshop_sandboxes.shopify.app import subset_schema
from oneshop_sandboxes.shopify.bulk import (
    BulkOperations,
    Operation,
    check_bulk_query,
    flatten,
)
from oneshop_sandboxes.shopify.nodes import JSON, UNBOUNDED, Nodes, iso, paginate
from oneshop_sandboxes.shopify.state import Order, ShopState, gid, gid_num

REASONS = frozenset({"correction", "cycle_count_available", "damaged", "movement_created",
                     "movement_updated", "movement_received", "movement_canceled", "other",
                     "promotion", "quality_control", "received", "reservation_created",
                     "reservation_deleted", "reservation_updated", "restock",
                     "safety_stock", "shrinkage"})
MAX_QUANTITY = 1_000_000_000


@dataclass
class Root:
    """The root value handed to graphql-core; `on_level_change` feeds webhooks."""

    state: ShopState
    on_level_change: Callable[[int, int], None] = lambda item, loc: None
    idempotency: dict[str, tuple[str, JSON]] = field(default_factory=dict)
    adjustment_groups: int = 0
    search_warnings: list[str] = field(default_factory=list)
    bulk: BulkOperations | None = None
    host_url: str = "http://sandbox"  # where result files are served (the request's host)

    def value(self) -> JSON:
        nodes = Nodes(self.state)
        return {
            "shop": lambda info: nodes.shop(),
            "node": lambda info, id: nodes.by_gid(id),
            "nodes": lambda info, ids: [nodes.by_gid(i) for i in ids],
            "location": lambda info, id=None: nodes.location(
                gid_num(id, "Location") or 0) if id and gid_num(id, "Location")
            in self.state.locations else None,
            "locations": self.locations,
            "inventoryItem": lambda info, id: nodes.by_gid(id) if "InventoryItem" in id else None,
            "productVariants": self.product_variants,
            "order": lambda info, id: nodes.by_gid(id) if "/Order/" in id else None,
            "orders": self.orders,
            "inventorySetQuantities": self.set_quantities,
            "productVariantsCount": self.variants_count,
            "bulkOperation": self.bulk_operation,
            "bulkOperationRunQuery": self.bulk_run,
            "bulkOperationCancel": self.bulk_cancel,
        }

    def variants_count(self, info: Any, query: str | None = None,
                       limit: int | None = 10000) -> JSON:
        """"The upper bound on count value before returning a result. Use `null` to have
        no limit."; a count cut at the bound is AT_LEAST ("A limit was imposed and
        reached")."""
        total = len(self.state.variants)
        if limit is not None and total > limit:
            return {"count": limit, "precision": "AT_LEAST"}
        return {"count": total, "precision": "EXACT"}

    def _operation(self, operation_id: str) -> Operation | None:
        num = gid_num(operation_id, "BulkOperation")
        return self.bulk.operations.get(num) if self.bulk and num is not None else None

    def bulk_operation(self, info: Any, id: str) -> JSON | None:
        op = self._operation(id)
        return self.bulk.view(op, self.host_url) if self.bulk and op else None

    def bulk_run(self, info: Any, query: str, groupObjects: bool = False) -> JSON:
        assert self.bulk is not None
        if self.bulk.running() >= self.bulk.query_limit:
            return bulk_error("OPERATION_IN_PROGRESS", "A bulk query operation for this app "
                              "and shop is already in progress.")
        document, problem = check_bulk_query(query)
        if problem:
            return bulk_error("INVALID", problem)
        token = UNBOUNDED.set(True)
        try:
            result = execute_sync(subset_schema(), document, root_value=self.value())
        finally:
            UNBOUNDED.reset(token)
        if result.errors:
            return bulk_error("INVALID", result.errors[0].message)
        lines, roots = flatten(result.data or {})
        op = self.bulk.create(self.state.next_id(), query, lines, roots)
        return {"bulkOperation": self.bulk.view(op, self.host_url), "userErrors": []}

    def bulk_cancel(self, info: Any, id: str) -> JSON:
        op = self._operation(id)
        if self.bulk is None or op is None:
            return {"bulkOperation": None, "userErrors": [
                {"field": ["id"], "message": "Bulk operation does not exist"}]}
        self.bulk.cancel(op)
        return {"bulkOperation": self.bulk.view(op, self.host_url), "userErrors": []}

    def locations(self, info: Any, first: int | None = None, after: str | None = None,
                  includeInactive: bool = False, **_: Any) -> JSON:
        locs = [n for n, loc in sorted(self.state.locations.items())
                if loc.active or includeInactive]
        return paginate(locs, key=lambda n: (n, None), first=first, after=after,
                        to_node=Nodes(self.state).location)

    def product_variants(self, info: Any, first: int | None = None, after: str | None = None,
                         **_: Any) -> JSON:
        variants = [self.state.variants[n] for n in sorted(self.state.variants)]
        return paginate(variants, key=lambda v: (v.num, None), first=first, after=after,
                        to_node=Nodes(self.state).variant)

    def orders(self, info: Any, first: int | None = None, after: str | None = None,
               query: str | None = None, sortKey: str = "ID",
               reverse: bool = False, **_: Any) -> JSON:
        terms, ignored = search.parse_query(query)
        self.search_warnings.extend(ignored)
        found = [o for o in self.state.orders.values()
                 if search.matches(terms, {"updated_at": o.updated_at,
                                           "created_at": o.created_at})]

        def key(o: Order) -> tuple[int, str | None]:
            if sortKey == "UPDATED_AT":
                return o.num, iso(o.updated_at)
            if sortKey == "CREATED_AT":
                return o.num, iso(o.created_at)
            return o.num, None

        found.sort(key=lambda o: (key(o)[1] or "", o.num), reverse=reverse)
        return paginate(found, key=key, first=first, after=after, to_node=Nodes(self.state).order)

    def set_quantities(self, info: GraphQLResolveInfo, input: JSON) -> JSON:
        key = idempotency_key(info)
        fingerprint = json.dumps(input, sort_keys=True)
        if key in self.idempotency:
            seen, payload = self.idempotency[key]
            if seen == fingerprint:
                return payload
            return user_error("IDEMPOTENCY_KEY_PARAMETER_MISMATCH", ["input"],
                              "The same idempotency key was used with different parameters.")
        payload = self._apply(input)
        self.idempotency[key] = (fingerprint, payload)
        return payload

    def _apply(self, data: JSON) -> JSON:
        errors = check_input(self.state, data)
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        changes: list[JSON] = []
        name = data["name"]
        for q in data["quantities"]:
            item = gid_num(q["inventoryItemId"], "InventoryItem") or 0
            loc = gid_num(q["locationId"], "Location") or 0
            level = self.state.level(item, loc) or {}
            delta = q["quantity"] - level.get(name, 0)
            self.state.adjust(item, loc, "available", delta)
            level = self.state.level(item, loc) or {}
            for changed in ("available", "on_hand"):
                changes.append({"name": changed, "delta": delta,
                                "quantityAfterChange": level.get(changed),
                                "ledgerDocumentUri": None, "itemGid": q["inventoryItemId"],
                                "locationGid": q["locationId"], "item": {
                                    "__typename": "InventoryItem", "id": q["inventoryItemId"]},
                                "location": None})
            self.on_level_change(item, loc)
        self.adjustment_groups += 1
        group = {"__typename": "InventoryAdjustmentGroup",
                 "id": gid("InventoryAdjustmentGroup", self.state.next_id()),
                 "createdAt": iso(self.state.now()), "reason": data["reason"],
                 "referenceDocumentUri": data.get("referenceDocumentUri"),
                 "changes": partial_changes(changes)}
        return {"inventoryAdjustmentGroup": group, "userErrors": []}


def bulk_error(code: str, message: str) -> JSON:
    return {"bulkOperation": None,
            "userErrors": [{"code": code, "field": ["query"], "message": message}]}


def partial_changes(changes: list[JSON]) -> Callable[..., list[JSON]]:
    def select(info: Any, inventoryItemIds: list[str] | None = None,
               locationIds: list[str] | None = None,
               quantityNames: list[str] | None = None) -> list[JSON]:
        return [c for c in changes
                if (quantityNames is None or c["name"] in quantityNames)
                and (inventoryItemIds is None or c["itemGid"] in inventoryItemIds)
                and (locationIds is None or c["locationGid"] in locationIds)]
    return select


def idempotency_key(info: GraphQLResolveInfo) -> str:
    """The `@idempotent(key:)` value: mandatory at runtime on this mutation from 2026-04."""
    for directive in info.field_nodes[0].directives:
        if directive.name.value == "idempotent":
            for arg in directive.arguments:
                if arg.name.value == "key":
                    key = value_from_ast_untyped(arg.value, info.variable_values)
                    if isinstance(key, str) and key.strip():
                        return key
            raise GraphQLError("The idempotency key cannot be blank.",
                               extensions={"code": "BAD_REQUEST"})
    raise GraphQLError("The @idempotent directive is required for this mutation.",
                       extensions={"code": "BAD_REQUEST"})


def user_error(code: str, path: list[str], message: str) -> JSON:
    return {"inventoryAdjustmentGroup": None,
            "userErrors": [{"code": code, "field": path, "message": message}]}


def check_input(state: ShopState, data: JSON) -> list[JSON]:
    """Every problem with the input; the mutation applies nothing when there is one."""
    errors: list[JSON] = []

    def err(code: str, path: list[str], message: str) -> None:
        errors.append({"code": code, "field": path, "message": message})

    if data["name"] not in ("available", "on_hand"):
        err("INVALID_NAME", ["input", "name"], "The quantity name must be available or on_hand.")
    if data["reason"] not in REASONS:
        err("INVALID_REASON", ["input", "reason"], "The reason is not a valid reason.")
    uri = data.get("referenceDocumentUri")
    if uri is not None and "://" not in uri:
        err("INVALID_REFERENCE_DOCUMENT", ["input", "referenceDocumentUri"],
            "The reference document URI is not a valid URI.")
    seen: set[tuple[str, str]] = set()
    for i, q in enumerate(data["quantities"]):
        path = ["input", "quantities", str(i)]
        check_quantity(state, data["name"], q, path, err, seen)
    return errors


def check_quantity(state: ShopState, name: str, q: JSON, path: list[str],
                   err: Callable[[str, list[str], str], None],
                   seen: set[tuple[str, str]]) -> None:
    item = gid_num(q["inventoryItemId"], "InventoryItem")
    loc = gid_num(q["locationId"], "Location")
    pair = (q["inventoryItemId"], q["locationId"])
    if pair in seen:
        err("NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR", path, "Duplicate item/location.")
    seen.add(pair)
    if item is None or item not in state.items:
        return err("INVALID_INVENTORY_ITEM", [*path, "inventoryItemId"],
                   "The specified inventory item could not be found.")
    if loc is None or loc not in state.locations:
        return err("INVALID_LOCATION", [*path, "locationId"],
                   "The specified location could not be found.")
    level = state.level(item, loc)
    if level is None:
        return err("ITEM_NOT_STOCKED_AT_LOCATION", [*path, "inventoryItemId"],
                   "The specified inventory item is not stocked at the location.")
    if q["quantity"] < 0:
        err("INVALID_QUANTITY_NEGATIVE", [*path, "quantity"], "The quantity can't be negative.")
    if q["quantity"] > MAX_QUANTITY:
        err("INVALID_QUANTITY_TOO_HIGH", [*path, "quantity"], "The quantity is too high.")
    if "changeFromQuantity" not in q:
        err("COMPARE_QUANTITY_REQUIRED", [*path, "changeFromQuantity"],
            "changeFromQuantity is required; pass null to skip the check.")
    elif q["changeFromQuantity"] is not None and q["changeFromQuantity"] != level.get(name, 0):
        err("CHANGE_FROM_QUANTITY_STALE", [*path, "changeFromQuantity"],
            "The specified compare quantity does not match the current quantity.")
    return None
