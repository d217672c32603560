"""Event sources driven the way Lambda drives them: SQS FIFO batches, DynamoDB stream batches, a schedule.

SQS: batches of at most BatchSize messages (which may mix message groups; moto delivers each group
in order and holds a group back while one of its messages is in flight); messages the function
reports as failed, and every message of an invocation that crashed, come back after the queue's
VisibilityTimeout scaled by LOCAL_TIME_SCALE (default 1/60: the template's 180 s -> 3 s), as on
AWS where the group stays blocked meanwhile; they are released with ChangeMessageVisibility(0), in
order (moto reorders a group when it relies on the visibility timeout instead); moto moves a message
to the dead-letter queue after maxReceiveCount receives. The ``sqs_duplicate`` fault leaves a
handled message undeleted and releases it at once: it is delivered a second time.
Streams: every shard read in order; a batch is retried from the first failed record up to
MaximumRetryAttempts, then that record goes to the on-failure destination and the shard moves on.
With durable state, each shard's last delivered sequence number is checkpointed after every batch
and reading resumes after it on restart (a kill can repeat the batch it interrupted, no more).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from local_stack.faults import SQS_DUPLICATE, FaultRegistry

DEFAULT_TIME_SCALE = 1 / 60

Invoke = Callable[[dict[str, Any]], Any]


def local_time_scale(text: str | None) -> float:
    """LOCAL_TIME_SCALE: a factor (``0.05``) or a fraction (``1/60``) applied to AWS's timeouts locally."""
    if not text or not text.strip():
        return DEFAULT_TIME_SCALE
    num, _, den = text.partition("/")
    try:
        value = float(num) / float(den) if den else float(num)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"LOCAL_TIME_SCALE={text!r} is not a number or a fraction") from None
    if not 0 < value <= 1:
        raise ValueError(f"LOCAL_TIME_SCALE={text!r} is outside (0, 1]")
    return value


