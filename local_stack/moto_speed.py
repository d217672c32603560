"""Per-call costs moto pays on every request that change nothing in its answers (profiled with
cProfile on the local stack's calls, moto 5.2.5; benchmarks/moto_calls.py measures the effect,
tests/integration/test_moto_front.py proves the answers equal moto's own):

* the response serializer walks every DynamoDB AttributeValue through botocore's shape model, trying
  six alias providers for each of its ten members (S, N, B, ... most of them absent) - half of a
  GetItem's time, more for a Query.
  -> an AttributeValue that is a plain one-key dict of the usual types is written directly, exactly
  as the generic walk would write it; anything else still takes the generic walk.
* every request lists its handler class's methods (`inspect.getmembers`) to find the action.
  -> the list is kept per class (recomputed if the class gains or loses an attribute).
* an UpdateExpression is lexed and parsed twice per update (the handler's validation, then the
  backend), on every request, though its text repeats.
  -> parsed once per distinct text; callers only read the tree (the validator deep-copies it before
  it substitutes values), so one tree serves all. A text that does not parse raises every time.
* a Condition/Filter expression is lexed on every request.
  -> the tokens (immutable named tuples) are kept per distinct text.
* each of the update validator's ten tree walks rebuilds its class -> handler map at every node,
  and asks `isinstance` of abc classes (slow: ABCMeta's hook) two or three times per node.
  -> the map is built once per walker; which handler (if any) a node type gets is kept per
  (walker class, node type) - the same first match in the map's order.
* the validator deep-copies the parsed tree before it substitutes values (copy.deepcopy's memo and
  reduce protocol, for a tree of plain nodes).
  -> a node-by-node clone of the same tree (children and parent links rebuilt, other attributes
  shared when immutable); a tree holding anything else is deep-copied as before.
"""

from __future__ import annotations

import os
from collections import OrderedDict, deque
from typing import Any

CACHED_EXPRESSIONS = 2048  # distinct expression texts kept (the application uses a few dozen)
_installed = False


def enabled() -> bool:
    """`LOCAL_MOTO_SPEED=0` leaves moto as it is (the baseline of the differential test)."""
    return os.environ.get("LOCAL_MOTO_SPEED", "1") != "0"


def install() -> None:
    """Idempotent; from moto_fidelity.install()."""
    global _installed
    if _installed or not enabled():
        return
    _direct_attribute_values()
    _cached_method_names()
    _cached_update_expressions()
    _cached_condition_tokens()
    _cached_processing_maps()
    _cloned_update_trees()
    from local_stack import moto_speed_writes

    moto_speed_writes.install()
    _installed = True


class _Lru(OrderedDict[Any, Any]):
    def keep(self, key: Any, value: Any) -> Any:
        self[key] = value
        if len(self) > CACHED_EXPRESSIONS:
            self.popitem(last=False)
        return value


# ------------------------------------------------------------------------------- serializer
_SCALARS = ("S", "N")
_FLAGS = ("BOOL", "NULL")
_SERVICES = ("dynamodb", "dynamodbstreams")
GENERIC_SERIALIZE_STRUCTURE: Any = None  # moto's own, once installed (the tests compare with it)


def _attribute_value(serializer: Any, value: Any) -> dict[str, Any] | None:
    """What the JSON serializer's walk makes of one AttributeValue, or None: let it walk."""
    if type(value) is not dict or len(value) != 1:
        return None
    ((kind, v),) = value.items()
    if kind in _SCALARS:
        return {kind: v} if type(v) is str else None
    if kind in _FLAGS:
        return {kind: v} if type(v) is bool else None
    if kind == "M":
        if type(v) is not dict:
            return None
        members: dict[str, Any] = {}
        for name, sub in v.items():
            if type(name) is not str or not name:
                return None
            if sub is None:  # the walk skips a member that is None
                continue
            done = _attribute_value(serializer, sub)
            if done is None:
                return None
            members[name] = done
        return {"M": members}
    if kind == "L":
        if type(v) is not list:
            return None
        items: list[Any] = []
        for sub in v:
            if sub is None:  # the walk keeps a None list item as it is
                items.append(None)
                continue
            done = _attribute_value(serializer, sub)
            if done is None:
                return None
            items.append(done)
        return {"L": items}
    if kind in ("SS", "NS"):
        if type(v) is not list or any(type(x) is not str for x in v):
            return None
        return {kind: list(v)}
    if kind == "B":
        return {"B": serializer._base64(v)} if isinstance(v, str | bytes) else None
    if kind == "BS":
        if type(v) is not list or not all(isinstance(x, str | bytes) for x in v):
            return None
        return {"BS": [serializer._base64(x) for x in v]}
    return None


def _direct_attribute_values() -> None:
    from moto.core.serialize import BaseJSONSerializer

    global GENERIC_SERIALIZE_STRUCTURE
    original = GENERIC_SERIALIZE_STRUCTURE = BaseJSONSerializer._serialize_type_structure

    def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and self.service_model.service_name in _SERVICES:
            done = _attribute_value(self, value)
            if done is not None:
                serialized[self.get_serialized_name(shape, key)] = done
                return
        original(self, serialized, value, shape, key)

    BaseJSONSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]


