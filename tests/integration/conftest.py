"""Integration tier: the real adapters and use cases against moto in-process (mock_aws), with the
tables and queues created from template.yaml."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from exchange.adapters.exchange_store import ExchangeStore
from exchange.adapters.matcher_store import DynamoMatcherStore
from exchange.adapters.orders_queue import OrdersQueue
from exchange.usecases.accounts import Accounts
from exchange.usecases.admin import Admin
from exchange.usecases.matching import Matcher
from exchange.usecases.orders import Orders
from local_stack import moto_fidelity
from local_stack.template import LocalTemplate


@dataclass
class Exchange:
    store: ExchangeStore
    queue: OrdersQueue
    accounts: Accounts
    admin: Admin
    orders: Orders
    matcher: Matcher
    matcher_store: DynamoMatcherStore


@pytest.fixture(scope="module")
def aws() -> Iterator[None]:
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("AWS_ENDPOINT_URL")}
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
    )
    moto_fidelity.install()
    with mock_aws():
        yield
    os.environ.update(saved)


@pytest.fixture(scope="module")
def exchange(aws: None) -> Exchange:
    template = LocalTemplate()
    ddb = boto3.client("dynamodb")
    for kwargs in template.create_table_args(streams=False).values():
        ddb.create_table(**kwargs)
    url = boto3.client("sqs").create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})[
        "QueueUrl"
    ]
    store = ExchangeStore("ExchangeTable", boto3.client("dynamodb"))
    queue = OrdersQueue(url, boto3.client("sqs"))
    matcher_store = DynamoMatcherStore("ExchangeTable", boto3.client("dynamodb"))
    return Exchange(
        store,
        queue,
        Accounts(store, 10_000_000),
        Admin(store),
        Orders(store, queue),
        Matcher(matcher_store),
        matcher_store,
    )


CREDS = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}


def hash_table(ddb: Any, name: str, *, stream: bool = False) -> str | None:
    """A table keyed by a string `pk`; with ``stream``, NEW_AND_OLD_IMAGES and its stream ARN back."""
    extra = (
        {"StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        if stream
        else {}
    )
    desc = ddb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        **extra,
    )["TableDescription"]
    return desc.get("LatestStreamArn")


@contextmanager
def moto_server(*, patched: bool = True) -> Iterator[str]:
    """moto's server on a free loopback port, in this process (its backends can be inspected), with
    the local stack's fidelity patches unless ``patched`` is False (the fidelity tests' --plain-moto)."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    from local_stack.stack import free_port

    if patched:
        moto_fidelity.install()
    port = free_port()
    if patched:
        from local_stack.moto_front import Front

        server: Any = Front("127.0.0.1", port)
    else:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextmanager
def examined(ex: Exchange) -> Iterator[list[int]]:
    """The items DynamoDB examined (ScannedCount) for each Query sent meanwhile."""
    counts: list[int] = []

    def count(parsed: dict[str, Any], **_: Any) -> None:
        counts.append(int(parsed.get("ScannedCount", 0)))

    events = ex.store.table.client.meta.events
    events.register("after-call.dynamodb.Query", count)
    try:
        yield counts
    finally:
        events.unregister("after-call.dynamodb.Query", count)
