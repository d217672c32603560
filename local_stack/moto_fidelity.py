"""Patches that make moto's DynamoDB behave like AWS where our code can observe the difference.

Measured on moto 5.2.5 (../shared/LOCAL_STACK.md); each patch has a test in
tests/integration/test_moto_fidelity.py that fails on plain moto and passes here:

* isolation: moto serves requests on many threads with no locking, and a cancelled transaction
  restores a deep copy of every table it touched taken at its start, wiping what other requests
  committed meanwhile (and some requests 500 with "dictionary changed size during iteration").
  -> one lock around every DynamoDB / DynamoDB Streams request: requests are serialised, as if
  each were atomic, which is what AWS guarantees per item and per transaction.
* transaction cost: that deep copy costs O(table) per transaction (190 ms at 10k items).
  -> snapshot only the items a transaction touches (and the stream's length) and restore those.
* numbers in exponent form ("0E-8", "1E+3"), valid in DynamoDB, crash moto's arithmetic.
  -> normalise them to plain decimal strings when moto parses them.
* SendMessage to a FIFO queue computes every queue attribute (the approximate counts walk every
  message, with datetime arithmetic) just to read ContentBasedDeduplication: sending slows down
  with the queue's depth.
  -> validation reads that one attribute.
* ReceiveMessage computes every queue attribute once per message (retention check), and the
  server lists moto's package folder on disk for every request to find the service.
  -> read the retention period directly; list the folder once.
* memory grows without bound in a long-running stack: every moto model object ever made (each SQS
  message, each stream ShardIterator — the poller makes one per poll, 20 a second) is kept in a
  class-level list for moto's dashboard, and every ShardIterator also in the streams backend
  (~50 MB an hour when idle; a class trading for a week would need gigabytes).
  -> no tracking list; the streams backend keeps the newest SHARD_ITERATORS_KEPT iterators (AWS
  expires an iterator 15 minutes after it was issued; older ones are "expired" here too).
* an UpdateItem that creates its item emits two stream records in moto (an INSERT of the bare key,
  then an INSERT of the whole item); AWS emits one.
  -> the bare-key write inside UpdateItem does not reach the stream.
* Query walks and sorts every item of the table (base table and GSIs), and pages by walking from
  the first item: 10 items of one partition cost O(table).
  -> local_stack/moto_index.py: sorted key lists per partition, kept on every write; moto's own
  query runs over the page's window (tests/integration/test_moto_differential.py).
* SendMessage (the FIFO deduplication compares with every message), ReceiveMessage (lists every
  visible message first), DeleteMessage and ChangeMessageVisibility (look for the receipt handle
  in every message) cost O(queue depth); and the validation above read ContentBasedDeduplication
  as a bool where moto compares "false", so a FIFO send without a deduplication id (content-based
  deduplication off) was accepted where moto and AWS refuse it.
  -> local_stack/moto_sqs.py: the same steps over dicts by deduplication id and receipt handle.
* per-call costs that change no answer (the serializer's walk, expression parsing, ...): see
  local_stack/moto_speed.py (`LOCAL_MOTO_SPEED=0` leaves them out; tests/integration/test_moto_front.py
  compares the answers with and without).
"""

from __future__ import annotations

import copy
import threading
import types
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from local_stack import moto_speed

DYNAMODB_LOCK = threading.RLock()
_installed = False


def install() -> None:
    """Idempotent: apply every patch once per process."""
    global _installed
    if _installed:
        return
    _serialise_requests()
    _touched_item_snapshots()
    _plain_numbers()
    _one_record_per_update()
    _cheap_send_validation()
    _cheap_receive_and_dispatch()
    _bounded_memory()
    moto_speed.install()
    from local_stack import moto_index_hooks, moto_sqs

    moto_index_hooks.install()  # after _touched_item_snapshots: it re-reads what a rollback restored
    moto_sqs.install()
    _installed = True


