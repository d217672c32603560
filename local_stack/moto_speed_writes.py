"""Per-write costs moto pays that change nothing in its answers (moto 5.2.5; profiled with py-spy
``--gil`` on the local stack's moto process under `make bench-load`: TransactWriteItems was half of
its CPU; tests/integration/test_moto_speed_writes.py runs each patched path against moto's own and
demands the same items, errors and stream records):

* a new item's attributes go into moto's size-checked dict one by one, and every insert re-measures
  every attribute already there (O(n²) ``DynamoType.size`` calls: 8 % of the process for items of
  ~30 attributes).
  -> the same check against a running total: the same ``ItemSizeTooLarge`` at the same attribute.
* the update validator's first three walks (at most one SET/ADD/REMOVE clause, no overlapping
  paths, no key attribute updated) depend only on the parsed expression, its attribute names and
  the table's key attributes, and change nothing in the tree.
  -> a combination that passed them once skips them (one that failed runs them again, and raises
  the same); the seven walks that read the item and the values run every time.
* inside TransactWriteItems, moto parses each operation's condition twice (once for the transaction's
  own check, again inside the put / update / delete it then calls, with the same text, names and
  values objects).
  -> the second parse reuses the first's tree (evaluating a condition tree reads it only), for the
  duration of that one transaction call.
"""

from __future__ import annotations

import threading
from typing import Any

from local_stack.moto_speed import _Lru

_installed = False


def install() -> None:
    """Idempotent; from moto_speed.install()."""
    global _installed
    if _installed:
        return
    _linear_item_size_check()
    _static_update_checks_once()
    _one_condition_parse_per_transaction_op()
    _installed = True


# ------------------------------------------------------------------------------- item size
ITEM_SIZE_LIMIT = 405000  # moto's own (LimitedSizeDict.__setitem__)


def _linear_item_size_check() -> None:
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    def size_of(x: Any) -> int:  # what LimitedSizeDict.__setitem__ counts for a key or a value
        return int(x.size()) if type(x) is DynamoType else dynamo_type.bytesize(str(x))

    def __init__(self: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        self.hash_key = hash_key
        self.range_key = range_key
        self.attrs = built = LimitedSizeDict()
        total = 0
        for key, value in attrs.items():
            typed = DynamoType(value)
            new = size_of(key) + size_of(typed)
            if total + new > ITEM_SIZE_LIMIT:
                raise dynamo_type.ItemSizeTooLarge
            dict.__setitem__(built, key, typed)
            total += new

    Item.__init__ = __init__  # type: ignore[method-assign]


# ------------------------------------------------------------------------------- update validation
def _static_update_checks_once() -> None:
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    static = (
        validators.ActionCountValidator,
        validators.OverlappingPathsValidator,
        validators.UpdateHashRangeKeyValidator,
    )
    passed = _Lru()  # (id(tree), names, key attributes) -> the tree (so an id is never reused)
    lock = threading.Lock()
    original_init = UpdateExpressionValidator.__init__

    def __init__(self: Any, expression: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, expression, *args, **kwargs)
        self._speed_tree = expression

    def validate(self: Any) -> Any:
        names = self.expression_attribute_names or {}
        key = (id(self._speed_tree), tuple(sorted(names.items())), tuple(self.table.table_key_attrs))
        with lock:
            skip = passed.get(key) is self._speed_tree
        n = self.node_to_validate
        left = sum(1 for p in self.processors if isinstance(p, static))
        for processor in self.processors:
            if isinstance(processor, static):
                left -= 1
                if skip:
                    continue
                n = processor.traverse(n)
                if not left:
                    with lock:
                        passed.keep(key, self._speed_tree)
                continue
            n = processor.traverse(n)
        return n

    UpdateExpressionValidator.__init__ = __init__  # type: ignore[method-assign]
    UpdateExpressionValidator.validate = validate  # type: ignore[method-assign]


# ------------------------------------------------------------------------------- transactions
_memo = threading.local()


def _one_condition_parse_per_transaction_op() -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser
    from moto.dynamodb.models import DynamoDBBackend

    parse = ConditionExpressionParser.parse

    def memo_parse(self: Any) -> Any:
        trees: dict[Any, Any] | None = getattr(_memo, "trees", None)
        if trees is None or not self.condition_expression:
            return parse(self)
        names, values = self.expression_attribute_names, self.expression_attribute_values
        key = (self.condition_expression, id(names), id(values))
        hit = trees.get(key)
        if hit is not None and hit[1] is names and hit[2] is values:
            return hit[0]
        tree = parse(self)  # raises as before; nothing kept then
        trees[key] = (tree, names, values)  # the objects kept: their ids stay theirs meanwhile
        return tree

    ConditionExpressionParser.parse = memo_parse  # type: ignore[method-assign]
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        outer = getattr(_memo, "trees", None)
        _memo.trees = {}
        try:
            original(self, transact_items)
        finally:
            _memo.trees = outer

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
