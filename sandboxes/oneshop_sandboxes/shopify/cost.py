"""Shopify's calculated query cost and its leaky bucket.

Documented (shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits): scalars and enums
cost 0, objects 1, interfaces and unions the most of their possible selections, a
connection 2 plus `first` (or `last`) times the cost of one node, a mutation 10. The
requested cost is charged before execution; the difference to the actual cost
(connections and lists sized by what they returned) is refunded.

Not documented: the price of a plain list field (not a connection) that takes `first`,
such as `Order.refunds(first:)`, or a list of ids, such as `nodes(ids:)`. The conservative
reading, and the sandbox's default (`ListPricing.PER_ITEM`), prices it as N times one
item, N being `first`/`last` or the length of a list argument (1 without either). The
other reading (`ListPricing.ONE_OBJECT`) prices it as one object. Fields of fragments on
an interface's types are all counted (a bound on the documented maximum).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
    value_from_ast_untyped,
)

MAX_QUERY_COST = 1000
MUTATION_COST = 10


class ListPricing(enum.Enum):
    """How a plain list field is priced (undocumented by Shopify; see the docstring)."""

    PER_ITEM = "per_item"  # conservative: N x one item
    ONE_OBJECT = "one_object"


@dataclass(slots=True)
class CostWalk:
    schema: GraphQLSchema
    variables: dict[str, Any]
    fragments: dict[str, FragmentDefinitionNode]
    lists: ListPricing = ListPricing.PER_ITEM

    def fields(self, selection_set: SelectionSetNode | None, parent: Any
               ) -> list[tuple[FieldNode, Any]]:
        """The fields selected, each with the type it is selected on (fragments on an
        interface's types select fields of those types)."""
        out: list[tuple[FieldNode, Any]] = []
        for sel in selection_set.selections if selection_set else ():
            if isinstance(sel, FieldNode):
                out.append((sel, parent))
            elif isinstance(sel, InlineFragmentNode):
                out.extend(self.fields(sel.selection_set, self.on(sel, parent)))
            elif isinstance(sel, FragmentSpreadNode) and sel.name.value in self.fragments:
                fragment = self.fragments[sel.name.value]
                out.extend(self.fields(fragment.selection_set, self.on(fragment, parent)))
        return out

    def on(self, fragment: InlineFragmentNode | FragmentDefinitionNode, parent: Any) -> Any:
        condition = fragment.type_condition
        found = self.schema.type_map.get(condition.name.value) if condition else None
        return found or parent

    def argument(self, node: FieldNode, names: tuple[str, ...]) -> Any:
        for arg in node.arguments:
            if arg.name.value in names:
                return value_from_ast_untyped(arg.value, self.variables)
        return None

    def size_arg(self, node: FieldNode) -> int:
        value = self.argument(node, ("first", "last"))
        return value if isinstance(value, int) and value > 0 else 0

    def list_size(self, node: FieldNode) -> int:
        """How many items a plain list field may return, as the requested cost reads it."""
        if self.lists is ListPricing.ONE_OBJECT:
            return 1
        if self.argument(node, ("first", "last")) is not None:
            return self.size_arg(node)
        for arg in node.arguments:
            value = value_from_ast_untyped(arg.value, self.variables)
            if isinstance(value, list):
                return max(1, len(value))
        return 1

    def cost(self, selection_set: SelectionSetNode | None, parent: Any, data: Any) -> int:
        """Requested cost when `data` is None, else the actual cost of what was returned."""
        total = 0
        for node, on in self.fields(selection_set, parent):
            fdef = getattr(on, "fields", {}).get(node.name.value)
            if fdef is None:
                continue
            ftype: GraphQLNamedType = get_named_type(fdef.type)
            if is_leaf_type(ftype):
                continue
            sub = data.get(node.alias.value if node.alias else node.name.value) \
                if isinstance(data, dict) else None
            if ftype.name.endswith("Connection") and isinstance(ftype, GraphQLObjectType):
                total += 2 + self.connection_cost(node, ftype, sub if data is not None else None)
            elif isinstance(sub, list):
                total += sum(1 + self.cost(node.selection_set, ftype, item) for item in sub)
            elif data is not None and sub is None:
                continue
            elif data is None and is_list_type(get_nullable_type(fdef.type)):
                total += self.list_size(node) * (1 + self.cost(node.selection_set, ftype, None))
            else:
                total += 1 + self.cost(node.selection_set, ftype, sub)
        return total

    def connection_cost(self, node: FieldNode, ftype: GraphQLObjectType, data: Any) -> int:
        node_type = get_named_type(ftype.fields["nodes"].type)
        per_node: list[tuple[SelectionSetNode | None, str]] = []
        for child, _ in self.fields(node.selection_set, ftype):
            key = child.alias.value if child.alias else child.name.value
            if child.name.value == "nodes":
                per_node.append((child.selection_set, key))
            elif child.name.value == "edges":
                for inner, _ in self.fields(child.selection_set, ftype):
                    if inner.name.value == "node":
                        per_node.append((inner.selection_set, key))
        if data is None:
            one = sum(self.cost(sel, node_type, None) + 1 for sel, _ in per_node)
            return self.size_arg(node) * one
        total = 0
        for sel, key in per_node:
            for item in data.get(key) or () if isinstance(data, dict) else ():
                value = item.get("node") if isinstance(item, dict) and "node" in item else item
                total += 1 + self.cost(sel, node_type, value)
        return total


def query_cost(schema: GraphQLSchema, operation: OperationDefinitionNode,
               fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any],
               data: Any = None, *, lists: ListPricing = ListPricing.PER_ITEM) -> int:
    if operation.operation.value == "mutation":
        return MUTATION_COST
    walk = CostWalk(schema, variables, fragments, lists)
    return walk.cost(operation.selection_set, schema.query_type, data)


class LeakyBucket:
    """The per app×shop bucket: `maximum` points, refilled at `restore_rate` per second."""

    def __init__(self, *, maximum: float, restore_rate: float,
                 clock: Callable[[], datetime]) -> None:
        self.maximum = maximum
        self.restore_rate = restore_rate
        self._clock = clock
        self._available = maximum
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, (now - self._at).total_seconds())
        self._available = min(self.maximum, self._available + elapsed * self.restore_rate)
        self._at = now

    def take(self, cost: int) -> bool:
        with self._lock:
            self._refill()
            if cost > self._available:
                return False
            self._available -= cost
            return True

    def refund(self, points: int) -> None:
        with self._lock:
            self._available = min(self.maximum, self._available + max(0, points))

    def drain(self) -> None:
        with self._lock:
            self._refill()
            self._available = 0.0

    def status(self) -> dict[str, float]:
        with self._lock:
            self._refill()
            return {"maximumAvailable": float(self.maximum),
                    "currentlyAvailable": float(int(self._available)),
                    "restoreRate": float(self.restore_rate)}
