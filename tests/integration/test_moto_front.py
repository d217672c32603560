"""The local stack's moto front (local_stack/moto_front.py) and speed patches
(local_stack/moto_speed.py) answer exactly what moto's own server answers.

Two moto processes side by side: moto's ThreadedMotoServer without the speed patches (the baseline,
LOCAL_MOTO_SERVER=werkzeug LOCAL_MOTO_SPEED=0) and the local stack's (front + speed patches), both
with the fidelity patches. The same real botocore requests - every operation the application, the
pollers and the tools use, and their errors - go to both; status, headers (in order) and body
(keys in order) must be equal, once what moto makes random or from the clock (request ids, message
ids, receipt handles, timestamps, stream labels, the CRC of a body that holds them) is masked.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_stack.moto_process import MotoProcess
from local_stack.stack import free_port
from tests.integration.conftest import CREDS

ROOT = Path(__file__).resolve().parents[2]
BASELINE = {"LOCAL_MOTO_SERVER": "werkzeug", "LOCAL_MOTO_SPEED": "0"}
# header names whose values are the clock's or random (or, for the CRC, of a body that holds such)
VOLATILE_HEADERS = {"date", "server", "connection", "x-amzn-requestid", "x-amz-crc32", "keep-alive"}
VOLATILE_KEYS = {
    "MessageId",
    "ReceiptHandle",
    "CreationDateTime",
    "LatestStreamLabel",
    "LatestStreamArn",
    "StreamArn",
    "StreamLabel",
    "ShardIterator",
    "NextShardIterator",
    "ApproximateCreationDateTime",
    "SentTimestamp",
    "ApproximateFirstReceiveTimestamp",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "eventID",
    "SequenceNumber",
    "StartingSequenceNumber",
    "EndingSequenceNumber",
    "ShardId",
    "LastEvaluatedShardId",
    "SequenceNumberForOrdering",
    "ProvisionedThroughput",
    "LastIncreaseDateTime",
    "LastDecreaseDateTime",
    "TableId",
    "CreationRequestDateTime",
    "SizeBytes",  # of a stream record: its size includes the volatile fields
}


def _start(env: dict[str, str]) -> tuple[MotoProcess, str]:
    saved = {k: os.environ.get(k) for k in [*BASELINE, "PYTHONHASHSEED"]}
    for k in BASELINE:
        os.environ.pop(k, None)
    os.environ.update(env, PYTHONHASHSEED="0")  # the order of a string set's members: the same in both
    try:
        port = free_port()
        return MotoProcess(port, ROOT, None), f"http://127.0.0.1:{port}"
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    baseline, baseline_url = _start(BASELINE)
    front, front_url = _start({})
    try:
        yield baseline_url, front_url
    finally:
        baseline.stop()
        front.stop()


class Recorder:
    """Clients of one server; every raw answer they get, in order."""

    def __init__(self, endpoint: str) -> None:
        self.answers: list[tuple[str, int, list[tuple[str, str]], Any]] = []
        self.endpoint = endpoint.encode()
        config = Config(retries={"max_attempts": 1})
        self.clients = {
            s: boto3.client(s, endpoint_url=endpoint, config=config, **CREDS)  # type: ignore[call-overload]
            for s in ("dynamodb", "dynamodbstreams", "sqs", "sts")
        }
        for client in self.clients.values():
            client.meta.events.register("before-parse", self._record)

    def _record(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        body = response_dict["body"]
        headers = [(k, v) for k, v in response_dict["headers"].items() if k.lower() not in VOLATILE_HEADERS]
        # its value follows the volatile values' lengths: it must be the body's, on both servers
        assert int(response_dict["headers"]["content-length"]) == len(body)
        headers = [(k, "<length>" if k.lower() == "content-length" else v) for k, v in headers]
        try:
            parsed: Any = _mask(json.loads(body.replace(self.endpoint, b"<endpoint>")))
        except ValueError:
            parsed = re.sub(rb"<RequestId>[^<]*</RequestId>", b"<RequestId/>", body)
        self.answers.append((operation_model.name, response_dict["status_code"], headers, parsed))

    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self.clients[service], operation)(**kwargs))
        except ClientError as exc:
            return {"Error": exc.response["Error"]}


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return [(k, "<volatile>" if k in VOLATILE_KEYS else _mask(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


def _s(v: str) -> dict[str, str]:
    return {"S": v}


def _dynamodb_script(r: Recorder) -> None:
    ddb = "dynamodb"
    r.call(
        ddb,
        "create_table",
        TableName="tbl",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "gpk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gix",
                "KeySchema": [
                    {"AttributeName": "gpk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    r.call(
        ddb,
        "create_table",
        TableName="tbl",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    r.call(ddb, "describe_table", TableName="tbl")
    r.call(
        ddb,
        "update_time_to_live",
        TableName="tbl",
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
    )
    r.call(ddb, "describe_time_to_live", TableName="tbl")
    r.call(ddb, "list_tables")
    for i in range(12):
        item = {
            "pk": _s("A"),
            "sk": _s(f"{i:03}"),
            "n": {"N": str(i)},
            "gpk": _s("G" if i % 2 else "H"),
            "m": {"M": {"x": {"L": [{"N": "1"}, _s("y"), {"BOOL": True}, {"NULL": True}]}}},
            "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2.5"]},
            "b": {"B": b"\x00\x01"},
        }
        r.call(ddb, "put_item", TableName="tbl", Item=item)
    r.call(
        ddb,
        "put_item",
        TableName="tbl",
        Item={"pk": _s("A"), "sk": _s("000")},
        ConditionExpression="attribute_not_exists(pk)",
    )
    r.call(
        ddb,
        "put_item",
        TableName="tbl",
        Item={"pk": _s("A"), "sk": _s("000")},
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    r.call(ddb, "get_item", TableName="tbl", Key={"pk": _s("A"), "sk": _s("001")})
    r.call(
        ddb,
        "get_item",
        TableName="tbl",
        Key={"pk": _s("A"), "sk": _s("001")},
        ConsistentRead=True,
        ProjectionExpression="#n, m.x[1], ss",
        ExpressionAttributeNames={"#n": "n"},
    )
    r.call(ddb, "get_item", TableName="tbl", Key={"pk": _s("A"), "sk": _s("nope")})
    r.call(ddb, "get_item", TableName="missing", Key={"pk": _s("A"), "sk": _s("001")})
    r.call(ddb, "get_item", TableName="tbl", Key={"pk": _s("A")})
    update = {"TableName": "tbl", "Key": {"pk": _s("A"), "sk": _s("002")}}
    r.call(
        ddb,
        "update_item",
        **update,
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    r.call(
        ddb,
        "update_item",
        **update,
        UpdateExpression="SET #n = #n - :c, z = if_not_exists(z, :c) REMOVE gpk",
        ConditionExpression="#n >= :c AND attribute_exists(pk)",
        ExpressionAttributeNames={"#n": "n"},
        ExpressionAttributeValues={":c": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    r.call(
        ddb,
        "update_item",
        **update,
        UpdateExpression="SET n = :c",
        ConditionExpression="n > :big",
        ExpressionAttributeValues={":c": {"N": "1"}, ":big": {"N": "100"}},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    r.call(
        ddb,
        "update_item",
        **update,
        UpdateExpression="SET n = :c ADD",
        ExpressionAttributeValues={":c": {"N": "1"}},
    )
    r.call(ddb, "update_item", **update, UpdateExpression="SET n = :missing")
    r.call(
        ddb,
        "update_item",
        **update,
        UpdateExpression="SET n = :c, n = :c",
        ExpressionAttributeValues={":c": {"N": "1"}},
    )
    r.call(
        ddb,
        "update_item",
        TableName="tbl",
        Key={"pk": _s("B"), "sk": _s("new")},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1E+2"}},
        ReturnValues="ALL_NEW",
    )
    r.call(
        ddb,
        "update_item",
        **update,
        UpdateExpression="SET ss = :s",
        ExpressionAttributeValues={":s": {"S": ""}},
        ReturnValues="ALL_OLD",
    )
    r.call(ddb, "delete_item", TableName="tbl", Key={"pk": _s("A"), "sk": _s("011")}, ReturnValues="ALL_OLD")
    r.call(
        ddb,
        "delete_item",
        TableName="tbl",
        Key={"pk": _s("A"), "sk": _s("010")},
        ConditionExpression="n = :x",
        ExpressionAttributeValues={":x": {"N": "3"}},
    )
    query = {"TableName": "tbl", "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b"}
    values = {":p": _s("A"), ":a": _s("001"), ":b": _s("009")}
    r.call(ddb, "query", **query, ExpressionAttributeValues=values)
    page = r.call(ddb, "query", **query, ExpressionAttributeValues=values, Limit=3, ScanIndexForward=False)
    r.call(
        ddb,
        "query",
        **query,
        ExpressionAttributeValues=values,
        Limit=3,
        ExclusiveStartKey=page.get("LastEvaluatedKey"),
    )
    r.call(
        ddb,
        "query",
        **query,
        ExpressionAttributeValues={**values, ":min": {"N": "4"}},
        FilterExpression="n >= :min",
        ProjectionExpression="sk, n",
    )
    r.call(
        ddb,
        "query",
        TableName="tbl",
        IndexName="gix",
        KeyConditionExpression="gpk = :g",
        ExpressionAttributeValues={":g": _s("G")},
        Select="COUNT",
    )
    r.call(
        ddb,
        "query",
        TableName="tbl",
        KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": _s("A"), ":s": _s("00")},
    )
    r.call(
        ddb,
        "query",
        TableName="tbl",
        KeyConditionExpression="nope = :p",
        ExpressionAttributeValues={":p": _s("A")},
    )
    r.call(ddb, "scan", TableName="tbl", Limit=4)
    r.call(
        ddb,
        "batch_get_item",
        RequestItems={"tbl": {"Keys": [{"pk": _s("A"), "sk": _s(f"{i:03}")} for i in (1, 3, 99)]}},
    )
    r.call(
        ddb,
        "batch_write_item",
        RequestItems={
            "tbl": [
                {"PutRequest": {"Item": {"pk": _s("C"), "sk": _s(f"{i}"), "n": {"N": "0"}}}} for i in range(3)
            ]
            + [{"DeleteRequest": {"Key": {"pk": _s("A"), "sk": _s("009")}}}]
        },
    )
    transact = [
        {
            "Update": {
                "TableName": "tbl",
                "Key": {"pk": _s("C"), "sk": _s("0")},
                "UpdateExpression": "SET n = n + :one",
                "ConditionExpression": "n >= :zero",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
            }
        },
        {
            "Put": {
                "TableName": "tbl",
                "Item": {"pk": _s("C"), "sk": _s("9")},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "ConditionCheck": {
                "TableName": "tbl",
                "Key": {"pk": _s("C"), "sk": _s("1")},
                "ConditionExpression": "n = :zero",
                "ExpressionAttributeValues": {":zero": {"N": "0"}},
            }
        },
        {"Delete": {"TableName": "tbl", "Key": {"pk": _s("C"), "sk": _s("2")}}},
    ]
    r.call(ddb, "transact_write_items", TransactItems=transact, ClientRequestToken="one")
    r.call(ddb, "transact_write_items", TransactItems=transact)  # the Put's and the Delete's condition fail
    r.call(
        ddb,
        "transact_write_items",
        TransactItems=[
            {
                **transact[0],
                "Update": {
                    **transact[0]["Update"],
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    "ConditionExpression": "n > :zero AND n < :zero",
                },
            },
            transact[3],
        ],
    )
    r.call(ddb, "transact_write_items", TransactItems=[transact[0], transact[0]])
    r.call(
        ddb,
        "transact_get_items",
        TransactItems=[
            {"Get": {"TableName": "tbl", "Key": {"pk": _s("C"), "sk": _s("0")}}},
            {
                "Get": {
                    "TableName": "tbl",
                    "Key": {"pk": _s("A"), "sk": _s("001")},
                    "ProjectionExpression": "n",
                }
            },
        ],
    )
    # the stream of everything above
    arn = r.call(ddb, "describe_table", TableName="tbl")["Table"]["LatestStreamArn"]
    r.call("dynamodbstreams", "list_streams", TableName="tbl")
    shard = r.call("dynamodbstreams", "describe_stream", StreamArn=arn)["StreamDescription"]["Shards"][0][
        "ShardId"
    ]
    iterator = r.call(
        "dynamodbstreams",
        "get_shard_iterator",
        StreamArn=arn,
        ShardId=shard,
        ShardIteratorType="TRIM_HORIZON",
    )["ShardIterator"]
    r.call("dynamodbstreams", "get_records", ShardIterator=iterator, Limit=100)
    r.call(
        "dynamodbstreams",
        "get_shard_iterator",
        StreamArn=arn,
        ShardId="shardId-00000000000000000000-nope",
        ShardIteratorType="LATEST",
    )
    r.call(ddb, "delete_table", TableName="tbl")
    r.call(ddb, "describe_table", TableName="tbl")


def _sqs_script(r: Recorder) -> None:
    sqs = "sqs"
    fifo = r.call(
        sqs, "create_queue", QueueName="q.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"}
    )["QueueUrl"]
    dlq = r.call(sqs, "create_queue", QueueName="dlq")["QueueUrl"]
    arn = r.call(sqs, "get_queue_attributes", QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    plain = r.call(
        sqs,
        "create_queue",
        QueueName="plain",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})},
    )["QueueUrl"]
    r.call(sqs, "get_queue_url", QueueName="q.fifo")
    r.call(sqs, "get_queue_url", QueueName="nope")
    r.call(sqs, "list_queues")
    r.call(
        sqs,
        "send_message",
        QueueUrl=fifo,
        MessageBody="one",
        MessageGroupId="g",
        MessageDeduplicationId="1",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )
    r.call(
        sqs,
        "send_message",
        QueueUrl=fifo,
        MessageBody="one again",
        MessageGroupId="g",
        MessageDeduplicationId="1",
    )
    r.call(sqs, "send_message", QueueUrl=fifo, MessageBody="no group")
    r.call(
        sqs,
        "send_message_batch",
        QueueUrl=fifo,
        Entries=[
            {
                "Id": str(i),
                "MessageBody": f"m{i}",
                "MessageGroupId": f"g{i % 2}",
                "MessageDeduplicationId": f"b{i}",
            }
            for i in range(4)
        ],
    )
    r.call(sqs, "get_queue_attributes", QueueUrl=fifo, AttributeNames=["All"])
    got = r.call(
        sqs,
        "receive_message",
        QueueUrl=fifo,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=0,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    handles = [m["ReceiptHandle"] for m in got.get("Messages", [])]
    r.call(sqs, "change_message_visibility", QueueUrl=fifo, ReceiptHandle=handles[0], VisibilityTimeout=0)
    r.call(sqs, "change_message_visibility", QueueUrl=fifo, ReceiptHandle="bogus", VisibilityTimeout=0)
    r.call(sqs, "delete_message", QueueUrl=fifo, ReceiptHandle=handles[1])
    r.call(
        sqs,
        "delete_message_batch",
        QueueUrl=fifo,
        Entries=[{"Id": "a", "ReceiptHandle": h} for h in handles[2:]],
    )
    r.call(
        sqs, "receive_message", QueueUrl=fifo, MaxNumberOfMessages=10, WaitTimeSeconds=1
    )  # the released one
    r.call(sqs, "receive_message", QueueUrl=fifo, MaxNumberOfMessages=11)
    r.call(sqs, "receive_message", QueueUrl=plain, WaitTimeSeconds=1)  # a long poll that finds nothing
    r.call(sqs, "send_message", QueueUrl=plain, MessageBody="to the dlq", DelaySeconds=0)
    r.call(sqs, "receive_message", QueueUrl=plain, VisibilityTimeout=0)
    r.call(sqs, "receive_message", QueueUrl=plain, WaitTimeSeconds=1)  # over maxReceiveCount: to the DLQ
    r.call(sqs, "receive_message", QueueUrl=dlq, WaitTimeSeconds=1)
    r.call(sqs, "receive_message", QueueUrl=fifo.replace("q.fifo", "gone.fifo"), WaitTimeSeconds=1)
    r.call(sqs, "purge_queue", QueueUrl=plain)
    r.call(sqs, "delete_queue", QueueUrl=plain)
    r.call("sts", "get_caller_identity")  # not served by the front: moto's own app answers it


@pytest.mark.parametrize("script", [_dynamodb_script, _sqs_script], ids=["dynamodb", "sqs"])
def test_the_front_answers_what_motos_server_answers(
    servers: tuple[str, str], script: Callable[[Recorder], None]
) -> None:
    # Given the same requests sent to moto's own server and to the local stack's
    baseline, front = Recorder(servers[0]), Recorder(servers[1])
    script(baseline)
    script(front)
    # Then every answer is the same, status, headers and body
    assert len(front.answers) == len(baseline.answers)
    for ours, theirs in zip(front.answers, baseline.answers, strict=True):
        assert ours == theirs, _first_difference(ours, theirs)


def _first_difference(ours: Any, theirs: Any, path: str = "") -> str:
    if isinstance(ours, list | tuple) and isinstance(theirs, list | tuple) and len(ours) == len(theirs):
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return f"at {path}: front {ours!r} != moto {theirs!r}"


def test_a_long_poll_is_answered_by_a_later_send_and_blocks_nobody(servers: tuple[str, str]) -> None:
    # Given a long poll waiting on an empty queue
    sqs = boto3.client("sqs", endpoint_url=servers[1], **CREDS)
    ddb = boto3.client("dynamodb", endpoint_url=servers[1], **CREDS)
    url = sqs.create_queue(QueueName="wakes")["QueueUrl"]
    answer: dict[str, Any] = {}

    def poll() -> None:
        started = time.monotonic()
        answer["messages"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
        answer["after_s"] = time.monotonic() - started

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.3)
    # When other requests are served meanwhile, and a message is sent
    assert "TableNames" in ddb.list_tables()
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    waiter.join(timeout=5)
    # Then the poll answers with it, long before its wait is over
    assert [m["Body"] for m in answer["messages"]] == ["hello"]
    assert answer["after_s"] < 5


def test_a_long_poll_that_finds_nothing_answers_when_its_wait_is_over(servers: tuple[str, str]) -> None:
    sqs = boto3.client("sqs", endpoint_url=servers[1], **CREDS)
    url = sqs.create_queue(QueueName="stays-empty", Attributes={"ReceiveMessageWaitTimeSeconds": "1"})[
        "QueueUrl"
    ]
    started = time.monotonic()
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # the queue's own wait: 1 s
    assert 0.9 < time.monotonic() - started < 3
