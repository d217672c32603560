"""The local WebSocket gateway's @connections API, over HTTP and handed over in-process: the same
answers (200 for an open connection, 410 GoneException otherwise), messages in the order posted."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from websockets.sync.client import connect

from local_stack.stack import _Server, free_port
from local_stack.ws_gateway import WsGateway, _Body, install_direct_posts


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[WsGateway, int]]:
    gw = WsGateway(lambda event: {"statusCode": 200}, stage="dev", route_keys=set())
    server = _Server("ws-gateway-test", gw.app, free_port())
    server.start()
    server.wait_started()
    yield gw, server.server.config.port
    server.server.should_exit = True
    server.join(5)


def _client(port: int, direct: WsGateway | None) -> Any:
    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    calls: list[tuple[int, bool]] = []  # (status, handed over without HTTP)
    session.events.register(  # every call still answers through botocore's own hooks
        "after-call.apigatewaymanagementapi.PostToConnection",
        lambda http_response, **_: calls.append(
            (http_response.status_code, isinstance(http_response.raw, _Body))
        ),
    )
    if direct is not None:
        install_direct_posts(session.events, lambda: direct, port)
    client = session.client(
        "apigatewaymanagementapi",
        endpoint_url=f"http://127.0.0.1:{port}/dev",
        config=Config(retries={"max_attempts": 1}),
    )
    client.calls = calls
    return client


def _wait_open(gw: WsGateway, before: set[str]) -> str:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        new = set(gw.outboxes) - before
        if new:
            return new.pop()
        time.sleep(0.01)
    raise AssertionError("the connection did not open")


@pytest.mark.parametrize("direct", [False, True], ids=["http", "in-process"])
def test_posts_arrive_in_order_and_a_closed_connection_is_gone(
    gateway: tuple[WsGateway, int], direct: bool
) -> None:
    gw, port = gateway
    client = _client(port, gw if direct else None)
    before = set(gw.outboxes)
    with connect(f"ws://127.0.0.1:{port}/") as ws:
        cid = _wait_open(gw, before)
        # When 50 messages are posted to the open connection
        for n in range(50):
            client.post_to_connection(ConnectionId=cid, Data=json.dumps({"n": n}).encode())
        # Then the client gets them all, in order
        assert [json.loads(ws.recv(timeout=5))["n"] for _ in range(50)] == list(range(50))
    # and once it closed, a post is 410 GoneException, as to an id that never existed
    deadline = time.monotonic() + 5
    while cid in gw.outboxes and time.monotonic() < deadline:
        time.sleep(0.01)
    for connection_id in (cid, "never-opened="):
        with pytest.raises(ClientError) as err:
            client.post_to_connection(ConnectionId=connection_id, Data=b"{}")
        assert err.value.response["Error"]["Code"] == "GoneException"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
    assert client.calls == [(200, direct)] * 50 + [(410, direct)] * 2


def test_only_posts_to_the_gateways_own_endpoint_are_handed_over(gateway: tuple[WsGateway, int]) -> None:
    gw, port = gateway
    other = free_port()  # nothing listens there: a post that went over HTTP fails to connect
    client = _client(other, None)
    install_direct_posts(client.meta.events, lambda: gw, port)
    with pytest.raises(Exception, match="Could not connect"):
        client.post_to_connection(ConnectionId="x", Data=b"{}")
