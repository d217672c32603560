"""Where moto differs from AWS in ways our code can observe, the local stack behaves like AWS.

Each test asserts AWS's behaviour. Run as part of `make test` they exercise the local stack's
fixes; run alone with `--plain-moto` (`pytest tests/integration/test_moto_fidelity.py --plain-moto`,
in its own process) they run against plain moto 5.2.5 and fail — that is how the differences
were shown (see docs/decisions.md).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_stack import moto_fidelity
from local_stack.event_sources import SqsPoller
from local_stack.stack import _Server, free_port
from local_stack.ws_gateway import WsGateway
from tests.integration.conftest import CREDS, hash_table, moto_server


@pytest.fixture(scope="module")
def moto_endpoint(plain_moto: bool) -> Iterator[str]:
    with moto_server(patched=not plain_moto) as url:
        yield url


def _client(service: str, endpoint: str, **config: Any) -> Any:
    return boto3.client(service, endpoint_url=endpoint, config=Config(**config), **CREDS)


def test_concurrent_requests_keep_every_committed_write(moto_endpoint: str) -> None:
    # Given a table big enough that a transaction's rollback takes a while, and a counter item
    ddb = _client("dynamodb", moto_endpoint, retries={"max_attempts": 1}, max_pool_connections=20)
    hash_table(ddb, "isolation")
    for i in range(0, 1500, 25):
        ddb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "isolation",
                        "Item": {"pk": {"S": f"filler-{j}"}, "pad": {"S": "x" * 200}},
                    }
                }
                for j in range(i, i + 25)
            ]
        )
    ddb.put_item(TableName="isolation", Item={"pk": {"S": "counter"}, "n": {"N": "0"}})
    acknowledged, errors = [], []

    def increment(times: int) -> None:
        for _ in range(times):
            try:
                ddb.update_item(
                    TableName="isolation",
                    Key={"pk": {"S": "counter"}},
                    UpdateExpression="ADD n :one",
                    ExpressionAttributeValues={":one": {"N": "1"}},
                )
                acknowledged.append(1)
            except ClientError as exc:
                errors.append(exc.response["Error"]["Code"])

    def cancelled_transactions(times: int) -> None:
        for _ in range(times):
            try:
                # 60 updates, the last one refused: the whole transaction is cancelled
                ddb.transact_write_items(
                    TransactItems=[
                        {
                            "Update": {
                                "TableName": "isolation",
                                "Key": {"pk": {"S": f"filler-{j}"}},
                                "UpdateExpression": "SET filler = :p",
                                "ConditionExpression": "attribute_not_exists(pk)"
                                if j == 59
                                else "attribute_exists(pk)",
                                "ExpressionAttributeValues": {":p": {"S": "y"}},
                            }
                        }
                        for j in range(60)
                    ]
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    errors.append(exc.response["Error"]["Code"])

    # When increments race with transactions that are cancelled
    threads = [threading.Thread(target=increment, args=(60,)) for _ in range(6)]
    threads += [threading.Thread(target=cancelled_transactions, args=(25,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    # Then every acknowledged increment is there, and nothing failed
    item = ddb.get_item(TableName="isolation", Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]
    assert errors == []
    assert int(item["n"]["N"]) == len(acknowledged) == 360


def test_fifo_group_keeps_its_order_when_a_batch_fails(moto_endpoint: str, plain_moto: bool) -> None:
    # Given a FIFO queue holding M0..M3 of one group, and a function that fails its first batch
    sqs = _client("sqs", moto_endpoint)
    url = sqs.create_queue(
        QueueName="order-test.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "1"}
    )["QueueUrl"]
    for i in range(4):
        sqs.send_message(
            QueueUrl=url, MessageBody=f"M{i}", MessageGroupId="ACME", MessageDeduplicationId=f"m{i}"
        )
    seen: list[list[str]] = []

    def function(event: dict[str, Any]) -> dict[str, Any]:
        bodies = [r["body"] for r in event["Records"]]
        seen.append(bodies)
        if len(seen) == 1:  # the first delivery fails as a whole
            return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
        return {"batchItemFailures": []}

    stop = threading.Event()
    # plain: what moto does on its own: failed messages come back when their visibility times out
    poller = SqsPoller(
        sqs,
        url,
        "arn:aws:sqs:us-east-1:123456789012:order-test.fifo",
        function,
        batch_size=10,
        stop=stop,
        wait_s=0,
        release_failed=not plain_moto,
    )

    # When the poller drives the function until everything is done
    deadline = time.monotonic() + 10
    while sum(len(b) for b in seen[1:]) < 4 and time.monotonic() < deadline:
        poller.poll_once()
        time.sleep(0.05)
    stop.set()

    # Then the group is delivered again in its order: M0, M1, M2, M3
    assert seen[0] == ["M0", "M1", "M2", "M3"]
    assert [m for batch in seen[1:] for m in batch] == ["M0", "M1", "M2", "M3"]


def test_post_to_a_closed_connection_is_410_gone(moto_endpoint: str, plain_moto: bool) -> None:
    # Given the @connections API (plain: moto's; local: the local WebSocket gateway)
    if plain_moto:
        endpoint = moto_endpoint
        server = None
    else:
        gateway = WsGateway(lambda event: {"statusCode": 200}, stage="dev", route_keys=set())
        server = _Server("ws-gateway-test", gateway.app, free_port())
        server.start()
        server.wait_started()
        endpoint = f"http://127.0.0.1:{server.server.config.port}/dev"
    client = _client("apigatewaymanagementapi", endpoint, retries={"max_attempts": 1})
    try:
        # When the notifier posts to a connection that does not exist (or has closed)
        with pytest.raises(ClientError) as err:
            client.post_to_connection(ConnectionId="gone-connection", Data=b"{}")
        # Then the answer is 410 GoneException, which the notifier uses to forget the connection
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
        assert err.value.response["Error"]["Code"] == "GoneException"
    finally:
        if server is not None:
            server.server.should_exit = True
            server.join(5)


def test_numbers_in_exponent_form_work_in_arithmetic(moto_endpoint: str) -> None:
    # Given an item with a number, and a delta written in exponent form (as boto3 writes Decimal("0E-8"))
    ddb = _client("dynamodb", moto_endpoint, retries={"max_attempts": 1})
    hash_table(ddb, "numbers")
    ddb.put_item(TableName="numbers", Item={"pk": {"S": "a"}, "n": {"N": "5"}})

    # When it is used in ADD and SET arithmetic
    ddb.update_item(
        TableName="numbers",
        Key={"pk": {"S": "a"}},
        UpdateExpression="ADD n :z",
        ExpressionAttributeValues={":z": {"N": "0E-8"}},
    )
    ddb.update_item(
        TableName="numbers",
        Key={"pk": {"S": "a"}},
        UpdateExpression="SET n = n + :k",
        ExpressionAttributeValues={":k": {"N": "1E+3"}},
    )

    # Then the arithmetic is right, as on AWS
    item = ddb.get_item(TableName="numbers", Key={"pk": {"S": "a"}})["Item"]
    assert float(item["n"]["N"]) == 1005


def test_an_update_that_creates_an_item_is_one_stream_record(moto_endpoint: str) -> None:
    # Given a table with a stream
    ddb = _client("dynamodb", moto_endpoint, retries={"max_attempts": 1})
    streams = _client("dynamodbstreams", moto_endpoint)
    arn = hash_table(ddb, "stream-records", stream=True)

    # When an UpdateItem creates an item (as the matcher does for a buyer's first holding)
    ddb.update_item(
        TableName="stream-records",
        Key={"pk": {"S": "h"}},
        UpdateExpression="ADD qty :q",
        ExpressionAttributeValues={":q": {"N": "3"}},
    )

    # Then the stream holds one INSERT with the whole item, as on AWS
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    assert [(r["eventName"], r["dynamodb"]["NewImage"]) for r in records] == [
        ("INSERT", {"pk": {"S": "h"}, "qty": {"N": "3"}})
    ]


def test_polling_a_stream_does_not_grow_moto_s_memory(moto_endpoint: str) -> None:
    from moto.dynamodbstreams.models import ShardIterator, dynamodbstreams_backends

    # Given a table with a stream, polled as the local stream poller polls it
    ddb = _client("dynamodb", moto_endpoint, retries={"max_attempts": 1})
    streams = _client("dynamodbstreams", moto_endpoint)
    arn = hash_table(ddb, "stream-memory", stream=True)
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    backend = dynamodbstreams_backends["123456789012"]["us-east-1"]
    tracked_before = len(ShardIterator.instances_tracked)  # type: ignore[attr-defined]

    # When it is polled 2,500 times (about two minutes of an idle local stack)
    for _ in range(2_500):
        iterator = streams.get_records(ShardIterator=iterator, Limit=100)["NextShardIterator"]

    # Then moto keeps a bounded number of iterators, and no list of every one it ever made
    assert len(backend.shard_iterators) <= moto_fidelity.SHARD_ITERATORS_KEPT
    assert len(ShardIterator.instances_tracked) - tracked_before < 100  # type: ignore[attr-defined]
    # and the newest iterator still works
    streams.get_records(ShardIterator=iterator, Limit=1)


def test_our_code_never_sends_exponents() -> None:
    # Given the adapter's serialiser (integers inside)
    from decimal import Decimal

    from exchange.adapters.dynamo import serialize

    # Then integers go out as plain digits and anything else is refused before it is sent
    assert serialize(0) == {"N": "0"} and serialize(-12_345_678_901_234) == {"N": "-12345678901234"}
    with pytest.raises(TypeError):
        serialize(Decimal("0E-8"))
    with pytest.raises(TypeError):
        serialize(0.1)
    assert json.dumps(serialize({"a": [1, 2]})) == '{"M": {"a": {"L": [{"N": "1"}, {"N": "2"}]}}}'
