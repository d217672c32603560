"""The notifier's post_to_connection: Gone is final, a transient failure is tried again in place."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from exchange.adapters.connections import ConnectionGone, ConnectionPusher


class FlakyClient:
    def __init__(self, failures: list[str]) -> None:
        self.failures = list(failures)  # error codes to raise, one per call, then success
        self.posted: list[tuple[str, bytes]] = []
        self.calls = 0

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        self.calls += 1
        if self.failures:
            code = self.failures.pop(0)
            raise ClientError({"Error": {"Code": code, "Message": code}}, "PostToConnection")
        self.posted.append((ConnectionId, Data))
        return {}


def pusher(client: FlakyClient) -> ConnectionPusher:
    p = ConnectionPusher("http://unused", client=client)
    p.sleep = lambda _s: None  # type: ignore[method-assign]
    return p


def test_a_transient_failure_is_retried_and_the_event_posted_once() -> None:
    # Given a connection whose first two posts fail with throttling
    client = FlakyClient(["LimitExceededException", "InternalServerErrorException"])
    # When one event is sent
    pusher(client).send("c1", b"{}")
    # Then it is posted exactly once, after the two failures
    assert client.posted == [("c1", b"{}")]
    assert client.calls == 3


def test_a_lasting_failure_fails_the_send_after_the_attempts() -> None:
    client = FlakyClient(["LimitExceededException"] * 5)
    with pytest.raises(ClientError):
        pusher(client).send("c1", b"{}")
    assert client.calls == ConnectionPusher.attempts and client.posted == []


def test_gone_is_not_retried() -> None:
    client = FlakyClient(["GoneException"])
    with pytest.raises(ConnectionGone):
        pusher(client).send("c1", b"{}")
    assert client.calls == 1
