"""Read the whole exchange table of a running local stack (moto) with boto3."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer

from tools.conservation.records import Snapshot

TABLE = "ExchangeTable"  # template.yaml's logical id: the table's name in the local stack
_deserializer = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def client(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def scan(ddb: Any, table: str = TABLE) -> Iterator[dict[str, Any]]:
    """Every item of the table (strongly consistent), numbers as ints."""
    pages = ddb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
    for page in pages:
        for raw in page.get("Items", []):
            yield {k: _plain(_deserializer.deserialize(v)) for k, v in raw.items()}


def scan_items(endpoint: str, table: str = TABLE) -> Iterator[dict[str, Any]]:
    return scan(client(endpoint), table)


def load(endpoint: str, table: str = TABLE) -> Snapshot:
    return Snapshot.from_items(scan_items(endpoint, table))
