"""Deeply nested JSON, and the other inputs that reached a RecursionError, over real HTTP and a real
WebSocket against the local stack: always a 4xx in the envelope (or the contract's error frame),
never a 500, and the WebSocket connection survives. Also ``?token=`` (empty) at the handshake."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from exchange.json_limits import MAX_DEPTH
from tests.conftest import bearer
from tests.e2e.conftest import WsClient

pytestmark = pytest.mark.e2e

TOO_DEEP = {
    "code": "malformed_request",
    "message": f"the body is nested deeper than {MAX_DEPTH} levels",
    "details": {"max_depth": MAX_DEPTH},
}


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _assert_envelope(r: httpx.Response) -> dict[str, Any]:
    assert r.headers["content-type"].startswith("application/json"), r.headers
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("authenticated", [False, True], ids=["no-token", "token"])
def test_nested_bodies_are_4xx_on_every_json_endpoint(
    http: httpx.Client, admin_token: str, register: Callable[..., dict[str, Any]], authenticated: bool
) -> None:
    user = register("deep")
    paths = [
        "/api/auth/login",
        "/api/auth/register",
        "/api/orders",
        "/api/admin/stocks",
        f"/api/admin/users/{user['user']['id']}/deposit",
        f"/api/admin/users/{user['user']['id']}/grant",
    ]
    headers = {"Content-Type": "application/json", **(bearer(admin_token) if authenticated else {})}
    for path in paths:
        # When 1,000 nested arrays (2 KB; this was a 500 with two tracebacks) are posted
        r = http.post(path, content=_deep(1_000), headers=headers)
        # Then 400 malformed_request in the envelope, naming the limit
        assert r.status_code == 400, (path, r.text)
        assert _assert_envelope(r) == TOO_DEEP
        # When 100,000 nested arrays (200 KB) are posted: over the body limit, refused unread
        r = http.post(path, content=_deep(100_000), headers=headers)
        assert r.status_code == 413, (path, r.text)
        assert _assert_envelope(r)["code"] == "payload_too_large"
        # and 1,000 nested objects too
        r = http.post(path, content=b'{"a":' * 1_000 + b"1" + b"}" * 1_000, headers=headers)
        assert r.status_code == 400 and _assert_envelope(r) == TOO_DEEP, (path, r.text)
    # and nothing was written: the user's cash is what it was (no deposit went through)
    r = http.get("/api/portfolio", headers=user["headers"])
    assert r.status_code == 200 and r.json()["cash"]["total"] == "100000.00"


def test_a_nested_cursor_is_422_not_500(http: httpx.Client, register: Callable[..., dict[str, Any]]) -> None:
    # Given a forged paging cursor: 1,500 "[" base64url, within the parameter's 2,048 characters
    # (json.loads raised RecursionError on it)
    user = register("cursor")
    forged = base64.urlsafe_b64encode(b"[" * 1_500).decode().rstrip("=")
    assert len(forged) <= 2048
    for path in ("/api/orders", "/api/portfolio/fills"):
        # When it is sent back as a cursor
        r = http.get(path, params={"cursor": forged}, headers=user["headers"])
        # Then it is an invalid cursor, 422 in the envelope
        assert r.status_code == 422, (path, r.text)
        assert _assert_envelope(r)["code"] == "validation_error"


def test_a_token_with_a_nested_header_is_401(http: httpx.Client) -> None:
    # Given a bearer token whose JWT header is 1,000 nested arrays (parsed before the signature)
    header = base64.urlsafe_b64encode(_deep(1_000)).decode().rstrip("=")
    r = http.get("/api/auth/me", headers=bearer(f"{header}.e30.c2ln"))
    # Then 401 like any bad token
    assert r.status_code == 401
    assert _assert_envelope(r)["code"] == "unauthorized"


def test_nested_query_and_cookie_values_are_plain_text(http: httpx.Client) -> None:
    # Given query parameters and cookies holding 1,000 "[" (they are strings: never parsed as JSON)
    deep = "[" * 1_000
    r = http.get("/api/stocks/ACME/candles", params={"interval": "1m", "from": deep, "to": deep})
    assert r.status_code == 422 and _assert_envelope(r)["code"] == "validation_error", r.text
    r = http.get("/api/stocks", params={"q": deep})
    assert r.status_code == 200
    http.cookies.set("refresh_token", deep, path="/api/auth")
    http.cookies.set("csrf_token", "c" * 16)
    r = http.post("/api/auth/refresh", headers={"X-CSRF-Token": "c" * 16})
    http.cookies.clear()
    assert r.status_code == 401 and _assert_envelope(r)["code"] == "unauthorized"


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_a_nested_websocket_frame_gets_an_error_frame_and_the_connection_survives(
    ws: Callable[..., WsClient], depth: int
) -> None:
    client = ws()
    # When a frame of deeply nested arrays, then one of objects naming an action, is sent
    for frame in (_deep(depth).decode(), '{"action":' * depth + '"ping"' + "}" * depth):
        client.conn.send(frame)
        # Then the contract's error frame comes back
        error = client.wait_for(lambda m: m.get("type") == "error")
        client.received.clear()
        assert error == {
            "type": "error",
            "error": {
                "code": "malformed_request",
                "message": f"the message is nested deeper than {MAX_DEPTH} levels",
            },
        }
    # and the connection still works
    client.send({"action": "ping"})
    assert client.wait_for(lambda m: m.get("type") == "pong") == {"type": "pong"}


def test_a_binary_frame_closes_with_1003_as_api_gateway_does(stack: Any) -> None:
    # API Gateway's WebSocket APIs take no binary frame: they close the connection with 1003
    with connect(stack.ws_url, open_timeout=10) as conn:
        conn.send(b"\x00\x01")
        with pytest.raises(ConnectionClosed) as info:
            conn.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1003


@pytest.mark.parametrize("query", ["?token=", "?token", "?token=&other=1"])
def test_an_empty_token_is_refused_like_a_bad_one(stack: Any, query: str) -> None:
    # When a client connects with an empty token (it used to connect as anonymous)
    with pytest.raises(InvalidStatus) as info:
        connect(stack.ws_url + query, open_timeout=10)
    # Then the handshake is refused with 401, as for an invalid token
    assert info.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as bad:
        connect(stack.ws_url + "?token=not-a-token", open_timeout=10)
    assert bad.value.response.status_code == 401
    # while no token at all is still the anonymous, public-only connection
    with connect(stack.ws_url, open_timeout=10) as conn:
        conn.send('{"action": "subscribe", "channels": ["user:someone"]}')
        assert '"forbidden"' in str(conn.recv(timeout=10))
