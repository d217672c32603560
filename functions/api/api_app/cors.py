"""CORS for a browser client on another origin (``CORS_ALLOWED_ORIGINS``; none by default).

Starlette's CORSMiddleware, configured for the contract's clients: credentials allowed (the
refresh and CSRF cookies ride on /api/auth/refresh and /logout), the headers they send
(``Authorization``, ``Content-Type``, ``X-CSRF-Token``, ``If-None-Match``), the methods the api
has, and the response headers a client reads (``Retry-After`` on 429/503, ``ETag`` for
``If-None-Match``). It sits outermost, so the body guard's refusals carry the headers too (a browser
could not read a 413 otherwise). A preflight it refuses is answered in the contract's envelope
(403 ``forbidden``, ``details.refused`` naming what was refused) instead of Starlette's plain text.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp

from api_app import errors

METHODS = ("GET", "POST", "DELETE")
REQUEST_HEADERS = ("Authorization", "Content-Type", "X-CSRF-Token", "If-None-Match")
EXPOSED_HEADERS = ("Retry-After", "ETag")
PREFLIGHT_MAX_AGE = 600


class Cors(CORSMiddleware):
    def __init__(self, app: ASGIApp, origins: tuple[str, ...]) -> None:
        super().__init__(
            app,
            allow_origins=origins,
            allow_methods=METHODS,
            allow_headers=REQUEST_HEADERS,
            allow_credentials=True,
            expose_headers=EXPOSED_HEADERS,
            max_age=PREFLIGHT_MAX_AGE,
        )

    def preflight_response(self, request_headers: Headers) -> Response:
        answer = super().preflight_response(request_headers)
        if answer.status_code == 200:
            return answer
        refused = _refused(self, request_headers)
        origin = request_headers["origin"]
        if "origin" in refused:
            message = f"cross-origin requests from {origin} are not allowed (CORS_ALLOWED_ORIGINS)"
        else:
            message = (
                f"cross-origin request refused ({', '.join(refused)}): the methods are "
                f"{', '.join(METHODS)}, the headers {', '.join(REQUEST_HEADERS)}"
            )
        refusal = errors.envelope(403, "forbidden", message, {"refused": refused})
        for name, value in answer.headers.items():  # Vary and the Allow-* headers Starlette computed
            if name.lower().startswith(("vary", "access-control-")):
                refusal.headers[name] = value
        return refusal


def _refused(cors: CORSMiddleware, headers: Headers) -> list[str]:
    """What of the preflight is not allowed, as Starlette decides it (origin, method, headers)."""
    refused = []
    if not cors.is_allowed_origin(headers["origin"]):
        refused.append("origin")
    if headers["access-control-request-method"] not in cors.allow_methods:
        refused.append("method")
    requested = headers.get("access-control-request-headers")
    asked = [h.strip().lower() for h in requested.split(",")] if requested is not None else []
    if any(h not in cors.allow_headers for h in asked):
        refused.append("headers")
    if "access-control-request-private-network" in headers:
        refused.append("private-network")
    return refused