def _locked(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with DYNAMODB_LOCK:
            return fn(*args, **kwargs)

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper


def _serialise_requests() -> None:
    from moto.dynamodb.responses import DynamoHandler
    from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

    DynamoHandler.call_action = _locked(DynamoHandler.call_action)  # type: ignore[method-assign]
    DynamoDBStreamsHandler.call_action = _locked(  # type: ignore[method-assign]
        DynamoDBStreamsHandler.call_action
    )


class _NoTableCopy(types.ModuleType):
    """Stands in for the ``copy`` module inside moto's backend during a transaction: tables are not
    deep-copied (we snapshot the touched items instead); everything else copies as usual."""

    def __init__(self) -> None:
        super().__init__("copy")
        from moto.dynamodb.models.table import Table

        self._table_type = Table

    def deepcopy(self, obj: Any, memo: Any = None) -> Any:
        if isinstance(obj, self._table_type):
            return obj
        return copy.deepcopy(obj, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _touched_item_snapshots() -> None:
    import moto.dynamodb.models as backend_module
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = DynamoDBBackend.transact_write_items
    no_table_copy = _NoTableCopy()

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots: list[tuple[Any, Any, Any, Any]] = []
        stream_lengths: dict[int, tuple[Any, int]] = {}
        for entry in transact_items:
            _, op = next(iter(entry.items()))
            name = op.get("TableName")
            if not name or name not in self.tables:
                continue
            table = self.tables[name]
            attrs = op.get("Item") or op.get("Key") or {}
            if table.hash_key_attr not in attrs:
                continue
            hash_value = DynamoType(attrs[table.hash_key_attr])
            range_value = None
            if table.range_key_attr is not None:
                if table.range_key_attr not in attrs:
                    continue
                range_value = DynamoType(attrs[table.range_key_attr])
            current = table.get_item(hash_value, range_value)
            snapshots.append((table, hash_value, range_value, copy.deepcopy(current)))
            if table.stream_shard is not None:
                stream_lengths.setdefault(id(table), (table, len(table.stream_shard.items)))
        saved_copy = backend_module.copy  # type: ignore[attr-defined]
        backend_module.copy = no_table_copy  # type: ignore[attr-defined]
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(snapshots):
                _restore(table, hash_value, range_value, item)
            for table, length in stream_lengths.values():
                del table.stream_shard.items[length:]
            raise
        finally:
            backend_module.copy = saved_copy  # type: ignore[attr-defined]

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def _restore(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    if range_value is None:
        if item is None:
            table.items.pop(hash_value, None)
        else:
            table.items[hash_value] = item
        return
    bucket = table.items[hash_value]
    if item is None:
        bucket.pop(range_value, None)
        if not bucket:
            table.items.pop(hash_value, None)
    else:
        bucket[range_value] = item


def _plain_number(text: str) -> str:
    if "e" in text or "E" in text:
        return format(Decimal(text), "f")
    return text


def _plain_numbers() -> None:
    from moto.dynamodb.models.dynamo_type import DynamoType

    original_init = DynamoType.__init__

    def __init__(self: Any, type_as_dict: Any) -> None:
        original_init(self, type_as_dict)
        if self.type == "N" and isinstance(self.value, str):
            self.value = _plain_number(self.value)
        elif self.type == "NS" and isinstance(self.value, list):
            self.value = [_plain_number(v) for v in self.value]

    DynamoType.__init__ = __init__  # type: ignore[method-assign]


def _one_record_per_update() -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    inside_update = threading.local()
    original_update = DynamoDBBackend.update_item
    original_put = Table.put_item

    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        inside_update.active = True
        try:
            return original_update(self, *args, **kwargs)
        finally:
            inside_update.active = False

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not getattr(inside_update, "active", False) or self.stream_shard is None:
            return original_put(self, *args, **kwargs)
        shard, self.stream_shard = self.stream_shard, None  # the bare key: not a change AWS reports
        try:
            return original_put(self, *args, **kwargs)
        finally:
            self.stream_shard = shard

    DynamoDBBackend.update_item = update_item  # type: ignore[method-assign]
    Table.put_item = put_item  # type: ignore[method-assign]


class _QueueForValidation:
    """The queue as SendMessage's validation sees it: ``attributes`` without the counts."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    @property
    def attributes(self) -> dict[str, Any]:
        from local_stack.moto_sqs import content_based

        return {"ContentBasedDeduplication": content_based(self._queue)}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._queue, name)


def _cheap_send_validation() -> None:
    from moto.sqs.models import SQSBackend

    original = SQSBackend._validate_message

    def _validate_message(self: Any, queue: Any, *args: Any, **kwargs: Any) -> None:
        original(self, _QueueForValidation(queue), *args, **kwargs)

    SQSBackend._validate_message = _validate_message  # type: ignore[method-assign]


def _cheap_receive_and_dispatch() -> None:
    import moto.backends
    from moto.core.utils import unix_time
    from moto.moto_server import werkzeug_app
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(self: Any, queue_name: str, message: Any) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return retention + message.sent_timestamp / 1000 > unix_time()

    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period
    )
    modules = frozenset(moto.backends.list_of_moto_modules())
    werkzeug_app.backends.list_of_moto_modules = lambda: modules  # type: ignore[attr-defined]


SHARD_ITERATORS_KEPT = 1024


def _bounded_memory() -> None:
    from moto.core.common_models import BaseModel
    from moto.dynamodbstreams.models import DynamoDBStreamsBackend

    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    BaseModel.__new__ = __new__  # type: ignore[assignment,method-assign]

    original = DynamoDBStreamsBackend.get_records

    def get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        result = original(self, iterator_arn, limit)
        iterators = self.shard_iterators  # insertion-ordered: the oldest first
        while len(iterators) > SHARD_ITERATORS_KEPT:
            del iterators[next(iter(iterators))]
        return result

    DynamoDBStreamsBackend.get_records = get_records  # type: ignore[method-assign]
