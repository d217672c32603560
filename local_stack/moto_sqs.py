"""SQS SendMessage, ReceiveMessage, DeleteMessage and ChangeMessageVisibility in moto at a cost
independent of the queue's depth, with moto's answers unchanged.

moto 5.2.5, per call, walks every message of the queue, several times:
* SendMessage reads ``Queue.attributes`` twice (in send_message and add_message) just for
  ContentBasedDeduplication: that computes the approximate counts, each a walk with datetime
  arithmetic per message; a FIFO send then compares its deduplication id with every message.
  -> read the one attribute; the deduplication ids of the queue's messages sent in the last
  DEDUP_KEPT_MS are kept in a dict (a candidate still has to be in the queue, as in moto).
* ReceiveMessage lists every visible message (two datetime computations each) before taking the
  first few. -> the same pass, lazily, with one clock reading per pass.
* DeleteMessage and ChangeMessageVisibility look for the receipt handle in every message's list of
  handles. -> a dict from receipt handle to message (checked against the queue before use; when
  in doubt moto's own walk answers).
The dicts live beside moto's objects (keyed weakly by queue), never in a pickled snapshot, and are
rebuilt from the queue's messages when missing (after a durable-state restore, or a purge).
The same sequence of requests gets the same answers: tests/integration/test_moto_differential.py.
"""

from __future__ import annotations

import hashlib
import string
import threading
import weakref
from collections import deque
from collections.abc import Iterator
from copy import deepcopy
from typing import Any

DEDUP_KEPT_MS = 600_000  # twice SQS's deduplication interval: older ids cannot match any more


class _QueueIndex:
    def __init__(self, queue: Any) -> None:
        self.dedup: dict[Any, list[Any]] = {}
        self.sent: deque[Any] = deque()  # the messages of `dedup`, oldest first
        self.handles: dict[str, Any] = {}
        for message in list(queue._messages):
            self._remember(message)
            for handle in message.all_receipt_handles:
                if handle is not None:
                    self.handles[handle] = message

    def remember(self, message: Any) -> None:
        with _LOCK:  # SQS requests run on many threads (without a state folder, unserialised)
            self._remember(message)

    def _remember(self, message: Any) -> None:
        self.dedup.setdefault(message.deduplication_id, []).append(message)
        self.sent.append(message)
        newest = message.sent_timestamp or 0
        while self.sent and (self.sent[0].sent_timestamp or 0) < newest - DEDUP_KEPT_MS:
            old = self.sent.popleft()
            same = self.dedup.get(old.deduplication_id, [])
            if old in same:
                same.remove(old)
            if not same:
                self.dedup.pop(old.deduplication_id, None)

    def forget_handles(self, message: Any) -> None:
        for handle in message.all_receipt_handles:
            if self.handles.get(handle) is message:
                del self.handles[handle]


_INDEXES: weakref.WeakKeyDictionary[Any, _QueueIndex] = weakref.WeakKeyDictionary()
_LOCK = threading.RLock()
_installed = False


def _index(queue: Any) -> _QueueIndex:
    index = _INDEXES.get(queue)
    if index is None:
        with _LOCK:
            index = _INDEXES.get(queue)
            if index is None:
                index = _INDEXES[queue] = _QueueIndex(queue)
    return index


def forget(queue: Any) -> None:
    """Drop the queue's dicts (after its messages were changed behind moto's back); rebuilt on use."""
    _INDEXES.pop(queue, None)


def content_based(queue: Any) -> Any:
    """``Queue.attributes.get("ContentBasedDeduplication")`` without computing the other attributes:
    "true" / "false" on a FIFO queue, None on a standard one."""
    if not queue.fifo_queue:
        return None
    value = queue.content_based_deduplication
    return str(value).lower() if isinstance(value, bool) else value


def _in_queue(queue: Any, message: Any) -> bool:
    return message in queue._messages  # Message has no __eq__: by identity, at C speed


def _send_message() -> None:
    from moto.sqs import models
    from moto.sqs.models import Message, Queue, SQSBackend

    original_add = Queue.add_message

    def send_message(
        self: Any,
        queue_name: str,
        message_body: str,
        message_attributes: dict[str, Any] | None = None,
        delay_seconds: int | None = None,
        deduplication_id: str | None = None,
        group_id: str | None = None,
        system_attributes: dict[str, Any] | None = None,
        validate_group_id: bool = True,
    ) -> Any:
        # moto 5.2.5's send_message, reading ContentBasedDeduplication alone
        queue = self.get_queue(queue_name)
        self._validate_message(
            queue,
            message_body=message_body,
            delay_seconds=int(delay_seconds or 0),
            deduplication_id=deduplication_id,
            group_id=group_id,
            validate_group_id=validate_group_id,
        )
        delay_seconds = int(delay_seconds) if delay_seconds is not None else queue.delay_seconds
        message = Message(str(models.random.uuid4()), message_body, system_attributes)
        if content_based(queue) == "true":
            message.deduplication_id = hashlib.sha256(message_body.encode("utf-8")).hexdigest()
        if deduplication_id is not None:
            message.deduplication_id = deduplication_id
            message.sequence_number = "".join(models.random.choice(string.digits) for _ in range(20))
        if group_id is not None:
            message.group_id = group_id
        if message_attributes:
            message.message_attributes = message_attributes
        if delay_seconds > models.MAXIMUM_MESSAGE_DELAY:  # type: ignore[operator]
            raise models.InvalidParameterValue(
                f"Value {delay_seconds} for parameter DelaySeconds is invalid. "
                "Reason: DelaySeconds must be >= 0 and <= 900."
            )
        message.mark_sent(delay_seconds=delay_seconds)
        queue.add_message(message)
        return message

    def add_message(self: Any, message: Any) -> None:
        index = _index(self)
        if self.lambda_event_source_mappings:  # moto's own path (it also invokes the function)
            before = len(self._messages)
            original_add(self, message)
            if len(self._messages) > before:
                index.remember(message)
            return
        if self.fifo_queue and (content_based(self) == "true" or message.deduplication_id):
            for m in index.dedup.get(message.deduplication_id, ()):
                diff = message.sent_timestamp - m.sent_timestamp
                if diff / 1000 < models.DEDUPLICATION_TIME_IN_SECONDS and _in_queue(self, m):
                    return
        with self._messages_lock:
            self._messages.append(message)
            self._messages_lock.notify_all()
        index.remember(message)

    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    Queue.add_message = add_message  # type: ignore[method-assign]


