"""/api/auth: register, login, me."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Response, status

from api_app.deps import PrincipalDep, ServicesDep
from api_app.schemas import ErrorEnvelope, LoginIn, RegisterIn, SessionOut, UserOut
from api_app.services import Services
from exchange.views import user_view

router = APIRouter(prefix="/api/auth", tags=["auth"])
ERRORS: dict[int | str, dict[str, Any]] = {
    c: {"model": ErrorEnvelope} for c in (400, 401, 403, 409, 422, 429)
}


def _session(svc: Services, profile: dict[str, Any], response: Response) -> dict[str, Any]:
    csrf = secrets.token_urlsafe(32)
    response.set_cookie(
        "csrf_token", csrf, httponly=False, secure=svc.settings.COOKIE_SECURE, samesite="strict", path="/"
    )
    return {
        "user": user_view(profile),
        "access_token": svc.tokens.issue(profile["id"], profile["role"]),
        "token_type": "bearer",
        "expires_in": svc.tokens.ttl_seconds,
        "csrf_token": csrf,
    }


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=SessionOut, responses=ERRORS)
def register(body: RegisterIn, svc: ServicesDep, response: Response) -> dict[str, Any]:
    profile = svc.accounts.register(body.email, body.password, body.display_name)
    return _session(svc, profile, response)


@router.post("/login", response_model=SessionOut, responses=ERRORS)
def login(body: LoginIn, svc: ServicesDep, response: Response) -> dict[str, Any]:
    profile = svc.accounts.authenticate(body.email, body.password)
    return _session(svc, profile, response)


@router.get("/me", response_model=UserOut, responses=ERRORS)
def me(p: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return user_view(svc.accounts.profile(p.user_id))
