"""The FastAPI app: routers, the error envelope, the body guard, health."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api_app import docs, errors
from api_app.cors import Cors
from api_app.routes import admin, auth, market, orders, portfolio
from api_app.schemas import ErrorEnvelope, HealthOut
from api_app.services import Services
from exchange import json_limits
from exchange.settings import ApiSettings


def create_app(services: Services | None = None, ready: Callable[[], bool] | None = None) -> FastAPI:
    app = FastAPI(
        title="Stock exchange simulator",
        version="1.0.0",
        description="The public contract (v1): auth, orders, market data, portfolio, admin.",
        openapi_url="/openapi.json",
        docs_url=None,  # served below with a relative document URL, so it works under a stage prefix
        redoc_url=None,
    )
    app.state.services = services or Services(ApiSettings())  # type: ignore[call-arg]
    app.state.ready = ready or (lambda: True)
    app.state.faults = None  # the local stack sets a callable: {fault: count injected}
    settings = app.state.services.settings
    errors.install(app)

    app.add_middleware(BodyGuard, max_body=settings.MAX_BODY_BYTES)
    app.add_middleware(Cors, origins=settings.cors_origins)  # added last: outermost, before the guard

    @app.get(
        "/api/health", response_model=HealthOut, tags=["health"], responses={503: {"model": ErrorEnvelope}}
    )
    def health() -> Response:
        if not app.state.ready():
            return errors.envelope(503, "not_ready", "the stack is starting")
        body: dict[str, Any] = {"status": "ok"}
        if app.state.faults is not None:
            body["faults"] = app.state.faults()
        return JSONResponse(body)

    docs.install(app)  # /docs and its assets from the package, relative URLs (also under /<stage>/)

    for router in (auth.router, orders.router, market.router, portfolio.router, admin.router):
        app.include_router(router)
    return app


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _bad_string_at(value: Any, path: list[str]) -> list[str] | None:
    """The path of the first string (key or value) that is not valid Unicode (a lone surrogate).

    A walk with its own stack, not recursion: however deep the value, no RecursionError."""
    todo: list[tuple[Any, list[str]]] = [(value, path)]
    while todo:
        item, at = todo.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return at
        elif isinstance(item, dict):
            children = []
            for k, v in item.items():
                children += [(k, [*at, "<key>"]), (v, [*at, str(k)])]
            todo.extend(reversed(children))  # popped in document order: keys before their values
        elif isinstance(item, list):
            todo.extend(reversed([(v, [*at, str(i)]) for i, v in enumerate(item)]))
    return None


def _float_noting(inexact: list[str]) -> Callable[[str], float]:
    """A ``parse_float`` that reads like json's own but notes each literal a float changes (more
    digits than a double holds, e.g. ``1.0000000000000000000000001`` would be read as 1.00): the
    app would otherwise decide on a value the client did not send."""

    def parse(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value) or Decimal(literal) != Decimal(repr(value)):
            inexact.append(literal)
        return value

    return parse


class BodyGuard:
    """Pure ASGI, outermost: refuses before any route runs, in the error envelope,
    - a body over ``max_body`` bytes (413, declared or streamed: reading stops at the limit);
    - a body that is not JSON by its Content-Type (415; no Content-Type is read as JSON);
    - a JSON body that is not UTF-8, or nests deeper than ``json_limits.MAX_DEPTH`` levels (checked
      before parsing: Python's parser would raise RecursionError), or holds NaN/Infinity (400), or a
      number a float cannot hold exactly (422: ``1.0000000000000000000000001`` is not 1.00), or a
      lone surrogate escape such as "\\ud800" in a string (422 with the field path: it cannot be
      stored or hashed).
    The body it read is replayed to the app unchanged."""

    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        too_large = errors.envelope(
            413, "payload_too_large", f"the body is larger than {self.max_body} bytes"
        )
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await too_large(scope, receive, send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await too_large(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = self._problem(scope["method"], headers, body)
        if problem is not None:
            await problem(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _problem(self, method: str, headers: Headers, body: bytes) -> JSONResponse | None:
        if not body.strip() or method not in _BODY_METHODS:
            return None
        content_type = headers.get("content-type")
        if content_type is not None and not _is_json(content_type):
            return errors.envelope(415, "unsupported_media_type", "the body must be application/json")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return errors.envelope(400, "malformed_request", "the body is not UTF-8")
        inexact: list[str] = []
        try:
            value = json_limits.loads(text, parse_constant=_no_constant, parse_float=_float_noting(inexact))
        except json_limits.TooDeep as exc:
            return errors.envelope(400, "malformed_request", f"the body is {exc}", {"max_depth": exc.limit})
        except ValueError:
            return errors.envelope(400, "malformed_request", "the body is not valid JSON")
        if inexact:
            return errors.envelope(
                422,
                "validation_error",
                "the request is not valid",
                [
                    {
                        "loc": ["body"],
                        "msg": f"the number {inexact[0][:40]} cannot be read exactly: send it as a string",
                        "type": "number_inexact",
                    }
                ],
            )
        if "\\u" in text:
            path = _bad_string_at(value, ["body"])
            if path is not None:
                return errors.envelope(
                    422,
                    "validation_error",
                    "the request is not valid",
                    [{"loc": path, "msg": "not a valid Unicode string", "type": "string_unicode"}],
                )
        return None
