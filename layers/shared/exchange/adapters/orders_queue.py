"""The SQS FIFO queue that sequences each stock: message group = symbol."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import boto3
from botocore.config import Config


@cache
def _sqs_client() -> Any:
    return boto3.client("sqs", config=Config(retries={"max_attempts": 4, "mode": "standard"}))


class OrdersQueue:
    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = _sqs_client()
        return self._client

    def send(self, *, kind: str, symbol: str, order_id: str, user_id: str, dedup_id: str) -> None:
        body = {"kind": kind, "symbol": symbol, "order_id": order_id, "user_id": user_id}
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps(body, separators=(",", ":")),
            MessageGroupId=symbol,
            MessageDeduplicationId=dedup_id,
        )
