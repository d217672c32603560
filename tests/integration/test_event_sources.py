"""The local stack's event sources behave like Lambda's: partial batch failure, DLQ after
maxReceiveCount, stream batches retried from the first failed record then sent to the on-failure
destination."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local_stack.event_sources import SqsPoller, StreamPoller, WriteSignal, failure_sink
from tests.integration.conftest import CREDS, hash_table, moto_server


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_server() as url:
        yield url


def _drive(poller: Any, until: Any, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not until() and time.monotonic() < deadline:
        poller.poll_once()
        time.sleep(0.05)


def test_partial_batch_failure_redelivers_only_the_failed_group_then_dead_letters(endpoint: str) -> None:
    # Given a FIFO queue with a redrive policy (3 receives) and two message groups
    sqs = boto3.client("sqs", endpoint_url=endpoint, **CREDS)
    dlq = sqs.create_queue(QueueName="dlq-test.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName="src-test.fifo",
        Attributes={
            "FifoQueue": "true",
            "VisibilityTimeout": "30",
            "RedrivePolicy": f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "3"}}',
        },
    )["QueueUrl"]
    for group, body in (("BAD", "poison"), ("GOOD", "g1"), ("GOOD", "g2")):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=body)
    handled: list[str] = []

    def function(event: dict[str, Any]) -> dict[str, Any]:
        failures = []
        for r in event["Records"]:
            if r["body"] == "poison":
                failures.append({"itemIdentifier": r["messageId"]})
            else:
                handled.append(r["body"])
        return {"batchItemFailures": failures}

    poller = SqsPoller(sqs, url, "arn:src", function, stop=threading.Event(), wait_s=0, backoff_s=0.01)

    # When the poller runs until the poison message is gone from the source queue
    def dead_lettered() -> bool:
        return bool(
            sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=1, VisibilityTimeout=0).get("Messages")
        )

    _drive(poller, dead_lettered)

    # Then the good group was handled once, in order, and the poison message is in the DLQ
    assert handled == ["g1", "g2"]
    assert dead_lettered()


def test_stream_batches_retry_from_the_first_failure_then_go_to_the_destination(endpoint: str) -> None:
    # Given a table with a stream and 3 changes, the second of which always fails
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, **CREDS)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, **CREDS)
    sqs = boto3.client("sqs", endpoint_url=endpoint, **CREDS)
    arn = hash_table(ddb, "stream-test", stream=True)
    for pk in ("a", "b", "c"):
        ddb.put_item(TableName="stream-test", Item={"pk": {"S": pk}})
    failures_queue = sqs.create_queue(QueueName="stream-failures")["QueueUrl"]
    calls: list[list[str]] = []

    def function(event: dict[str, Any]) -> dict[str, Any]:
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
        calls.append(keys)
        for r, key in zip(event["Records"], keys, strict=True):
            if key == "b":
                return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    poller = StreamPoller(
        streams,
        arn,
        function,
        max_retries=2,
        stop=threading.Event(),
        on_failure=failure_sink(sqs, failures_queue),
    )

    # When one poll delivers the batch
    poller.poll_once()

    # Then: the batch, then 2 retries from "b", then "b" goes to the destination and "c" is delivered
    assert calls == [["a", "b", "c"], ["b", "c"], ["b", "c"], ["c"]]
    sent = sqs.receive_message(QueueUrl=failures_queue)["Messages"]
    assert '"b"' in sent[0]["Body"]


def test_a_signalled_write_wakes_the_stream_poller_before_its_idle_wait(endpoint: str) -> None:
    # Given a stream poller that would otherwise sleep 5 s between polls that found nothing, and a
    # client (a function's, in the local stack) whose writes signal it
    session = boto3.session.Session(**CREDS)
    signal = WriteSignal()
    signal.install(session.events)
    ddb = session.client("dynamodb", endpoint_url=endpoint)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, **CREDS)
    arn = hash_table(ddb, "wake-test", stream=True)
    delivered: list[float] = []

    def function(event: dict[str, Any]) -> dict[str, Any]:
        delivered.extend(time.monotonic() for _ in event["Records"])
        return {"batchItemFailures": []}

    stop = threading.Event()
    poller = StreamPoller(streams, arn, function, stop=stop)
    poller.idle_wait_s = 5.0
    signal.add(poller)
    poller.start()
    try:
        time.sleep(0.5)  # its first poll found the stream empty: it is idle now, for up to 5 s

        # When that client writes
        written = time.monotonic()
        ddb.put_item(TableName="wake-test", Item={"pk": {"S": "a"}})

        # Then the record is delivered well before the idle wait would have ended
        deadline = written + 4
        while not delivered and time.monotonic() < deadline:
            time.sleep(0.01)
        assert delivered and delivered[0] - written < 1.0
    finally:
        stop.set()
        poller.join(timeout=6)


def test_stream_records_reach_the_function_as_lambda_sends_them(endpoint: str) -> None:
    # Given a table with a stream, an item with a binary, a number and a map, then a change to it
    import base64

    ddb = boto3.client("dynamodb", endpoint_url=endpoint, **CREDS)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, **CREDS)
    plain = boto3.client("dynamodbstreams", endpoint_url=endpoint, **CREDS)  # botocore parses all
    arn = hash_table(ddb, "raw-records-test", stream=True)
    assert arn is not None
    item = {"pk": {"S": "a"}, "z": {"B": b"\x00\xffzip"}, "n": {"N": "12"}, "m": {"M": {"s": {"S": "x"}}}}
    ddb.put_item(TableName="raw-records-test", Item=item)
    ddb.update_item(
        TableName="raw-records-test",
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET n = :n",
        ExpressionAttributeValues={":n": {"N": "13"}},
    )
    delivered: list[dict[str, Any]] = []

    def function(event: dict[str, Any]) -> dict[str, Any]:
        delivered.extend(event["Records"])
        return {"batchItemFailures": []}

    # When the poller delivers them
    StreamPoller(streams, arn, function, stop=threading.Event()).poll_once()

    # Then binary values are base64 text and the creation time whole epoch seconds, as in a Lambda
    # stream event; everything else is what botocore's own parse of the same records gives
    assert [r["eventName"] for r in delivered] == ["INSERT", "MODIFY"]
    new = delivered[1]["dynamodb"]["NewImage"]
    assert new["z"] == {"B": base64.b64encode(b"\x00\xffzip").decode()}
    assert new["n"] == {"N": "13"} and new["m"] == {"M": {"s": {"S": "x"}}}
    assert delivered[1]["dynamodb"]["OldImage"]["n"] == {"N": "12"}
    shard = plain.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = plain.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    parsed = plain.get_records(ShardIterator=iterator["ShardIterator"])["Records"]

    def as_lambda(r: dict[str, Any]) -> dict[str, Any]:
        ddb_part = dict(r["dynamodb"])
        ddb_part["ApproximateCreationDateTime"] = int(ddb_part["ApproximateCreationDateTime"].timestamp())
        for image in ("NewImage", "OldImage"):
            if image in ddb_part:
                ddb_part[image] = {
                    k: {"B": base64.b64encode(v["B"]).decode()} if "B" in v else v
                    for k, v in ddb_part[image].items()
                }
        return {**r, "dynamodb": ddb_part, "eventSourceARN": arn}

    assert delivered == [as_lambda(r) for r in parsed]
    assert all(type(r["dynamodb"]["ApproximateCreationDateTime"]) is int for r in delivered)


def test_an_idle_stream_poller_polls_about_as_often_as_lambda(endpoint: str) -> None:
    # Given a stream poller on a table nobody writes to, its GetRecords calls counted
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, **CREDS)
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint, **CREDS)
    arn = hash_table(ddb, "idle-test", stream=True)
    polls: list[float] = []
    streams.meta.events.register(
        "before-call.dynamodb-streams.GetRecords", lambda **_: polls.append(time.monotonic())
    )
    stop = threading.Event()
    poller = StreamPoller(streams, arn, lambda event: {"batchItemFailures": []}, stop=stop)
    poller.wake = threading.Event()  # as the local stack sets it up (WriteSignal): nobody signals

    # When it runs idle for 2 s
    poller.start()
    time.sleep(2.0)
    stop.set()
    poller.join(5)

    # Then it polled about four times a second (Lambda's rate), not twenty
    assert 4 <= len(polls) <= 12, len(polls)