# ------------------------------------------------------------------------------- dispatch
def _cached_method_names() -> None:
    import moto.core.responses as responses
    from moto.core.utils import method_names_from_class

    cache: dict[type, tuple[tuple[int, ...], list[str]]] = {}

    def cached(clazz: Any) -> list[str]:
        shape = tuple(len(vars(c)) for c in clazz.__mro__)
        hit = cache.get(clazz)
        if hit is None or hit[0] != shape:
            hit = cache[clazz] = (shape, method_names_from_class(clazz))
        return hit[1]

    responses.method_names_from_class = cached  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------- expressions
def _cached_update_expressions() -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    original = UpdateExpressionParser.make.__func__  # type: ignore[attr-defined]
    trees = _Lru()

    def make(cls: Any, expression_str: str) -> Any:
        tree = trees.get(expression_str)
        if tree is None:
            return trees.keep(expression_str, original(cls, expression_str))
        trees.move_to_end(expression_str)
        return tree

    UpdateExpressionParser.make = classmethod(make)  # type: ignore[method-assign,assignment]


def _cached_condition_tokens() -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser._lex_condition_expression
    tokens = _Lru()

    def _lex_condition_expression(self: Any) -> deque[Any]:
        text = self.condition_expression
        nodes = tokens.get(text)
        if nodes is None:
            nodes = tokens.keep(text, tuple(original(self)))
        return deque(nodes)

    ConditionExpressionParser._lex_condition_expression = _lex_condition_expression  # type: ignore[method-assign]


def _cached_processing_maps() -> None:
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser

    def _map(self: Any) -> dict[type, Any]:
        found = self.__dict__.get("_speed_map")
        if found is None:
            found = self.__dict__["_speed_map"] = self._processing_map()
        return found  # type: ignore[no-any-return]

    def nodes_to_be_processed(self: Any) -> tuple[type, ...]:
        found = self.__dict__.get("_speed_types")
        if found is None:
            found = self.__dict__["_speed_types"] = tuple(_map(self))
        return found  # type: ignore[no-any-return]

    def process(self: Any, node: Any) -> Any:
        for class_key, processor in _map(self).items():
            if isinstance(node, class_key):
                return processor(node)
        return None

    from moto.dynamodb.parsing.ast_nodes import Node

    node_types: dict[type, bool] = {}  # isinstance(x, Node) == issubclass(type(x), Node): no register()
    handlers: dict[tuple[type, type], type | None] = {}

    def handler(self: Any, node_type: type) -> type | None:
        key = (type(self), node_type)
        if key not in handlers:
            handlers[key] = next((k for k in _map(self) if issubclass(node_type, k)), None)
        return handlers[key]

    def traverse_node_recursively(self: Any, node: Any, child_id: int = -1) -> Any:
        node_type = type(node)
        is_node = node_types.get(node_type)
        if is_node is None:
            is_node = node_types[node_type] = issubclass(node_type, Node)
        if is_node:
            parent_node = node.parent
            if node.children is not None:
                for i, child_node in enumerate(node.children):
                    self.pre_processing_of_child(node, i)
                    self.traverse_node_recursively(child_node, i)
            class_key = handler(self, node_type)
            if class_key is not None:
                node = _map(self)[class_key](node)
                node.parent = parent_node
                if parent_node:
                    parent_node.children[child_id] = node
        return node

    DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed  # type: ignore[method-assign]
    DepthFirstTraverser.process = process  # type: ignore[method-assign]
    DepthFirstTraverser.traverse_node_recursively = traverse_node_recursively  # type: ignore[method-assign]


_IMMUTABLE = (str, int, float, bool, type(None))


class _NotPlain(Exception):
    pass


def _clone(node: Any, original_parent: Any, parent: Any, node_type: type, seen: set[int]) -> Any:
    """A copy of a tree of nodes, equal to deepcopy's; _NotPlain if it is not such a tree (a node
    reached twice, a parent link that is not the containing node, an attribute not immutable)."""
    if id(node) in seen or node.__dict__.get("parent") is not original_parent:
        raise _NotPlain
    seen.add(id(node))
    new = object.__new__(type(node))
    attrs = new.__dict__
    for name, value in node.__dict__.items():
        if name == "parent":
            attrs[name] = parent
        elif name == "children" and type(value) is list:
            attrs[name] = [
                _clone(c, node, new, node_type, seen) if isinstance(c, node_type) else _plain(c)
                for c in value
            ]
        else:
            attrs[name] = _plain(value)
    return new


def _plain(value: Any) -> Any:
    if isinstance(value, _IMMUTABLE):
        return value
    raise _NotPlain


def _cloned_update_trees() -> None:
    import copy

    import moto.dynamodb.parsing.validators as validators
    from moto.dynamodb.parsing.ast_nodes import Node

    class _CloningCopy:
        """Stands in for ``deepcopy`` inside moto's validators module."""

        @staticmethod
        def __call__(value: Any, memo: Any = None) -> Any:
            if memo is None and isinstance(value, Node):
                try:
                    return _clone(value, None, None, Node, set())
                except _NotPlain:
                    pass
            return copy.deepcopy(value, memo)

    validators.deepcopy = _CloningCopy()  # type: ignore[attr-defined]
