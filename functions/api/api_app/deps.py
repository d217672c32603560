"""Request dependencies: the services, the authenticated principal (401, never 403, when absent),
the CSRF double-submit check and the client address."""

from __future__ import annotations

from typing import Annotated

from fastapi import Cookie, Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api_app.services import Services
from exchange.domain.errors import Forbidden, Unauthorized
from exchange.security.csrf import csrf_matches
from exchange.security.tokens import Principal

_bearer = HTTPBearer(auto_error=False, description="Access token from /api/auth/login")


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(services)]


def principal(
    svc: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("a bearer access token is required")
    return svc.tokens.verify(credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(principal)]


def admin(p: PrincipalDep) -> Principal:
    if p.role != "admin":
        raise Forbidden("admins only")
    return p


AdminDep = Annotated[Principal, Depends(admin)]


def csrf(
    csrf_cookie: Annotated[
        str | None, Cookie(alias="csrf_token", description="Set by login, register and refresh")
    ] = None,
    csrf_header: Annotated[
        str | None, Header(alias="X-CSRF-Token", description="The value of the csrf_token cookie")
    ] = None,
) -> None:
    """Double-submit: cookie == header, checked before anything else of a cookie-authenticated request."""
    if not csrf_matches(csrf_cookie, csrf_header):
        raise Forbidden("the X-CSRF-Token header must echo the csrf_token cookie", code="csrf_failed")


CsrfDep = Annotated[None, Depends(csrf)]


def client_ip(request: Request) -> str | None:
    """The address the login throttle counts against.

    Behind API Gateway (Mangum puts the event in ``scope["aws.event"]``) it is the gateway's own view
    of the caller, ``requestContext.identity.sourceIp`` (REST) or ``requestContext.http.sourceIp``
    (HTTP API); locally, the TCP peer. ``X-Forwarded-For`` is never read: any client can write it,
    and trusting it would let an attacker pick a fresh throttle bucket for every guess.
    """
    event = request.scope.get("aws.event")
    if isinstance(event, dict):
        ctx = event.get("requestContext") or {}
        ip = (ctx.get("identity") or {}).get("sourceIp") or (ctx.get("http") or {}).get("sourceIp")
        if isinstance(ip, str) and ip:
            return ip
    return request.client.host if request.client else None


ClientIpDep = Annotated[str | None, Depends(client_ip)]
