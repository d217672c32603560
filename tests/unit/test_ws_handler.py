"""The ws function's handler (functions/ws/ws_handler.py) as API Gateway calls it, with in-memory
connections and replies: the token at $connect, and frames that are not messages."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from exchange.json_limits import MAX_DEPTH
from exchange.security.tokens import TokenService
from exchange.usecases.subscriptions import Subscriptions
from local_stack.lambda_runtime import LambdaContext

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics:UserWarning")
HANDLER = Path(__file__).resolve().parents[2] / "functions" / "ws" / "ws_handler.py"
SECRET = "w" * 48
ENV = {
    "TABLE_NAME": "unused",
    "CONNECTIONS_TABLE_NAME": "unused",
    "WS_MANAGEMENT_ENDPOINT": "http://127.0.0.1:9/dev",
    "JWT_SECRET": SECRET,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


class FakeConnections:
    def __init__(self) -> None:
        self.open: dict[str, dict[str, Any]] = {}

    def connect(self, cid: str, user_id: str | None, now: int) -> None:
        self.open[cid] = {"user_id": user_id, "channels": []}

    def subscribe(self, cid: str, channels: list[str], now: int) -> None:
        self.open[cid]["channels"] += channels

    def meta(self, cid: str) -> dict[str, Any] | None:
        return self.open.get(cid)

    def disconnect(self, cid: str) -> None:
        self.open.pop(cid, None)


class FakePusher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, cid: str, data: bytes) -> None:
        self.sent.append((cid, json.loads(data)))


@pytest.fixture
def ws() -> Iterator[tuple[ModuleType, FakeConnections, FakePusher, TokenService]]:
    saved = {k: os.environ.get(k) for k in ENV}
    os.environ.update(ENV)
    try:  # a module of its own (the settings are read at import), not the one the local stack loads
        spec = importlib.util.spec_from_file_location("ws_handler_under_test", HANDLER)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    connections, pusher = FakeConnections(), FakePusher()
    tokens = TokenService(SECRET, "exchange-simulator", "exchange-simulator-api", 900)
    subs = Subscriptions(connections, store=None, tokens=tokens)  # type: ignore[arg-type]
    module.subscriptions = lambda: subs  # type: ignore[attr-defined]
    module.pusher = lambda: pusher  # type: ignore[attr-defined]
    yield module, connections, pusher, tokens


def _event(route: str, cid: str, *, query: dict[str, str] | None = None, body: str | None = None) -> Any:
    return {
        "requestContext": {"routeKey": route, "connectionId": cid, "eventType": "MESSAGE"},
        "queryStringParameters": query,
        "body": body,
    }


def _call(module: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    return module.lambda_handler(event, LambdaContext("WsFunction", 10))  # type: ignore[no-any-return]


@pytest.mark.parametrize("query", [{"token": ""}, {"token": "not-a-token"}], ids=["empty", "garbage"])
def test_an_empty_token_is_refused_like_a_bad_one(ws: Any, query: dict[str, str]) -> None:
    module, connections, _, _ = ws
    # When a client connects with ?token= (empty) or a token that is not one
    answer = _call(module, _event("$connect", "c1", query=query))
    # Then the handshake is refused with 401 and no connection is recorded
    assert answer == {"statusCode": 401, "body": "Unauthorized"}
    assert connections.open == {}


def test_no_token_is_anonymous_and_a_good_token_is_the_users(ws: Any) -> None:
    module, connections, _, tokens = ws
    # When one client connects without a token, another with a valid one
    assert _call(module, _event("$connect", "anon", query=None))["statusCode"] == 200
    assert (
        _call(module, _event("$connect", "u", query={"token": tokens.issue("U1", "trader")}))["statusCode"]
        == 200
    )
    # Then the first is anonymous (no channel), the second is subscribed to its own channel
    assert connections.open["anon"] == {"user_id": None, "channels": []}
    assert connections.open["u"] == {"user_id": "U1", "channels": ["user:U1"]}


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1_000, 100_000])
def test_a_deeply_nested_frame_gets_an_error_frame(ws: Any, depth: int) -> None:
    module, _, pusher, _ = ws
    _call(module, _event("$connect", "c1"))
    # When a frame of deeply nested arrays arrives (1,000 levels was a RecursionError)
    for body in ("[" * depth + "]" * depth, '{"action":' * depth + '"ping"' + "}" * depth):
        answer = _call(module, _event("$default", "c1", body=body))
        # Then the invocation succeeds and the client gets the contract's error frame
        assert answer == {"statusCode": 200}
        assert pusher.sent.pop() == (
            "c1",
            {
                "type": "error",
                "error": {
                    "code": "malformed_request",
                    "message": f"the message is nested deeper than {MAX_DEPTH} levels",
                },
            },
        )
    # and the connection still answers
    _call(module, _event("$default", "c1", body='{"action": "ping"}'))
    assert pusher.sent.pop() == ("c1", {"type": "pong"})


def test_a_frame_that_is_not_an_object_gets_an_error_frame(ws: Any) -> None:
    module, _, pusher, _ = ws
    for body in ("not json", "[1, 2]", None):
        assert _call(module, _event("$default", "c1", body=body)) == {"statusCode": 200}
        assert pusher.sent.pop()[1]["error"] == {
            "code": "malformed_request",
            "message": "messages are JSON objects",
        }
