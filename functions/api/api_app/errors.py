"""One error envelope for every error: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from exchange.domain.errors import DomainError, TemporarilyUnavailable, TooManyAttempts
from exchange.json_limits import MAX_DEPTH
from exchange.observability import logger

STATUS_OF_KIND = {
    "invalid": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "unprocessable": 422,
    "throttled": 429,
    "unavailable": 503,
}
CODE_OF_STATUS = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_attempts",
    503: "temporarily_unavailable",
}


def envelope(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "details": details}}, status_code=status, headers=headers
    )


def _clean(errors: list[Any]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        out.append(
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
        )
    return out


ENVELOPE_REF = "#/components/schemas/ErrorEnvelope"
_WHY = {
    "400": f"malformed_request: the body is not JSON (not UTF-8, or nested deeper than {MAX_DEPTH} levels)",
    "401": "unauthorized, token_expired: no, bad or expired access token",
    "413": "payload_too_large: the body is over the size limit",
    "415": "unsupported_media_type: the body is not application/json",
    "422": "validation_error: details lists each failing field as {loc, msg, type}",
    "503": "temporarily_unavailable: a concurrent write on the same item; nothing changed, see Retry-After",
}


def _error_response(status: str, description: str | None = None) -> dict[str, Any]:
    return {
        "description": description or _WHY.get(status, "error"),
        "content": {"application/json": {"schema": {"$ref": ENVELOPE_REF}}},
    }


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI document tell the truth about errors: every error response is the envelope
    (FastAPI's default 422 schema is not what we send), and every operation lists the errors the
    app raises for any route: 422 when it takes parameters or a body, 400/413/415 when it takes a
    body, 401 when it needs a bearer token."""
    for path_item in schema.get("paths", {}).values():
        for op in path_item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            for status, response in list(responses.items()):
                if status.startswith(("4", "5")):
                    description = response.get("description")
                    keep = description if description and description != "Validation Error" else None
                    responses[status] = _error_response(status, keep)
            wanted = []
            if op.get("parameters") or op.get("requestBody"):
                wanted.append("422")
            if op.get("requestBody"):
                wanted += ["400", "413", "415"]
            if op.get("security"):
                wanted.append("401")
            for status in wanted:
                responses.setdefault(status, _error_response(status))
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    return build


def install(app: FastAPI) -> None:
    app.openapi = _openapi(app)  # type: ignore[method-assign]

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        headers = (
            {"Retry-After": str(exc.retry_after)}
            if isinstance(exc, TooManyAttempts | TemporarilyUnavailable)
            else None
        )
        return envelope(STATUS_OF_KIND.get(exc.kind, 400), exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return envelope(400, "malformed_request", "the body is not valid JSON")
        return envelope(422, "validation_error", "the request is not valid", _clean(list(errors)))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = CODE_OF_STATUS.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return envelope(exc.status_code, code, message, None, dict(exc.headers or {}) or None)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error")
        return envelope(500, "internal_error", "something went wrong on our side")
