"""A local stand-in for API Gateway's WebSocket API.

It calls the ws function with API Gateway-shaped events ($connect with the query string, a route
chosen by ``$request.body.action``, $disconnect) and serves the ``@connections`` management API,
so the notifier's ``post_to_connection`` works unchanged — answering 410 Gone for a connection that
is not open, as AWS does (moto accepts any id).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable
from typing import Any

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
        self.sockets[cid] = ws
        try:
            while True:
                text = await ws.receive_text()
                route = "$default"
                try:
                    action = json.loads(text).get("action")
                    if isinstance(action, str) and action in self.route_keys:
                        route = action
                except (ValueError, AttributeError):
                    pass
                await self._call(self._event(route, cid, body=text))
        except WebSocketDisconnect:
            pass
        finally:
            self.sockets.pop(cid, None)
            await self._call(self._event("$disconnect", cid))

    async def connection_api(self, request: Request) -> Response:
        cid = request.path_params["connection_id"]
        ws = self.sockets.get(cid)
        if ws is None:
            return JSONResponse(
                {"message": "Gone"}, status_code=410, headers={"x-amzn-ErrorType": "GoneException"}
            )
        if request.method == "POST":
            data = await request.body()
            try:
                await ws.send_text(data.decode())
            except Exception:
                self.sockets.pop(cid, None)
                return JSONResponse(
                    {"message": "Gone"}, status_code=410, headers={"x-amzn-ErrorType": "GoneException"}
                )
            return Response(status_code=200)
        if request.method == "DELETE":
            await ws.close()
            self.sockets.pop(cid, None)
            return Response(status_code=204)
        return JSONResponse({"connectedAt": "", "identity": {"sourceIp": "127.0.0.1"}})