class _Loop(threading.Thread):
    idle_wait_s = 0.02  # between polls that found nothing

    def __init__(self, name: str, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.stop = stop
        self.ready = threading.Event()
        self.errors = 0
        # set by whatever may have made work for this source (see WriteSignal); None: poll on the clock
        self.wake: threading.Event | None = None

    def run(self) -> None:
        self.ready.set()
        while not self.stop.is_set():
            try:
                if not self.poll_once():
                    self._idle()
            except Exception as exc:  # keep the loop alive, like the managed poller
                self.errors += 1
                print(f"[{self.name}] poll failed: {exc!r}")
                self.stop.wait(0.5)

    def _idle(self) -> None:
        if self.wake is None:
            self.stop.wait(self.idle_wait_s)
            return
        self.wake.wait(self.idle_wait_s)  # at the latest after idle_wait_s, as without a signal
        self.wake.clear()

    def poll_once(self) -> int:
        raise NotImplementedError


class WriteSignal:
    """Wakes the stream pollers when a function of this process has written to DynamoDB, instead of
    leaving the new records to the next poll (up to ``idle_wait_s`` later): a botocore after-call
    hook on the functions' clients. Writes from other processes (tools, tests' own clients) are
    still found by the clock. Polls only ever come sooner; what a poll returns is unchanged."""

    WRITES = frozenset(
        {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "ExecuteStatement"}
    )

    def __init__(self) -> None:
        self.events: list[threading.Event] = []

    def install(self, emitter: Any) -> None:
        emitter.register("after-call.dynamodb", self._after_call, unique_id="local-stream-wake")

    def add(self, loop: _Loop) -> None:
        loop.wake = threading.Event()
        self.events.append(loop.wake)

    def _after_call(self, model: Any, **_: Any) -> None:
        if model.name in self.WRITES:
            for event in self.events:
                event.set()


class SqsPoller(_Loop):
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        invoke: Invoke,
        *,
        batch_size: int = 10,
        report_failures: bool = True,
        stop: threading.Event,
        backoff_s: float | None = None,
        time_scale: float = DEFAULT_TIME_SCALE,
        wait_s: int = 1,
        release_failed: bool = True,
        faults: FaultRegistry | None = None,
    ) -> None:
        super().__init__(f"sqs-poller:{queue_url.rsplit('/', 1)[-1]}", stop)
        self.sqs, self.queue_url, self.queue_arn = sqs, queue_url, queue_arn
        self.invoke, self.batch_size, self.report_failures = invoke, batch_size, report_failures
        if backoff_s is None:  # what AWS does: a failed message is back after the visibility timeout
            attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["VisibilityTimeout"])
            backoff_s = int(attrs["Attributes"]["VisibilityTimeout"]) * time_scale
        self.backoff_s, self.wait_s = backoff_s, wait_s
        # False only in the fidelity test: leave failed messages to their visibility timeout (plain moto)
        self.release_failed = release_failed
        self.faults = faults
        self.crashed_invocations = 0
        self.failed_messages = 0
        self.duplicated: list[str] = []  # message ids left undeleted by sqs_duplicate
        self.deliveries: Counter[str] = Counter()  # message id -> times handed to the function

    def _record(self, m: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": dict(m.get("Attributes", {})),
            "messageAttributes": m.get("MessageAttributes", {}),
            "md5OfBody": m.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": "us-east-1",
        }

    def poll_once(self) -> int:
        resp = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = resp.get("Messages", [])
        if not messages:
            return 0
        records = [self._record(m) for m in messages]
        self.deliveries.update(r["messageId"] for r in records)
        try:
            result = self.invoke({"Records": records})
            failed = (
                {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
                if self.report_failures
                else set()
            )
        except Exception as exc:  # the invocation died: no partial response, every message failed
            print(f"[{self.name}] function failed: {exc!r}")
            self.crashed_invocations += 1
            failed = {r["messageId"] for r in records}
        self.failed_messages += len(failed)
        done, again = [], []
        for r in records:
            if r["messageId"] in failed:
                continue
            first = r["attributes"].get("ApproximateReceiveCount", "1") == "1"
            if first and self.faults is not None and self.faults.should(SQS_DUPLICATE):
                again.append(r)  # at-least-once: as if the delete had been lost
            else:
                done.append(r)
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )
        if again:
            self.duplicated.extend(r["messageId"] for r in again)
            self._release(again)
        retry = [r for r in records if r["messageId"] in failed]
        if retry and self.release_failed:
            timer = threading.Timer(self.backoff_s, self._release, args=(retry,))
            timer.daemon = True
            timer.start()
        return len(records)

    def _release(self, records: list[dict[str, Any]]) -> None:
        for r in records:  # in the order received: each group's order is kept
            try:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url, ReceiptHandle=r["receiptHandle"], VisibilityTimeout=0
                )
            except Exception as exc:
                print(f"[{self.name}] release failed: {exc!r}")


