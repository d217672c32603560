"""The local WebSocket gateway on frames that are not plain messages, as API Gateway treats them: a
frame that is not parseable JSON (nested past the parser's limit included) goes to $default, a
failed invocation gets API Gateway's generic error frame and the connection stays, a binary frame
closes the connection with 1003."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from local_stack.stack import _Server, free_port
from local_stack.ws_gateway import WsGateway


class Handler:
    """Records the routes it is invoked on; fails on the frame "boom"."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((event["requestContext"]["routeKey"], event.get("body")))
        if event.get("body") == "boom":
            raise RuntimeError("the handler failed")
        return {"statusCode": 200}


@pytest.fixture(scope="module")
def gateway() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    gw = WsGateway(handler, stage="dev", route_keys={"subscribe"})
    server = _Server("ws-gateway-frames", gw.app, free_port())
    server.start()
    server.wait_started()
    yield handler, server.server.config.port
    server.server.should_exit = True
    server.join(5)


def _routes_of(handler: Handler, bodies: list[str], timeout: float = 5) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = {body: route for route, body in handler.calls if body in bodies}
        if len(found) == len(bodies):
            return [found[b] for b in bodies]
        time.sleep(0.01)
    raise AssertionError(f"not all frames reached the handler: {handler.calls}")


def test_route_selection_takes_unparseable_frames_as_default(gateway: tuple[Handler, int]) -> None:
    handler, port = gateway
    deep = '{"action":' * 100_000 + '"subscribe"' + "}" * 100_000  # json.loads: RecursionError
    frames = ['{"action": "subscribe", "channels": []}', deep, "not json", "[1]", '{"action": "nope"}']
    with connect(f"ws://127.0.0.1:{port}/", max_size=None) as ws:
        for frame in frames:
            ws.send(frame)
        # Then the named route for the one that names it, $default for the rest, and all arrive
        assert _routes_of(handler, frames) == ["subscribe", "$default", "$default", "$default", "$default"]


def test_a_failed_invocation_gets_the_generic_frame_and_the_connection_stays(
    gateway: tuple[Handler, int],
) -> None:
    _, port = gateway
    with connect(f"ws://127.0.0.1:{port}/") as ws:
        # When the handler fails on a message
        ws.send("boom")
        # Then API Gateway's generic error frame comes back
        frame = json.loads(ws.recv(timeout=5))
        assert frame["message"] == "Internal server error"
        assert set(frame) == {"message", "connectionId", "requestId"}
        # and the connection still carries messages
        ws.send("after")
        ws.send("boom")
        assert json.loads(ws.recv(timeout=5))["message"] == "Internal server error"


def test_a_binary_frame_closes_with_1003(gateway: tuple[Handler, int]) -> None:
    _, port = gateway
    with connect(f"ws://127.0.0.1:{port}/") as ws:
        ws.send(b"\x00binary")
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1003
