"""A local stand-in for API Gateway's WebSocket API.

It calls the ws function with API Gateway-shaped events ($connect with the query string, a route
chosen by ``$request.body.action``, $disconnect) and serves the ``@connections`` management API,
so the notifier's ``post_to_connection`` works unchanged — answering 410 Gone for a connection that
is not open, as AWS does (moto accepts any id).

A post is accepted (200) when its connection is open and queued on the connection's own outbox,
which one task per connection sends in order: as on AWS, the answer means "accepted", not "read by
the client", and a connection found closed while sending answers 410 from then on. The caller never
waits for the client or for the gateway's event loop. ``install_direct_posts`` hands the posts of
the functions in this process to the gateway without the loopback HTTP request (botocore still
builds, signs and parses every call, and its event hooks — the injected faults — still run): the
HTTP hop was most of a post's cost here, in the one process (and GIL) that runs the functions too.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

Invoke = Callable[[dict[str, Any]], Any]


def _connection_id() -> str:
    return base64.urlsafe_b64encode(os.urandom(9)).decode()  # like AWS's 12-character ids


class WsGateway:
    def __init__(self, invoke: Invoke, *, stage: str, route_keys: set[str]) -> None:
        self.invoke = invoke
        self.stage = stage
        self.route_keys = route_keys
        self.sockets: dict[str, WebSocket] = {}
        self.outboxes: dict[str, asyncio.Queue[str]] = {}
        self.loop: asyncio.AbstractEventLoop | None = None  # the server's, known from the first socket
        self._inbox: list[tuple[asyncio.Queue[str], str]] = []  # posted from other threads
        self._inbox_lock = threading.Lock()
        self._wake_pending = False
        self.app = Starlette(
            routes=[
                WebSocketRoute("/", self.websocket),
                Route(
                    "/{stage}/@connections/{connection_id}",
                    self.connection_api,
                    methods=["POST", "GET", "DELETE"],
                ),
            ]
        )

    def _event(
        self,
        route: str,
        cid: str,
        *,
        body: str | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
        return {
            "requestContext": {
                "routeKey": route,
                "eventType": event_type,
                "connectionId": cid,
                "stage": self.stage,
                "apiId": "local",
                "domainName": "127.0.0.1",
                "requestId": _connection_id(),
                "connectedAt": int(time.time() * 1000),
                "requestTimeEpoch": int(time.time() * 1000),
            },
            "queryStringParameters": query or None,
            "headers": headers or {},
            "body": body,
            "isBase64Encoded": False,
        }

    async def _call(self, event: dict[str, Any]) -> dict[str, Any]:
        result = await asyncio.to_thread(self.invoke, event)
        return result if isinstance(result, dict) else {"statusCode": 200}

    async def websocket(self, ws: WebSocket) -> None:
        cid = _connection_id()
        result = await self._call(
            self._event("$connect", cid, query=dict(ws.query_params), headers=dict(ws.headers))
        )
        status = int(result.get("statusCode", 200))
        if status >= 300:
            await ws.send_denial_response(
                PlainTextResponse(result.get("body") or "Forbidden", status_code=status)
            )
            return
        await ws.accept()
        self.loop = asyncio.get_running_loop()
        outbox: asyncio.Queue[str] = asyncio.Queue()
        sender = asyncio.create_task(self._send(cid, ws, outbox))
        self.sockets[cid], self.outboxes[cid] = ws, outbox
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:  # API Gateway takes no binary frame: it closes with 1003
                    await ws.close(code=1003, reason="binary frames are not supported")
                    break
                await self._message(cid, outbox, text)
        except WebSocketDisconnect:
            pass
        finally:
            self._forget(cid)
            sender.cancel()
            await self._call(self._event("$disconnect", cid))

    def _route(self, text: str) -> str:
        """``$request.body.action`` when it names a route, else $default (text that is not a JSON
        object, or one nested too deep for the parser, is the $default route's to refuse)."""
        try:
            action = json.loads(text).get("action")
        except (ValueError, AttributeError, RecursionError):
            return "$default"
        return action if isinstance(action, str) and action in self.route_keys else "$default"

    async def _message(self, cid: str, outbox: asyncio.Queue[str], text: str) -> None:
        event = self._event(self._route(text), cid, body=text)
        try:
            await self._call(event)
        except Exception:
            # a failed invocation: API Gateway answers the client with its generic error frame and
            # keeps the connection open; the traceback is the function's log
            traceback.print_exc()
            frame = {
                "message": "Internal server error",
                "connectionId": cid,
                "requestId": event["requestContext"]["requestId"],
            }
            self._empty_inbox()  # after what the functions posted before it
            outbox.put_nowait(json.dumps(frame))

    def _forget(self, cid: str) -> None:
        self.sockets.pop(cid, None)
        self.outboxes.pop(cid, None)

    async def _send(self, cid: str, ws: WebSocket, outbox: asyncio.Queue[str]) -> None:
        while True:
            text = await outbox.get()
            try:
                await ws.send_text(text)
            except Exception:
                self._forget(cid)  # later posts are 410 Gone
                return

    def post(self, connection_id: str, data: bytes) -> bool:
        """Queue a message for an open connection; False: it is not open (410). Any thread.

        Posts from other threads go through one inbox that the loop empties, woken once per burst
        (not once per post: waking the loop is a system call, and each one hands the GIL around)."""
        outbox, loop = self.outboxes.get(connection_id), self.loop
        if outbox is None or loop is None:
            return False
        text = data.decode()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._empty_inbox()  # what other threads posted before goes first
            outbox.put_nowait(text)
            return True
        with self._inbox_lock:
            self._inbox.append((outbox, text))
            if self._wake_pending:
                return True
            self._wake_pending = True
        loop.call_soon_threadsafe(self._empty_inbox)
        return True

    def _empty_inbox(self) -> None:
        with self._inbox_lock:
            items, self._inbox, self._wake_pending = self._inbox, [], False
        for outbox, text in items:  # in the order posted: a connection's messages keep their order
            outbox.put_nowait(text)

    async def connection_api(self, request: Request) -> Response:
        cid = request.path_params["connection_id"]
        ws = self.sockets.get(cid)
        gone = JSONResponse(
            {"message": "Gone"}, status_code=410, headers={"x-amzn-ErrorType": "GoneException"}
        )
        if ws is None:
            return gone
        if request.method == "POST":
            return Response(status_code=200) if self.post(cid, await request.body()) else gone
        if request.method == "DELETE":
            await ws.close()
            self._forget(cid)
            return Response(status_code=204)
        return JSONResponse({"connectedAt": "", "identity": {"sourceIp": "127.0.0.1"}})


class _Body:
    """The raw body botocore reads of a response it did not fetch over HTTP."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.data


def install_direct_posts(events: Any, gateway: Callable[[], WsGateway | None], port: int) -> None:
    """Posts to ``http://127.0.0.1:{port}/{stage}/@connections/{id}`` from this process reach the
    gateway directly (botocore's ``before-send``: the request is built, signed and its answer parsed
    as over HTTP). Register on the session before the functions make their clients."""
    from botocore.awsrequest import AWSResponse

    def before_send(request: Any, **_: Any) -> Any:
        gw = gateway()
        prefix = f"http://127.0.0.1:{port}/{gw.stage}/@connections/" if gw else None
        if gw is None or prefix is None or not request.url.startswith(prefix) or request.method != "POST":
            return None
        body = request.body if isinstance(request.body, bytes) else bytes(request.body or b"")
        if gw.post(unquote(request.url[len(prefix) :]), body):
            return AWSResponse(request.url, 200, {}, _Body(b""))
        headers = {"x-amzn-ErrorType": "GoneException", "Content-Type": "application/json"}
        return AWSResponse(request.url, 410, headers, _Body(b'{"message":"Gone"}'))

    events.register("before-send.apigatewaymanagementapi.PostToConnection", before_send)
