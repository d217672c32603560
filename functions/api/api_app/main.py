"""The FastAPI app: routers, the error envelope, the body size guard, health."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from api_app import errors
from api_app.routes import admin, auth, market, orders, portfolio
from api_app.schemas import ErrorEnvelope, HealthOut
from api_app.services import Services
from exchange.settings import ApiSettings


def create_app(services: Services | None = None, ready: Callable[[], bool] | None = None) -> FastAPI:
    app = FastAPI(
        title="Stock exchange simulator",
        version="1.0.0",
        description="The public contract (v1): auth, orders, market data, portfolio, admin.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = services or Services(ApiSettings())  # type: ignore[call-arg]
    app.state.ready = ready or (lambda: True)
    max_body = app.state.services.settings.MAX_BODY_BYTES
    errors.install(app)

    @app.middleware("http")
    async def body_limit(request: Request, call_next: Callable) -> Response:  # type: ignore[type-arg]
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_body):
            return errors.envelope(413, "payload_too_large", f"the body is larger than {max_body} bytes")
        if request.method in ("POST", "PUT", "PATCH") and length is None:
            body = await request.body()
            if len(body) > max_body:
                return errors.envelope(413, "payload_too_large", f"the body is larger than {max_body} bytes")
        return await call_next(request)  # type: ignore[no-any-return]

    @app.get(
        "/api/health", response_model=HealthOut, tags=["health"], responses={503: {"model": ErrorEnvelope}}
    )
    def health() -> Response:
        if not app.state.ready():
            return errors.envelope(503, "not_ready", "the stack is starting")
        return JSONResponse({"status": "ok"})

    for router in (auth.router, orders.router, market.router, portfolio.router, admin.router):
        app.include_router(router)
    return app
