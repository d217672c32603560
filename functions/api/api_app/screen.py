"""The trading screen: ``GET /`` (the page) and ``GET /static/<version>/<file>`` (its assets).

No build step: the page is plain ES modules and CSS from ``api_app/static`` (packaged with the
function: functions/api/Makefile copies ``api_app``), the chart is lightweight-charts vendored from the
npm registry (``static/vendor``, with its licence). The assets are served under a version taken from
a hash of every file, so they can be cached for a year (``immutable``); a change of any file gives a
new version, and relative imports between the modules stay inside one version. The page itself is
``no-cache``. Every answer carries a Content-Security-Policy allowing only this origin, plus the
WebSocket URL for ``connect-src``.

The page learns the WebSocket URL and the asset version from ``<meta>`` tags in the index, so it
works at ``/`` locally and at ``/<stage>/`` on API Gateway (every URL in it is relative).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Response
from fastapi.responses import HTMLResponse

from api_app import errors

STATIC = Path(__file__).with_name("static")
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".LICENSE": "text/plain; charset=utf-8",
}
ASSET_CACHE = "public, max-age=31536000, immutable"
INDEX_CACHE = "no-cache"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Assets:
    version: str
    files: dict[str, bytes]  # relative path (posix) -> content


@cache
def assets() -> Assets:
    files = {
        p.relative_to(STATIC).as_posix(): p.read_bytes()
        for p in sorted(STATIC.rglob("*"))
        if p.is_file() and p.name != "index.html" and _type(p.name) is not None
    }
    digest = hashlib.sha256()
    for name, body in files.items():
        digest.update(name.encode() + b"\0" + body + b"\0")
    digest.update((STATIC / "index.html").read_bytes())
    return Assets(version=digest.hexdigest()[:12], files=files)


def _type(name: str) -> str | None:
    for suffix, media in TYPES.items():
        if name.endswith(suffix):
            return media
    return None


def websocket_url(environ: dict[str, str] | None = None) -> str:
    """The URL a browser connects to, from the management endpoint the functions post to.

    ``SCREEN_WS_URL`` wins when set. Otherwise: on AWS the management endpoint is
    ``https://<id>.execute-api.<region>.amazonaws.com/<stage>`` and the clients' URL is the same with
    ``wss://``; the local gateway takes management calls at ``http://127.0.0.1:<port>/<stage>`` and
    clients at ``ws://127.0.0.1:<port>/``. Empty when neither is known (the page then runs without
    live updates and says so)."""
    env = os.environ if environ is None else environ
    explicit = env.get("SCREEN_WS_URL", "").strip()
    if explicit:
        return explicit
    endpoint = env.get("WS_MANAGEMENT_ENDPOINT", "").strip()
    if not endpoint:
        return ""
    parts = urlsplit(endpoint)
    scheme = "wss" if parts.scheme == "https" else "ws"
    if parts.hostname in _LOOPBACK:
        return f"{scheme}://{parts.netloc}/"
    return f"{scheme}://{parts.netloc}{parts.path}"


def csp(ws_url: str) -> str:
    connect = "'self'" + (f" {ws_url}" if ws_url else "")
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
        f"connect-src {connect}; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    )


def _headers(cache_control: str, ws_url: str) -> dict[str, str]:
    return {
        "Cache-Control": cache_control,
        "Content-Security-Policy": csp(ws_url),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


@cache
def _index_template() -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


def index_html(ws_url: str) -> str:
    return (
        _index_template()
        .replace("{{version}}", assets().version)
        .replace("{{ws_url}}", escape(ws_url, quote=True))
    )


def install(app: FastAPI) -> None:
    """GET / and GET /static/{version}/{path}."""
    ws_url = websocket_url()

    @app.get("/", include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse(index_html(ws_url), headers=_headers(INDEX_CACHE, ws_url))

    @app.get("/static/{version}/{path:path}", include_in_schema=False)
    def static(version: str, path: str) -> Response:
        found = assets()
        body = found.files.get(path)
        media = _type(path)
        if body is None or media is None:
            return errors.envelope(404, "not_found", "no such file")
        if version != found.version:
            # an old page asking for assets that changed: never cache today's bytes under its version
            return errors.envelope(404, "not_found", "that version of the screen is gone: reload the page")
        return Response(body, media_type=media, headers=_headers(ASSET_CACHE, ws_url))