def _records_as_sent(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """before-parse hook of GetRecords: the records are taken from the response's JSON as they came
    (what Lambda puts in a stream event: binary values in base64, the creation time in epoch
    seconds), and only the rest of the answer goes through botocore's parser. The parser's walk of
    every record's images through the shape model was ~15 % of the local stack's process CPU under
    load (py-spy), for records that Lambda never parses either. Errors are parsed as before."""
    if response_dict.get("status_code") != 200:
        return
    try:
        body = json.loads(response_dict["body"])
    except (TypeError, ValueError):
        return  # not JSON: botocore's parser reports it
    if not isinstance(body, dict) or not isinstance(body.get("Records"), list):
        return
    customized_response_dict["Records"] = body.pop("Records")
    response_dict["body"] = json.dumps(body).encode()


def raw_stream_records(streams: Any) -> None:
    """Have this DynamoDB Streams client return GetRecords' records as sent (idempotent)."""
    streams.meta.events.register(
        "before-parse.dynamodb-streams.GetRecords", _records_as_sent, unique_id="local-raw-stream-records"
    )


class StreamPoller(_Loop):
    # Lambda polls a shard about four times a second, and so does this poller on its own clock: the
    # functions' writes wake it at once (WriteSignal), so the clock only finds writes made from
    # elsewhere (tools, tests' own clients), as late as on AWS. Polling faster cost the idle stack
    # ~45 ms of CPU a second in each process (moto's and this one) and took the lock the handlers need
    idle_wait_s = 0.25

    def __init__(
        self,
        streams: Any,
        stream_arn: str,
        invoke: Invoke,
        *,
        batch_size: int = 100,
        max_retries: int = 5,
        on_failure: Callable[[dict[str, Any]], None] | None = None,
        stop: threading.Event,
        resume: dict[str, str] | None = None,
        checkpoint: Callable[[str, str, str], None] | None = None,
    ) -> None:
        super().__init__(f"stream-poller:{stream_arn.rsplit('/', 3)[-3]}", stop)
        self.streams, self.stream_arn, self.invoke = streams, stream_arn, invoke
        self.batch_size, self.max_retries, self.on_failure = batch_size, max_retries, on_failure
        self.iterators: dict[str, str] = {}
        # shard id -> the last sequence number delivered before a restart (clamped by the moto process)
        self.resume = dict(resume or {})
        self.checkpoint = checkpoint  # (stream ARN, shard id, last delivered sequence number)
        raw_stream_records(streams)

    def _refresh_shards(self) -> None:
        shards = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in self.iterators:
                continue
            after = self.resume.pop(shard_id, None)
            position: dict[str, str] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after}
                if after is not None
                else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            self.iterators[shard_id] = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, **position
            )["ShardIterator"]

    def poll_once(self) -> int:
        if not self.iterators:
            self._refresh_shards()
        handled = 0
        for shard_id, iterator in list(self.iterators.items()):
            resp = self.streams.get_records(ShardIterator=iterator, Limit=self.batch_size)
            self.iterators[shard_id] = resp["NextShardIterator"]
            records = [self._record(r) for r in resp.get("Records", [])]
            if records:
                self._deliver(records)
                handled += len(records)
                if self.checkpoint is not None:
                    self.checkpoint(self.stream_arn, shard_id, records[-1]["dynamodb"]["SequenceNumber"])
        return handled

    def _record(self, r: dict[str, Any]) -> dict[str, Any]:
        r = dict(r)
        ddb = dict(r["dynamodb"])
        created = ddb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):  # a client without raw_stream_records
            ddb["ApproximateCreationDateTime"] = int(created.timestamp())
        elif isinstance(created, int | float):  # the wire's epoch seconds; Lambda's event: whole seconds
            ddb["ApproximateCreationDateTime"] = int(created)
        r["dynamodb"] = ddb
        r["eventSourceARN"] = self.stream_arn
        return r

    def _deliver(self, records: list[dict[str, Any]]) -> None:
        attempts = 0
        while records:
            try:
                result = self.invoke({"Records": records})
                failures = (result or {}).get("batchItemFailures", [])
            except Exception as exc:
                print(f"[{self.name}] function failed: {exc!r}")
                failures = [{"itemIdentifier": records[0]["dynamodb"]["SequenceNumber"]}]
            if not failures:
                return
            first = min(failures, key=lambda f: int(f["itemIdentifier"]))["itemIdentifier"]
            if int(first) > int(records[0]["dynamodb"]["SequenceNumber"]):
                attempts = 0  # the shard moved on: the retry budget is per record, like Lambda's
            records = [r for r in records if int(r["dynamodb"]["SequenceNumber"]) >= int(first)]
            attempts += 1
            if attempts > self.max_retries:
                if self.on_failure:
                    self.on_failure({"record": records[0], "attempts": attempts})
                records = records[1:]
                attempts = 0
            else:
                self.stop.wait(min(0.05 * 2**attempts, 1.0))


class SchedulePoller(_Loop):
    def __init__(self, invoke: Invoke, every_s: float, *, stop: threading.Event) -> None:
        super().__init__("schedule", stop)
        self.invoke, self.every_s = invoke, every_s
        self.next_at = time.monotonic() + every_s

    def poll_once(self) -> int:
        if time.monotonic() < self.next_at:
            self.stop.wait(min(0.5, self.every_s))
            return 1
        self.next_at = time.monotonic() + self.every_s
        self.invoke(
            {
                "version": "0",
                "id": "local",
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": "123456789012",
                "time": datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": "us-east-1",
                "resources": [],
                "detail": {},
            }
        )
        return 1


def failure_sink(sqs: Any, queue_url: str) -> Callable[[dict[str, Any]], None]:
    def send(payload: dict[str, Any]) -> None:
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(payload, default=str))

    return send