def _deliverable(queue: Any) -> Iterator[Any]:
    """moto's ``Queue.messages`` (visible, not delayed), lazily, one clock reading."""
    from moto.core.utils import unix_time_millis

    now = unix_time_millis()
    for message in list(queue._messages):
        if now > message.visible_at and not now < message.delayed_until:
            yield message


def _receive_message() -> None:
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend, _filter_message_attributes

    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> list[Any]:
        # moto 5.2.5's receive_message over _deliverable(queue) instead of queue.messages
        if message_attribute_names is None:
            message_attribute_names = []
        queue = self.get_queue(queue_name)
        index = _index(queue)
        result: list[Any] = []
        previous_result_count = len(result)
        polling_end = unix_time() + wait_seconds_timeout
        currently_pending_groups = deepcopy(queue.pending_message_groups)
        while True:
            if result or (wait_seconds_timeout and unix_time() > polling_end):
                break
            messages_to_dlq: list[Any] = []
            for message in _deliverable(queue):
                if message in queue.pending_messages:
                    queue.pending_messages.remove(message)
                    currently_pending_groups = deepcopy(queue.pending_message_groups)
                if message.group_id and queue.fifo_queue and message.group_id in currently_pending_groups:
                    continue
                if (
                    queue.dead_letter_queue is not None
                    and queue.redrive_policy
                    and message.approximate_receive_count >= queue.redrive_policy["maxReceiveCount"]
                ):
                    messages_to_dlq.append(message)
                    continue
                queue.pending_messages.add(message)
                message.mark_received(visibility_timeout=visibility_timeout)
                index.handles[message.receipt_handle] = message
                message_copy = deepcopy(message)
                _filter_message_attributes(message_copy, message_attribute_names)
                if not self.is_message_valid_based_on_retention_period(queue_name, message):
                    break
                result.append(message_copy)
                if len(result) >= count:
                    break
            for message in messages_to_dlq:
                queue._messages.remove(message)
                queue.dead_letter_queue.add_message(message)
            if previous_result_count == len(result):
                if wait_seconds_timeout == 0:
                    break
                queue.wait_for_messages(1)
                continue
            previous_result_count = len(result)
        return result

    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]


def _by_receipt_handle() -> None:
    from moto.core.utils import unix_time_millis
    from moto.sqs.models import InvalidParameterValue, Queue, SQSBackend

    original_delete = Queue.delete_message
    original_change = SQSBackend.change_message_visibility
    original_purge = SQSBackend.purge_queue

    def found(queue: Any, receipt_handle: str) -> Any:
        message = _index(queue).handles.get(receipt_handle)
        if message is None or not message.had_receipt_handle(receipt_handle):
            return None
        return message

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return
        message = found(self, receipt_handle)
        messages = list(self._messages)
        try:
            if message is None:
                raise ValueError
            messages.remove(message)  # Message has no __eq__: by identity
        except ValueError:
            original_delete(self, receipt_handle)  # moto's walk: raises ReceiptHandleIsInvalid
            return
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        self._messages = messages
        _index(self).forget_handles(message)

    def change_message_visibility(
        self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        queue = self.get_queue(queue_name)
        message = found(queue, receipt_handle)
        if message is None or not _in_queue(queue, message):
            original_change(self, queue_name, receipt_handle, visibility_timeout)
            return
        given_visibility_timeout = unix_time_millis() + int(visibility_timeout) * 1000
        if given_visibility_timeout - message.sent_timestamp > 43200 * 1000:
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. Reason: Total "
                "VisibilityTimeout for the message is beyond the limit [43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        if message.visible and message in queue.pending_messages:
            queue.pending_messages.remove(message)

    def purge_queue(self: Any, queue_name: str) -> None:
        original_purge(self, queue_name)
        forget(self.get_queue(queue_name))

    def wait_for_messages(self: Any, timeout: int) -> None:
        with self._messages_lock:
            self._messages_lock.wait_for(lambda: next(_deliverable(self), None) is not None, timeout=timeout)

    Queue.delete_message = delete_message  # type: ignore[method-assign]
    SQSBackend.change_message_visibility = change_message_visibility  # type: ignore[method-assign]
    SQSBackend.purge_queue = purge_queue  # type: ignore[method-assign]
    Queue.wait_for_messages = wait_for_messages  # type: ignore[method-assign]


def install() -> None:
    """Idempotent."""
    global _installed
    if _installed:
        return
    _send_message()
    _receive_message()
    _by_receipt_handle()
    _installed = True
