"""WebSocket connections and channel subscriptions, and the @connections management API."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from exchange.adapters.dynamo import Op, Table, backoff_delay

CONNECTION_TTL_SECONDS = 3 * 3600  # API Gateway closes a WebSocket after 2 h


def _conn(connection_id: str) -> str:
    return f"CONN#{connection_id}"


def _chan(channel: str) -> str:
    return f"CHAN#{channel}"


class ConnectionGone(Exception):
    """The connection is closed (410 Gone)."""


class ConnectionStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table = Table(table_name, client)

    def connect(self, connection_id: str, user_id: str | None, now_s: int) -> None:
        item: dict[str, Any] = {
            "pk": _conn(connection_id),
            "sk": "META",
            "connection_id": connection_id,
            "expires_at": now_s + CONNECTION_TTL_SECONDS,
        }
        if user_id:
            item["user_id"] = user_id
        self.table.put(item)

    def meta(self, connection_id: str) -> dict[str, Any] | None:
        return self.table.get(_conn(connection_id), "META")

    def subscribe(self, connection_id: str, channels: list[str], now_s: int) -> None:
        t = self.table.name
        exp = now_s + CONNECTION_TTL_SECONDS
        ops = []
        for ch in channels:
            ops.append(
                Op(
                    "Put",
                    t,
                    item={
                        "pk": _chan(ch),
                        "sk": connection_id,
                        "channel": ch,
                        "connection_id": connection_id,
                        "expires_at": exp,
                    },
                )
            )
            ops.append(
                Op(
                    "Put",
                    t,
                    item={"pk": _conn(connection_id), "sk": f"SUB#{ch}", "channel": ch, "expires_at": exp},
                )
            )
        for start in range(0, len(ops), 100):
            self.table.transact(ops[start : start + 100])

    def unsubscribe(self, connection_id: str, channels: list[str]) -> None:
        for ch in channels:
            self.table.delete(_chan(ch), connection_id)
            self.table.delete(_conn(connection_id), f"SUB#{ch}")

    def channels_of(self, connection_id: str) -> list[str]:
        return [
            i["channel"]
            for i in self.table.query_all(
                "pk = :p AND begins_with(sk, :s)", {":p": _conn(connection_id), ":s": "SUB#"}, consistent=True
            )
        ]

    def disconnect(self, connection_id: str) -> None:
        self.unsubscribe(connection_id, self.channels_of(connection_id))
        self.table.delete(_conn(connection_id), "META")

    def subscribers(self, channel: str) -> list[str]:
        return [i["connection_id"] for i in self.table.query_all("pk = :p", {":p": _chan(channel)})]


@lru_cache(maxsize=8)
def _management_client(endpoint: str, connections: int = 10) -> Any:
    # one client for every thread of the process (botocore clients are thread-safe): its pool keeps
    # ``connections`` HTTP connections alive, one per posting worker; short timeouts, so a stuck
    # post gives its worker back soon (the failure then fails the record, and the stream retries)
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=endpoint,
        config=Config(
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=1,
            read_timeout=3,
            max_pool_connections=max(10, connections),
            tcp_keepalive=True,
        ),
    )


class ConnectionPusher:
    """post_to_connection; 410 Gone becomes ``ConnectionGone``. Any other failure (throttling, a 5xx
    that outlasted the SDK's own retries) is tried again here a few times, with jittered backoff,
    before it fails the stream record: a failed record is re-posted to every subscriber of all its
    events, so one flaky connection must not make the others see duplicates."""

    attempts = 3
    sleep: Callable[[float], None] = staticmethod(time.sleep)  # tests replace it

    def __init__(self, endpoint: str, client: Any | None = None, *, connections: int = 10) -> None:
        self._client = client or _management_client(endpoint, connections)

    def send(self, connection_id: str, data: bytes) -> None:
        for attempt in range(self.attempts):
            try:
                self._client.post_to_connection(ConnectionId=connection_id, Data=data)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] in ("GoneException", "410"):
                    raise ConnectionGone(connection_id) from exc
                if attempt + 1 == self.attempts:
                    raise
                self.sleep(backoff_delay(attempt))
