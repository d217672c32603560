"""Request dependencies: the services and the authenticated principal (401, never 403, when absent)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api_app.services import Services
from exchange.domain.errors import Forbidden, Unauthorized
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
