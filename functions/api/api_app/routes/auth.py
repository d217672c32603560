"""/api/auth: register, login, refresh, logout, me. The rules live in the use cases; here, cookies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Response, status

from api_app.deps import ClientIpDep, CsrfDep, PrincipalDep, ServicesDep
from api_app.error_docs import AUTH, BODY, errors
from api_app.schemas import LoginIn, RegisterIn, SessionOut, UserOut
from api_app.services import Services
from exchange.security.csrf import new_csrf_token
from exchange.usecases.sessions import IssuedRefresh
from exchange.views import user_view

router = APIRouter(prefix="/api/auth", tags=["auth"])
REFRESH_COOKIE = "refresh_token"
REFRESH_PATH = "/api/auth"
CSRF_COOKIE = "csrf_token"


_SESSION = (
    "Answers a `Session` (`access_token` for `Authorization: Bearer`, valid `expires_in` seconds; "
    "`csrf_token`) and sets two cookies: `refresh_token` (HttpOnly, Path=/api/auth) and `csrf_token`. "
    "Keep the access token in memory; when it expires (401 `token_expired`), POST /api/auth/refresh."
)
_COOKIE = (
    "Cookie-authenticated: needs the `refresh_token` cookie and the header `X-CSRF-Token` equal to the "
    "`csrf_token` cookie (double submit; checked before anything else: 403 `csrf_failed`)."
)


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
    responses=errors(*BODY, "email_taken", "temporarily_unavailable"),
    summary="Register a trader account",
    description="Creates a trader with the configured starting cash (default 100000.00) and no shares, "
    "and logs it in. Email: a valid address, unique case-insensitively; password: 8 to 128 characters. "
    + _SESSION,
)
def register(body: RegisterIn, svc: ServicesDep, response: Response) -> dict[str, Any]:
    profile = svc.accounts.register(body.email, body.password, body.display_name)
    return _session(svc, profile, svc.sessions.start(profile["id"]), response)


@router.post(
    "/login",
    response_model=SessionOut,
    responses=errors(*BODY, "invalid_credentials", "too_many_attempts", "temporarily_unavailable"),
    summary="Log in with email and password",
    description="Unknown email and wrong password get the same 401 `invalid_credentials`. After 5 failed "
    "logins for one email (or 20 from one address) within 15 minutes, further attempts get 429 with "
    "`Retry-After` until the window passes, even with the right password. " + _SESSION,
)
def login(body: LoginIn, svc: ServicesDep, ip: ClientIpDep, response: Response) -> dict[str, Any]:
    profile = svc.login_throttle.login(svc.accounts, body.email, body.password, ip)
    return _session(svc, profile, svc.sessions.start(profile["id"]), response)


@router.post(
    "/refresh",
    response_model=SessionOut,
    responses=errors(*BODY, "unauthorized", "refresh_token_reused", "csrf_failed", "temporarily_unavailable"),
    summary="Get a new access token (rotates the refresh token)",
    description=_COOKIE + " Answers a new `Session` and replaces both cookies: the refresh token presented "
    "is spent. Presenting one already rotated revokes its whole family (every session of that login): "
    "401 `refresh_token_reused`. No, unknown or expired refresh token: 401 `unauthorized`.",
)
def refresh(_: CsrfDep, svc: ServicesDep, response: Response, token: RefreshCookie = None) -> dict[str, Any]:
    issued = svc.sessions.rotate(token)
    return _session(svc, svc.accounts.profile(issued.user_id), issued, response)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=errors(*BODY, "csrf_failed", "temporarily_unavailable"),
    summary="Log out (end this login's sessions)",
    description=_COOKIE + " Revokes the refresh token's family and clears both cookies: 204, also when "
    "the refresh token is missing or no longer valid. Access tokens already issued stay valid until "
    "they expire (15 minutes by default).",
)
def logout(_: CsrfDep, svc: ServicesDep, token: RefreshCookie = None) -> Response:
    svc.sessions.end(token)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_cookies(svc, response)
    return response


@router.get(
    "/me",
    response_model=UserOut,
    responses=errors(*AUTH, "not_found"),
    summary="The caller's own user",
    description="The `User` the bearer access token belongs to: id, email, display_name, role "
    "(`trader` or `admin`), created_at. 404 `not_found` only if the account no longer exists.",
)
def me(p: PrincipalDep, svc: ServicesDep) -> dict[str, Any]:
    return user_view(svc.accounts.profile(p.user_id))
