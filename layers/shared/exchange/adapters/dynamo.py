"""DynamoDB access with exact integers: the low-level client, our own (de)serialisation, transactions.

Numbers are sent as plain integer strings, never ``Decimal`` (boto3 turns ``Decimal("0.00000000")``
into ``0E-8``, which DynamoDB accepts but moto's arithmetic crashes on). A float or Decimal handed to
this module is a bug and raises ``TypeError`` before anything is sent.
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

Item = dict[str, Any]

_CLIENT_CONFIG = Config(retries={"max_attempts": 4, "mode": "standard"}, connect_timeout=3, read_timeout=10)
T = TypeVar("T")

# Bounded, jittered exponential backoff ("full jitter", as AWS advises) for what DynamoDB hands
# back to retry: UnprocessedKeys of a BatchGetItem, and a write refused for a transaction conflict.
BACKOFF_BASE_S = 0.02
BACKOFF_CAP_S = 1.0
BATCH_GET_ATTEMPTS = 8
CONFLICT_ATTEMPTS = 4


def backoff_delay(attempt: int, rng: Callable[[], float] | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (0-based): uniform in [0, min(cap, base*2^n)]."""
    return (rng or random.random)() * min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt)


@cache
def dynamodb_client() -> Any:
    return boto3.client("dynamodb", config=_CLIENT_CONFIG)


