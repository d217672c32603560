"""Billing meter for benchmarks/aws_cost.py: every AWS request the application makes, priced by AWS's
own rules from the real items (read back from moto before and after each write).

DynamoDB item size (AWS "DynamoDB item sizes and formats", CapacityUnitCalculations.html):
  "The total size of an item is the sum of the lengths of its attribute names and values":
  strings = UTF-8 bytes; numbers "approximately (1 byte per two significant digits) + (1 byte)"
  (leading and trailing zeroes trimmed); binary = raw bytes; null / Boolean = 1 byte; a List or Map
  "requires 3 bytes of overhead, regardless of its contents" plus its elements, and (same page)
  "each List or Map element also requires 1 byte of overhead".
Capacity (on-demand pricing page and the developer guide):
  write: 1 WRU per 1 KB or part of the LARGER of the item before and after the write (Put, Update,
  Delete = the deleted item), x2 for each item of a TransactWriteItems; a global secondary index
  costs its own writes: 1 per KB of the index entry when an item enters, leaves or changes a
  projected attribute of the index, 2 when it changes the index key (delete + put). Index writes
  caused by a transaction are counted x1 (the docs do not say x2; stated as an assumption).
  read: 1 RRU per 4 KB or part strongly consistent, 0.5 eventually consistent (GSIs always are);
  BatchGetItem rounds each item separately (a key not found costs the minimum); Query sums the
  sizes of every item it read (before any FilterExpression) and rounds once; a read that finds
  nothing still costs the minimum.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3

KB = 1024


# ---------------------------------------------------------------------- item sizes
def number_size(text: str) -> int:
    digits = text.lstrip("-+").split("e")[0].split("E")[0].replace(".", "").strip("0")
    return math.ceil(len(digits) / 2) + 1


def value_size(av: Mapping[str, Any]) -> int:
    ((kind, value),) = av.items()
    if kind == "S":
        return len(value.encode())
    if kind == "N":
        return number_size(value)
    if kind == "B":
        return len(value)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in value)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in value.items())
    if kind == "SS":
        return sum(len(v.encode()) for v in value)
    if kind == "NS":
        return sum(number_size(v) for v in value)
    if kind == "BS":
        return sum(len(v) for v in value)
    raise TypeError(kind)


def item_size(item: Mapping[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + value_size(av) for name, av in item.items())


def wru(size: int) -> int:
    return max(1, math.ceil(size / KB))


def rru_units(size: int) -> int:
    return max(1, math.ceil(size / (4 * KB)))


# ---------------------------------------------------------------------- what was billed
@dataclass
class Usage:
    """Billable units of one scenario."""

    wru: float = 0.0
    gsi_wru: float = 0.0
    rru: float = 0.0
    stream_reads: float = 0  # GetRecords (free when Lambda reads)
    sqs: float = 0  # requests, 64 KB chunks
    lambda_invocations: Counter[str] = field(default_factory=Counter)
    rest_requests: float = 0
    ws_messages: float = 0  # 32 KB chunks
    ws_bytes: int = 0
    calls: Counter[str] = field(default_factory=Counter)  # service.Operation -> n
    by_item: Counter[str] = field(default_factory=Counter)  # item kind -> WRU (table writes)
    writes: list[tuple[str, str, int, int, int]] = field(default_factory=list)  # op, kind, old, new, wru
    book_sizes: list[int] = field(default_factory=list)  # BOOK item bytes after each write
    book_wru: float = 0.0
    orders: int = 1  # the units are per order: divided by this many orders placed together
    book_items: list[tuple[Any, Any]] = field(default_factory=list)  # BOOK (before, after), typed


def item_kind(pk: str, sk: str) -> str:
    for prefix, name in (
        ("BOOK", "BOOK"),
        ("STOCK", "STOCK"),
        ("CASH", "CASH"),
        ("HOLDING#", "HOLDING"),
        ("ORDER#", "ORDER"),
        ("FILL#", "FILL"),
        ("CLIENTID#", "CLIENTID"),
        ("META", "CONN"),
    ):
        if sk.startswith(prefix):
            return name
    if pk.startswith("TRADES#"):
        return "TRADE"
    return sk.split("#")[0] or pk.split("#")[0]


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    table_keys: tuple[str, ...]

    def entry(self, item: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if not item or any(k not in item for k in self.keys):
            return None  # sparse: not in the index
        if self.projection == "ALL":
            return dict(item)
        return {k: item[k] for k in (*self.table_keys, *self.keys) if k in item}


def index_writes(indexes: list[Index], old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> int:
    units = 0
    for ix in indexes:
        before, after = ix.entry(old), ix.entry(new)
        if before is None and after is None:
            continue
        if before is None or after is None:
            units += wru(item_size(before or after))
        elif any(before[k] != after[k] for k in ix.keys):
            units += wru(item_size(before)) + wru(item_size(after))
        elif before != after:
            units += wru(max(item_size(before), item_size(after)))
    return units


# ---------------------------------------------------------------------- the meter
class Meter:
    """botocore hooks on boto3's default session (so every client the handlers create is seen);
    a separate session (``probe``) reads items back without being metered."""

    def __init__(self) -> None:
        self.usage = Usage()
        self.active = False
        self.probe = boto3.session.Session().client("dynamodb", region_name="us-east-1")
        self._tables: dict[str, tuple[tuple[str, ...], list[Index]]] = {}
        session = boto3._get_default_session()
        session.events.register("before-parameter-build", self._before)
        session.events.register("after-call", self._after)

    def reset(self) -> Usage:
        used, self.usage = self.usage, Usage()
        return used

    # -------------------------------------------------------------- schema
    def _schema(self, table: str) -> tuple[tuple[str, ...], list[Index]]:
        if table not in self._tables:
            d = self.probe.describe_table(TableName=table)["Table"]
            keys = tuple(k["AttributeName"] for k in d["KeySchema"])
            indexes = [
                Index(
                    g["IndexName"],
                    tuple(k["AttributeName"] for k in g["KeySchema"]),
                    g["Projection"]["ProjectionType"],
                    keys,
                )
                for g in d.get("GlobalSecondaryIndexes", [])
            ]
            self._tables[table] = (keys, indexes)
        return self._tables[table]

    def _read(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        return self.probe.get_item(TableName=table, Key=dict(key), ConsistentRead=True).get("Item")

    def _key(self, table: str, item: Mapping[str, Any]) -> dict[str, Any]:
        keys, _ = self._schema(table)
        return {k: item[k] for k in keys}

    def _write_targets(self, op: str, params: Mapping[str, Any]) -> list[tuple[str, dict[str, Any], int]]:
        """(table, key, multiplier) of every item a write request touches."""
        if op in ("PutItem", "UpdateItem", "DeleteItem"):
            table = params["TableName"]
            key = self._key(table, params["Item"]) if op == "PutItem" else dict(params["Key"])
            return [(table, key, 1)]
        if op == "TransactWriteItems":
            out = []
            for t in params["TransactItems"]:
                ((kind, body),) = t.items()
                key = self._key(body["TableName"], body["Item"]) if kind == "Put" else dict(body["Key"])
                out.append((body["TableName"], key, 2 if kind != "ConditionCheck" else 0))
            return out
        if op == "BatchWriteItem":
            out = []
            for table, reqs in params["RequestItems"].items():
                for r in reqs:
                    if "PutRequest" in r:
                        out.append((table, self._key(table, r["PutRequest"]["Item"]), 1))
                    else:
                        out.append((table, dict(r["DeleteRequest"]["Key"]), 1))
            return out
        return []

    # -------------------------------------------------------------- hooks
    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self.active:
            return
        service = model.service_model.service_name
        context["cost_metered"] = True
        context["cost_params"] = dict(params)
        if service == "dynamodb":
            targets = self._write_targets(model.name, params)
            context["cost_writes"] = [(t, k, m, self._read(t, k)) for t, k, m in targets]

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if not self.active or "cost_metered" not in context:
            return
        service, op = model.service_model.service_name, model.name
        u = self.usage
        u.calls[f"{service}.{op}"] += 1
        if service == "dynamodb":
            self._dynamodb(op, context.get("cost_params", {}), parsed, context.get("cost_writes", []))
        elif service == "sqs":
            u.sqs += self._sqs(op, context, parsed)
        elif service == "dynamodbstreams" and op == "GetRecords":
            u.stream_reads += 1

    def _dynamodb(
        self, op: str, params: Mapping[str, Any], parsed: Mapping[str, Any], writes: list[Any]
    ) -> None:
        u = self.usage
        failed = "Error" in parsed
        for table, key, mult, old in writes:
            new = old if failed else self._read(table, key)
            _, indexes = self._schema(table)
            units = wru(max(item_size(old), item_size(new))) * mult
            pk, sk = key.get("pk", {}).get("S", ""), key.get("sk", {}).get("S", "")
            kind = item_kind(pk, sk)
            u.wru += units
            u.by_item[kind] += units
            u.writes.append((op, kind, item_size(old), item_size(new), units))
            if not failed:
                u.gsi_wru += index_writes(indexes, old, new)
            if kind == "BOOK":
                u.book_sizes.append(item_size(new))
                u.book_items.append((old, new))
                u.book_wru += units
        if op == "GetItem":
            size = item_size(parsed.get("Item"))
            u.rru += rru_units(size) * (1 if params.get("ConsistentRead") else 0.5)
        elif op == "BatchGetItem":
            for table, req in params["RequestItems"].items():
                found = parsed.get("Responses", {}).get(table, [])
                factor = 1 if req.get("ConsistentRead") else 0.5
                u.rru += sum(rru_units(item_size(i)) for i in found) * factor
                u.rru += (len(req["Keys"]) - len(found)) * factor
        elif op == "Query":
            probe = {k: v for k, v in params.items() if k not in ("FilterExpression", "ProjectionExpression")}
            if "FilterExpression" in params or "ProjectionExpression" in params:
                names = probe.get("ExpressionAttributeNames", {})
                probe["ExpressionAttributeValues"] = {
                    k: v
                    for k, v in probe.get("ExpressionAttributeValues", {}).items()
                    if k in probe["KeyConditionExpression"]
                }
                if names:
                    probe["ExpressionAttributeNames"] = {
                        k: v for k, v in names.items() if k in probe["KeyConditionExpression"]
                    } or None
                    if probe["ExpressionAttributeNames"] is None:
                        del probe["ExpressionAttributeNames"]
                items = self.probe.query(**probe).get("Items", [])
            else:
                items = parsed.get("Items", [])
            consistent = params.get("ConsistentRead") and "IndexName" not in params
            u.rru += rru_units(sum(item_size(i) for i in items)) * (1 if consistent else 0.5)

    def _sqs(self, op: str, context: Mapping[str, Any], parsed: Mapping[str, Any]) -> int:
        if op == "ReceiveMessage":
            if not parsed.get("Messages"):
                return 0  # an empty receive: the poller's idle cost, not this order's
            payload = sum(len(m.get("Body", "").encode()) for m in parsed.get("Messages", []))
            return max(1, math.ceil(payload / (64 * KB)))
        if op == "SendMessage":
            body = context.get("cost_params", {}).get("MessageBody", "")
            return max(1, math.ceil(len(body.encode()) / (64 * KB)))
        return 1  # DeleteMessageBatch and the rest: one request


@dataclass
class Pusher:
    """Stands in for ConnectionPusher: one post_to_connection per call, counted as WebSocket messages."""

    usage: Callable[[], Usage]

    def send(self, connection_id: str, data: bytes) -> None:
        u = self.usage()
        u.calls["apigatewaymanagementapi.PostToConnection"] += 1
        u.ws_messages += max(1, math.ceil(len(data) / (32 * KB)))
        u.ws_bytes += len(data)
