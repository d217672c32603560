"""/docs: Swagger UI served by the app itself (no CDN: it works offline and in a locked-down network),
and the error examples of the OpenAPI document.

The page and its assets use relative URLs (``docs/swagger-ui.css``, ``openapi.json``), so that they
resolve both locally (``/docs``) and behind API Gateway's stage prefix (``/<stage>/docs``). The
JavaScript and CSS are the Swagger UI 5 bundle that the pinned ``fastapi-swagger`` package ships
(functions/api/requirements.txt, so ``sam build`` packages it too); only its files are used.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Any

from fastapi import FastAPI, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException

from api_app.error_docs import CODES, DEFAULT_CODES, described, examples

_NAMED = re.compile(r"`([a-z_]+)`: ")
_PACKAGE = "fastapi_swagger.resources"
ASSETS = {"swagger-ui-bundle.js": "application/javascript", "swagger-ui.css": "text/css"}
# documentation of operations declared outside the routers (main.py's health)
_OUTSIDE_ROUTERS: dict[tuple[str, str], dict[str, Any]] = {
    ("get", "/api/health"): {
        "summary": "Is every part of the stack up",
        "description": '200 `{"status": "ok"}` once every part is up (the local stack also reports '
        '`"faults"`: injections per configured fault), 503 `not_ready` before.',
        "errors": {"503": ("not_ready",)},
    },
}


@cache
def _asset(name: str) -> bytes:
    return (resources.files(_PACKAGE) / name).read_bytes()


def _favicon() -> str:
    # inline: one request fewer, and API Gateway would need binary media types to pass a PNG
    return "data:image/png;base64," + base64.b64encode(_asset("favicon-32x32.png")).decode()


def install(app: FastAPI) -> None:
    """GET /docs, GET /docs/{asset}, and the error examples in app.openapi()."""

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="openapi.json",
            title=f"{app.title} - API docs",
            swagger_js_url="docs/swagger-ui-bundle.js",
            swagger_css_url="docs/swagger-ui.css",
            swagger_favicon_url=_favicon(),
            # no validator badge: it would be fetched from the validator's own host
            swagger_ui_parameters={"validatorUrl": None, "displayRequestDuration": True},
        )

    @app.get("/docs/{asset}", include_in_schema=False)
    def docs_asset(asset: str) -> Response:
        media_type = ASSETS.get(asset)
        if media_type is None:
            raise HTTPException(404, f"no docs asset {asset}")
        return Response(
            _asset(asset), media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
        )

    app.openapi = _with_error_examples(app, app.openapi)  # type: ignore[method-assign]


def _with_error_examples(app: FastAPI, build: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    done: list[int] = []

    def openapi() -> dict[str, Any]:
        schema = build()
        if id(schema) not in done:
            add_error_examples(schema)
            done.append(id(schema))
        return schema

    return openapi


def _nothing_to_validate(op: dict[str, Any]) -> bool:
    """No body and only plain string path parameters: nothing a 422 could be about (a GET's body is
    not read, not even by the body guard). errors.document_errors lists a 422 for any parameter."""
    return "requestBody" not in op and all(
        p.get("in") == "path"
        and set(p.get("schema", {})) <= {"type", "title"}
        and p["schema"]["type"] == "string"
        for p in op.get("parameters", [])
    )


def add_error_examples(schema: dict[str, Any]) -> None:
    """Every error response of every operation gets an example envelope per code: the codes its
    description names (``error_docs.errors`` writes "`code`: when; ..."), else those of any route with
    that status (a body's 400, a token's 401, ...)."""
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            extra = _OUTSIDE_ROUTERS.get((method, path), {})
            for key in ("summary", "description"):
                if key in extra:
                    op[key] = extra[key]
            if method == "get" and _nothing_to_validate(op):
                op.get("responses", {}).pop("422", None)
            for status, response in op.get("responses", {}).items():
                if not status.startswith(("4", "5")):
                    continue
                if status in extra.get("errors", {}):
                    response["description"] = described(extra["errors"][status])
                named = [c for c in _NAMED.findall(response.get("description", "")) if c in CODES]
                codes = named or DEFAULT_CODES.get(status, ())
                response.setdefault("content", {}).setdefault("application/json", {})["examples"] = examples(
                    codes
                )