def serialize(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if value is None:
        return {"NULL": True}
    if isinstance(value, Mapping):
        return {"M": {str(k): serialize(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [serialize(v) for v in value]}
    if isinstance(value, set | frozenset):
        return {"SS": sorted(str(v) for v in value)}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    raise TypeError(f"refusing to store {type(value).__name__}: integers inside (cents, shares)")


def _number(text: str) -> int:
    if text.lstrip("-").isdigit():
        return int(text)
    from decimal import Decimal  # only for numbers written by something other than this module

    d = Decimal(text)
    if d != d.to_integral_value():
        raise ValueError(f"non-integer number in the table: {text}")
    return int(d)


def deserialize(av: Mapping[str, Any]) -> Any:
    ((kind, value),) = av.items()
    if kind == "S":
        return value
    if kind == "N":
        return _number(value)
    if kind == "BOOL":
        return value
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: deserialize(v) for k, v in value.items()}
    if kind == "L":
        return [deserialize(v) for v in value]
    if kind == "SS":
        return set(value)
    if kind == "B":  # bytes from boto3; base64 text in a stream record as Lambda delivers it
        return value if isinstance(value, bytes) else base64.b64decode(value)
    if kind == "NS":
        return {_number(v) for v in value}
    raise TypeError(f"unsupported attribute type {kind}")


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: serialize(v) for k, v in values.items()}


def from_item(item: Mapping[str, Any]) -> Item:
    return {k: deserialize(v) for k, v in item.items()}


def _expressions(
    condition: str | None, names: Mapping[str, str] | None, values: Mapping[str, Any] | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if condition:
        out["ConditionExpression"] = condition
    if names:
        out["ExpressionAttributeNames"] = dict(names)
    if values:
        out["ExpressionAttributeValues"] = to_item(values)
    return out


class ConditionFailed(Exception):
    """A single conditional write's condition did not hold."""


class TransactionFailed(Exception):
    """A transaction was cancelled; ``reasons`` has one code per operation (``None`` = fine)."""

    def __init__(self, reasons: list[str | None], old_items: list[Item | None]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons
        self.old_items = old_items

    def failed_condition_at(self) -> list[int]:
        return [i for i, r in enumerate(self.reasons) if r == "ConditionalCheckFailed"]


class TransactionConflict(TransactionFailed):
    """Another transaction held one of the items (``TransactionConflict`` as a cancellation reason,
    or ``TransactionConflictException`` on a single write) and the bounded retries did not get
    through. Nothing was written; the same request may be tried again later. A subclass of
    ``TransactionFailed`` so a caller that treats any cancelled transaction alike still does."""


class RetriesExhausted(Exception):
    """DynamoDB kept handing work back (UnprocessedKeys) after the bounded backoff."""


def _cancellation(exc: ClientError) -> tuple[list[str | None], list[Item | None]]:
    """A cancelled transaction's reason code per operation (``None`` = fine) and old items."""
    reasons: list[str | None] = []
    olds: list[Item | None] = []
    for r in exc.response.get("CancellationReasons") or []:
        code = r.get("Code")
        reasons.append(None if code in (None, "None") else code)
        olds.append(from_item(r["Item"]) if r.get("Item") else None)
    return reasons, olds


def _is_conflict(exc: ClientError) -> bool:
    error = exc.response["Error"]["Code"]
    if error == "TransactionConflictException":
        return True
    if error != "TransactionCanceledException":
        return False
    codes = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
    # a failed condition is an answer, not contention: the caller maps it (funds, duplicate, ...)
    return "TransactionConflict" in codes and "ConditionalCheckFailed" not in codes


@dataclass
class Op:
    """One operation of a transaction, with plain Python values (serialised on send)."""

    kind: str  # Put | Update | Delete | ConditionCheck
    table: str
    key: Item | None = None
    item: Item | None = None
    update: str | None = None
    condition: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def to_request(self) -> dict[str, Any]:
        body: dict[str, Any] = {"TableName": self.table}
        if self.kind == "Put":
            body["Item"] = to_item(self.item or {})
        else:
            body["Key"] = to_item(self.key or {})
        if self.update:
            body["UpdateExpression"] = self.update
        if self.condition:
            body["ConditionExpression"] = self.condition
            body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if self.names:
            body["ExpressionAttributeNames"] = self.names
        if self.values:
            body["ExpressionAttributeValues"] = to_item(self.values)
        return {self.kind: body}


@dataclass
class Page:
    items: list[Item]
    last_key: Item | None


class Table:
    """One DynamoDB table, addressed by ``pk``/``sk``."""

    sleep: Callable[[float], None] = staticmethod(time.sleep)  # tests replace it

    def __init__(self, name: str, client: Any | None = None) -> None:
        self.name = name
        self._client = client

    def _retry_conflicts(self, call: Callable[[], T]) -> T:
        """Run a write; on a transaction conflict wait (jittered, growing) and run it again, a
        bounded number of times: a conflicted write changed nothing, so it is safe to repeat."""
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                return call()
            except ClientError as exc:
                if not _is_conflict(exc):
                    raise
                if attempt == CONFLICT_ATTEMPTS - 1:
                    reasons, olds = _cancellation(exc)
                    raise TransactionConflict(reasons or ["TransactionConflict"], olds or [None]) from exc
                self.sleep(backoff_delay(attempt))
        raise AssertionError("unreachable")

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = dynamodb_client()
        return self._client

    # ------------------------------------------------------------------ reads
    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Item | None:
        resp = self.client.get_item(
            TableName=self.name, Key=to_item({"pk": pk, "sk": sk}), ConsistentRead=consistent
        )
        item = resp.get("Item")
        return from_item(item) if item else None

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Item]:
        """BatchGetItem (strongly consistent), any number of keys."""
        found: dict[tuple[str, str], Item] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):
            request: dict[str, Any] = {
                self.name: {
                    "Keys": [to_item({"pk": pk, "sk": sk}) for pk, sk in unique[start : start + 100]],
                    "ConsistentRead": True,
                }
            }
            attempt = 0
            while request:
                resp = self.client.batch_get_item(RequestItems=request)
                for raw in resp.get("Responses", {}).get(self.name, []):
                    item = from_item(raw)
                    found[(item["pk"], item["sk"])] = item
                request = resp.get("UnprocessedKeys") or {}
                if request:
                    if attempt == BATCH_GET_ATTEMPTS:
                        raise RetriesExhausted(f"BatchGetItem on {self.name}: keys left unprocessed")
                    self.sleep(backoff_delay(attempt))
                    attempt += 1
        return found

    def query(
        self,
        key_condition: str,
        values: Mapping[str, Any],
        *,
        names: Mapping[str, str] | None = None,
        index: str | None = None,
        forward: bool = True,
        limit: int | None = None,
        start_key: Item | None = None,
        consistent: bool = False,
        filter_expression: str | None = None,
    ) -> Page:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": to_item(values),
            "ScanIndexForward": forward,
        }
        if names:
            kwargs["ExpressionAttributeNames"] = dict(names)
        if index:
            kwargs["IndexName"] = index
        elif consistent:
            kwargs["ConsistentRead"] = True
        if limit:
            kwargs["Limit"] = limit
        if start_key:
            kwargs["ExclusiveStartKey"] = to_item(start_key)
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        resp = self.client.query(**kwargs)
        last = resp.get("LastEvaluatedKey")
        return Page([from_item(i) for i in resp.get("Items", [])], from_item(last) if last else None)

    def query_all(self, key_condition: str, values: Mapping[str, Any], **kwargs: Any) -> Iterator[Item]:
        start: Item | None = None
        while True:
            page = self.query(key_condition, values, start_key=start, **kwargs)
            yield from page.items
            if page.last_key is None:
                return
            start = page.last_key

    # ------------------------------------------------------------------ writes
    def put(
        self,
        item: Item,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        kwargs = {"TableName": self.name, "Item": to_item(item), **_expressions(condition, names, values)}
        try:
            self._retry_conflicts(lambda: self.client.put_item(**kwargs))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConditionFailed(str(exc)) from exc
            raise

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
        return_new: bool = False,
    ) -> Item | None:
        kwargs = {
            "TableName": self.name,
            "Key": to_item({"pk": pk, "sk": sk}),
            "UpdateExpression": expression,
            **_expressions(condition, names, values),
        }
        if return_new:
            kwargs["ReturnValues"] = "ALL_NEW"
        try:
            resp = self._retry_conflicts(lambda: self.client.update_item(**kwargs))
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConditionFailed(str(exc)) from exc
            raise
        return from_item(resp["Attributes"]) if return_new else None

    def delete(self, pk: str, sk: str) -> None:
        self.client.delete_item(TableName=self.name, Key=to_item({"pk": pk, "sk": sk}))

    # ------------------------------------------------------------------ transactions
    def transact(self, ops: Sequence[Op]) -> None:
        """TransactWriteItems (at most 100 operations); raises ``TransactionFailed`` with reasons."""
        if not ops:
            return
        if len(ops) > 100:
            raise ValueError(f"a transaction holds at most 100 operations, got {len(ops)}")
        items = [op.to_request() for op in ops]
        try:
            self._retry_conflicts(lambda: self.client.transact_write_items(TransactItems=items))
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            raise TransactionFailed(*_cancellation(exc)) from exc
