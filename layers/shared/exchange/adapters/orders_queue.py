"""The SQS FIFO queue that sequences each stock: message group = symbol."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from exchange.messages import OrderMessage


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

    def send(self, message: OrderMessage, *, dedup_id: str) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=message.to_body(),
            MessageGroupId=message.symbol,
            MessageDeduplicationId=dedup_id,
        )
