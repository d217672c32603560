"""A small in-memory stand-in for the DynamoDB low-level client, for the preload only: the calls the
order and matcher use cases make (GetItem, BatchGetItem, Query on a key, TransactWriteItems,
PutItem, UpdateItem) on one table, fast enough to make 100,000 orders in a minute or two.

It is not an emulator: conditions are not evaluated (the preload is the only writer and its orders
are always funded), and an update expression it does not know raises ``NotImplementedError`` (the
preload then says so instead of storing something else than the use case meant). It knows
``SET a = b``, ``SET a = b + c`` / ``b - c``, ``if_not_exists(a, b)``, ``ADD a :v``, ``REMOVE a``,
with ``#names`` and ``:values``. Items are kept as the serialised attribute maps DynamoDB returns,
so what it hands back to the adapter is what moto would hand back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from exchange.adapters.dynamo import deserialize, from_item, to_item

Key = tuple[str, str]
_CLAUSE = re.compile(r"\b(SET|ADD|REMOVE|DELETE)\b", re.IGNORECASE)
_KEY_CONDITION = re.compile(
    r"\s*(#?\w+)\s*=\s*(:\w+)\s*(?:AND\s+begins_with\(\s*(#?\w+)\s*,\s*(:\w+)\s*\))?\s*"
)
_INDEXES = {"gsi1": ("gsi1pk", "gsi1sk"), "open_orders": ("book_symbol", "book_seq")}


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


class MemoryDynamo:
    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items: dict[Key, dict[str, Any]] = {}  # python values
        for raw in items:
            item = from_item(raw)
            self.items[(item["pk"], item["sk"])] = item
        self.dirty: set[Key] = set()

    # ------------------------------------------------------------------ the preload's side
    def take_dirty(self, finished: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The changed items (serialised) since the last call; the ``finished`` ones are forgotten."""
        out = []
        for k in sorted(self.dirty):
            item = self.items.get(k)
            if item is None:
                continue
            if k[1] == "BOOK":
                item = {**item, "events": "[]"}  # the batch's events: never sent, never to be
            out.append(to_item(item))
            if finished(item):
                del self.items[k]
        self.dirty.clear()
        return out

    # ------------------------------------------------------------------ reads
    def get_item(self, *, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        item = self.items.get(self._key(Key))
        return {"Item": to_item(item)} if item is not None else {}

    def batch_get_item(self, *, RequestItems: dict[str, Any]) -> dict[str, Any]:
        ((table, request),) = RequestItems.items()
        found = [self.items.get(self._key(k)) for k in request["Keys"]]
        return {"Responses": {table: [to_item(i) for i in found if i is not None]}, "UnprocessedKeys": {}}

    def query(self, **kw: Any) -> dict[str, Any]:
        values = {k: deserialize(v) for k, v in kw.get("ExpressionAttributeValues", {}).items()}
        names = kw.get("ExpressionAttributeNames", {})
        hash_name, range_name = _INDEXES.get(kw.get("IndexName", ""), ("pk", "sk"))
        m = _KEY_CONDITION.fullmatch(kw["KeyConditionExpression"])
        if not m or kw.get("FilterExpression") or names.get(m.group(1), m.group(1)) != hash_name:
            raise NotImplementedError(f"memory_dynamo: query {kw.get('KeyConditionExpression')!r}")
        hash_value, prefix = values[m.group(2)], values[m.group(4)] if m.group(4) else None
        out = [
            i
            for i in self.items.values()
            if i.get(hash_name) == hash_value
            and range_name in i
            and (prefix is None or str(i[range_name]).startswith(prefix))
        ]
        out.sort(key=lambda i: i[range_name], reverse=not kw.get("ScanIndexForward", True))
        if kw.get("Limit"):
            out = out[: kw["Limit"]]
        return {"Items": [to_item(i) for i in out]}

    # ------------------------------------------------------------------ writes
    def put_item(self, *, TableName: str, Item: dict[str, Any], **_: Any) -> dict[str, Any]:
        item = from_item(Item)
        k = (item["pk"], item["sk"])
        self.items[k] = item
        self.dirty.add(k)
        return {}

    def update_item(
        self, *, TableName: str, Key: dict[str, Any], UpdateExpression: str, **kw: Any
    ) -> dict[str, Any]:
        k = self._key(Key)
        item = self.items.get(k) or from_item(Key)
        values = {n: deserialize(v) for n, v in kw.get("ExpressionAttributeValues", {}).items()}
        self.items[k] = _apply(dict(item), UpdateExpression, kw.get("ExpressionAttributeNames", {}), values)
        self.dirty.add(k)
        return {"Attributes": to_item(self.items[k])} if kw.get("ReturnValues") == "ALL_NEW" else {}

    def delete_item(self, *, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        k = self._key(Key)
        self.items.pop(k, None)
        return {}

    def transact_write_items(self, *, TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        for entry in TransactItems:
            ((kind, op),) = entry.items()
            if kind == "Put":
                self.put_item(TableName=op["TableName"], Item=op["Item"])
            elif kind == "Update":
                self.update_item(**{k: v for k, v in op.items() if k != "ConditionExpression"})
            elif kind == "Delete":
                self.delete_item(TableName=op["TableName"], Key=op["Key"])
        return {}

    @staticmethod
    def _key(key: dict[str, Any]) -> Key:
        return str(deserialize(key["pk"])), str(deserialize(key["sk"]))


def _apply(
    item: dict[str, Any], expression: str, names: dict[str, str], values: dict[str, Any]
) -> dict[str, Any]:
    pieces = _CLAUSE.split(expression)
    for verb, body in zip(pieces[1::2], pieces[2::2], strict=True):
        verb = verb.upper()
        for action in _split_top(body):
            if verb == "SET":
                path, _, rhs = action.partition("=")
                item[names.get(path.strip(), path.strip())] = _value(rhs.strip(), item, names, values)
            elif verb == "ADD":
                path, value = action.split()
                name = names.get(path, path)
                item[name] = item.get(name, 0) + values[value]
            elif verb == "REMOVE":
                item.pop(names.get(action, action), None)
            else:
                raise NotImplementedError(f"memory_dynamo: {verb} in {expression!r}")
    return item


def _value(text: str, item: dict[str, Any], names: dict[str, str], values: dict[str, Any]) -> Any:
    m = re.fullmatch(r"(.+?)\s*([+-])\s*(.+)", text)
    if m and not text.startswith("if_not_exists"):
        left, right = _value(m.group(1), item, names, values), _value(m.group(3), item, names, values)
        return left + right if m.group(2) == "+" else left - right
    m = re.fullmatch(r"if_not_exists\(\s*(#?\w+)\s*,\s*(.+)\)", text)
    if m:
        name = names.get(m.group(1), m.group(1))
        return item[name] if name in item else _value(m.group(2).strip(), item, names, values)
    if text.startswith(":"):
        return values[text]
    if re.fullmatch(r"#?\w+", text):
        return item[names.get(text, text)]
    raise NotImplementedError(f"memory_dynamo: value {text!r}")
