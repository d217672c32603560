"""Public caching (API.md "Public caching"): Cache-Control, ETag, 304, and a short in-memory cache.

A route declares itself public with ``dependencies=[caching.public(N)]`` (N seconds of max-age, or a
function of the request). ``PublicCache``, a pure ASGI middleware around the routes, then
- gives a successful public GET ``Cache-Control: public, max-age=N`` and a strong ``ETag`` (a hash of
  the body bytes), and answers 304 with no body when ``If-None-Match`` matches it (``*``, a list,
  weak comparison as RFC 9110 section 13.1.2 says for GET);
- gives every other successful ``/api`` response ``Cache-Control: no-store`` (sessions, orders,
  portfolio, admin: anything with a user);
- leaves errors alone: no Cache-Control, no ETag (nothing may keep a 404 for a stock about to exist);
- keeps public answers in memory, per container, for min(max-age, ``PUBLIC_MEMO_SECONDS``) and serves
  them from there with an ``Age`` header, so that a burst of readers costs one DynamoDB read a second.
  It never serves an answer older than its max-age; a request with ``Cache-Control: no-cache`` (or
  ``max-age=0``) skips it and stores the fresh answer.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import Field
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exchange.domain.candles import INTERVALS, bucket_start
from exchange.ids import now_ms, parse_iso
from exchange.settings import EnvSettings

_SCOPE_KEY = "api.public_cache"  # the holder the middleware puts in the scope; the route's mark fills it
CLOSED_MAX_AGE = 3600  # a candle window wholly in the past: it can no longer change
CLOSED_GRACE_MS = 5_000  # a trade stamped just before an interval's end may commit just after it
_TAG = re.compile(r'\s*(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


class CacheSettings(EnvSettings):
    # seconds a container keeps a public answer (never longer than the answer's max-age); 0 turns it off
    PUBLIC_MEMO_SECONDS: Annotated[float, Field(ge=0)] = 1.0
    PUBLIC_MEMO_ENTRIES: Annotated[int, Field(gt=0)] = 512


def public(max_age: int | Callable[[Request], int]) -> Any:
    """The route dependency that marks its successful answers public for ``max_age`` seconds."""

    def mark(request: Request) -> None:
        holder = request.scope.get(_SCOPE_KEY)
        if holder is not None:
            holder["max_age"] = max_age(request) if callable(max_age) else max_age

    return Depends(mark)


def candles_max_age(request: Request) -> int:
    """1 s, or ``CLOSED_MAX_AGE`` when ``to`` is given and the last interval it asks for has ended."""
    interval, to = request.query_params.get("interval", "1m"), request.query_params.get("to")
    if to is None or interval not in INTERVALS:
        return 1
    try:
        end = bucket_start(parse_iso(to), interval) + INTERVALS[interval]
    except ValueError:
        return 1  # the route refuses it: an error, never cached
    return CLOSED_MAX_AGE if end + CLOSED_GRACE_MS <= now_ms() else 1


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def none_match(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` matches ``etag`` (weak comparison: ``W/`` is ignored on both)."""
    if header is None:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    at = 0
    while at < len(header):
        found = _TAG.match(header, at)
        if found is None:
            return False  # not a list of entity tags: no match, the full answer
        if found.group(1) == wanted:
            return True
        at = found.end()
    return False


def _skips_memo(headers: Headers) -> bool:
    directives = {d.strip().lower() for d in headers.get("cache-control", "").split(",")}
    return "no-cache" in directives or "max-age=0" in directives or "no-store" in directives


@dataclass(frozen=True)
class _Kept:
    stored_at: float
    ttl: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: str


class PublicCache:
    def __init__(
        self, app: ASGIApp, settings: CacheSettings, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        self.memo_seconds = settings.PUBLIC_MEMO_SECONDS
        self.memo_entries = settings.PUBLIC_MEMO_ENTRIES
        self.clock = clock
        self.memo: OrderedDict[tuple[str, bytes], _Kept] = OrderedDict()
        self.hits = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = (scope["path"], scope.get("query_string", b""))
        is_get = scope["method"] == "GET"
        if is_get and self.memo_seconds > 0 and not _skips_memo(headers):
            kept = self._fresh(key)
            if kept is not None:
                self.hits += 1
                age = (b"age", str(int(self.clock() - kept.stored_at)).encode())
                await self._answer(send, kept.status, [*kept.headers, age], kept.body, kept.etag, headers)
                return
        holder: dict[str, int] = {}
        scope[_SCOPE_KEY] = holder
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            await self._finish(send, start, b"".join(chunks), holder.get("max_age"), is_get, key, headers)

        await self.app(scope, receive, capture)

    async def _finish(
        self,
        send: Send,
        start: Message,
        body: bytes,
        max_age: int | None,
        is_get: bool,
        key: tuple[str, bytes],
        request: Headers,
    ) -> None:
        status = int(start["status"])
        raw = [(k, v) for k, v in start.get("headers", []) if k.lower() not in (b"cache-control", b"etag")]
        if status >= 300:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        if max_age is None or not is_get:
            await send({**start, "headers": [*raw, (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": body})
            return
        etag = etag_of(body)
        raw += [(b"cache-control", f"public, max-age={max_age}".encode()), (b"etag", etag.encode())]
        ttl = min(float(max_age), self.memo_seconds)
        if ttl > 0:
            self.memo[key] = _Kept(self.clock(), ttl, status, raw, body, etag)
            self.memo.move_to_end(key)
            while len(self.memo) > self.memo_entries:
                self.memo.popitem(last=False)
        await self._answer(send, status, raw, body, etag, request)

    def _fresh(self, key: tuple[str, bytes]) -> _Kept | None:
        kept = self.memo.get(key)
        if kept is None:
            return None
        if self.clock() - kept.stored_at >= kept.ttl:
            del self.memo[key]
            return None
        return kept

    @staticmethod
    async def _answer(
        send: Send, status: int, raw: list[tuple[bytes, bytes]], body: bytes, etag: str, request: Headers
    ) -> None:
        if none_match(", ".join(request.getlist("if-none-match")) or None, etag):
            kept = [(k, v) for k, v in raw if k.lower() not in (b"content-length", b"content-type")]
            await send({"type": "http.response.start", "status": 304, "headers": kept})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})
