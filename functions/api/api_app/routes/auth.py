"""/api/auth: register, login, refresh, logout, me. The rules live in the use cases; here, cookies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Response, status

from api_app.deps import ClientIpDep, CsrfDep, PrincipalDep, ServicesDep
from api_app.schemas import ErrorEnvelope, LoginIn, RegisterIn, SessionOut, UserOut
from api_app.services import Services
from exchange.security.csrf import new_csrf_token
from exchange.usecases.sessions import IssuedRefresh
from exchange.views import user_view

router = APIRouter(prefix="/api/auth", tags=["auth"])
REFRESH_COOKIE = "refresh_token"
REFRESH_PATH = "/api/auth"
CSRF_COOKIE = "csrf_token"


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorEnvelope} for c in codes}


RefreshCookie = Annotated[
    str | None, Cookie(alias=REFRESH_COOKIE, description="HttpOnly; set by login, register and refresh")
]


def _session(
    svc: Services, profile: dict[str, Any], refresh: IssuedRefresh, response: Response
) -> dict[str, Any]:
    secure = svc.settings.COOKIE_SECURE
    csrf = new_csrf_token()
    response.set_cookie(
        REFRESH_COOKIE,
        refresh.token,
        max_age=refresh.max_age,
        path=REFRESH_PATH,
        httponly=True,
        secure=secure,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=refresh.max_age, path="/", httponly=False, secure=secure, samesite="strict"
    )
    response.headers["Cache-Control"] = "no-store"
    return {
        "user": user_view(profile),
        "access_token": svc.tokens.issue(profile["id"], profile["role"]),
        "token_type": "bearer",
        "expires_in": svc.tokens.ttl_seconds,
        "csrf_token": csrf,
    }


def _clear_cookies(svc: Services, response: Response) -> None:
    secure = svc.settings.COOKIE_SECURE
    response.delete_cookie(REFRESH_COOKIE, path=REFRESH_PATH, httponly=True, secure=secure, samesite="strict")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, samesite="strict")


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionOut,
    responses=_errors(400, 409, 422),
)
def register(body: RegisterIn, svc: ServicesDep, response: Response) -> dict[str, Any]:
    profile = svc.accounts.register(body.email, body.password, body.display_name)
    return _session(svc, profile, svc.sessions.start(profile["id"]), response)


@router.post("/login", response_model=SessionOut, responses=_errors(400, 401, 422, 429))
def login(body: LoginIn, svc: ServicesDep, ip: ClientIpDep, response: Response) -> dict[str, Any]:
    profile = svc.login_throttle.login(svc.accounts, body.email, body.password, ip)
    return _session(svc, profile, svc.sessions.start(profile["id"]), response)


@router.post(
    "/refresh",
    response_model=SessionOut,
    responses=_errors(401, 403, 422),
    description="Rotates the refresh token. Needs the refresh_token cookie and X-CSRF-Token = csrf_token "
    "cookie (403 csrf_failed otherwise, checked first). A token already rotated revokes its whole "
    "family: 401 refresh_token_reused.",
)
def refresh(_: CsrfDep, svc: ServicesDep, response: Response, token: RefreshCookie = None) -> dict[str, Any]:
    issued = svc.sessions.rotate(token)
    return _session(svc, svc.accounts.profile(issued.user_id), issued, response)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=_errors(403, 422),
    description="Revokes the refresh token's family and clears both cookies (204, also when the "
    "refresh token is missing or no longer valid). Needs X-CSRF-Token = csrf_token cookie.",
)
def logout(_: CsrfDep, svc: ServicesDep, token: RefreshCookie = None) -> Response:
    svc.sessions.end(token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_cookies(svc, response)
    return response


@router.get("/me", response_model=UserOut, responses=_errors(401, 404))
def me(p: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return user_view(svc.accounts.profile(p.user_id))
