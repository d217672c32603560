"""Access tokens: HS256 JWTs with sub, role, iat, exp, iss, aud, jti; the algorithm is pinned on decode."""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from exchange.domain.errors import Unauthorized
from exchange.ids import new_id

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Principal:
    user_id: str
    role: str
    token_id: str


class TokenService:
    def __init__(self, secret: str, issuer: str, audience: str, ttl_seconds: int) -> None:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        self._secret = secret
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str, role: str) -> str:
        now = int(time.time())
        claims = {
            "sub": user_id,
            "role": role,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "iss": self.issuer,
            "aud": self.audience,
            "jti": new_id(),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["sub", "role", "iat", "exp", "iss", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the access token has expired", code="token_expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("invalid access token") from exc
        role = claims.get("role")
        if role not in ("trader", "admin") or not isinstance(claims.get("sub"), str):
            raise Unauthorized("invalid access token")
        return Principal(user_id=claims["sub"], role=role, token_id=str(claims["jti"]))
