"""Refresh-token sessions: one family per login, rotation on every refresh, reuse revokes the family.

The refresh token is an opaque random string (256 bits, base64url) handed to the client once; the
table keeps only its SHA-256. Rotating is one conditional transaction (old token ``active`` ->
``rotated``, family not revoked, new token in), so of two concurrent refreshes with one token exactly
one wins; the other sees a token that is no longer active and is treated as the reuse it looks like:
the whole family is revoked (the stolen-token case: whoever holds a rotated token, thief or victim,
ends the session for both).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from exchange.adapters.auth_store import AuthStorePort, Rotation
from exchange.domain.errors import Unauthorized
from exchange.ids import new_id, now_ms
from exchange.observability import logger

TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,128}$")
TTL_SLACK_SECONDS = 86_400  # the TTL attribute outlives validity by a day: tidying, never deciding


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedRefresh:
    token: str  # the raw token: goes into the cookie, never into the table or a log
    user_id: str
    family_id: str
    max_age: int  # seconds


@dataclass
class Sessions:
    store: AuthStorePort
    ttl_seconds: int
    clock: Callable[[], int] = field(default=now_ms)

    def start(self, user_id: str) -> IssuedRefresh:
        """A new family (a login or a registration) with its first token."""
        now = self.clock()
        family_id = new_id()
        token, item = self._new_token(user_id, family_id, now)
        self.store.create_family(
            {"family_id": family_id, "user_id": user_id, "created_at": now, "expires_at": item["expires_at"]},
            item,
        )
        return IssuedRefresh(token, user_id, family_id, self.ttl_seconds)

    def rotate(self, presented: str | None) -> IssuedRefresh:
        """Exchange a valid refresh token for a new one of the same family."""
        current = self._lookup(presented)
        user_id, family_id = current["user_id"], current["family_id"]
        if current["status"] != "active":
            self._reused(family_id, user_id)
        now = self.clock()
        token, item = self._new_token(user_id, family_id, now)
        outcome = self.store.rotate(current["token_hash"], item, item["expires_at"], now)
        if outcome is Rotation.TOKEN_NOT_ACTIVE:
            self._reused(family_id, user_id)
        if outcome is Rotation.FAMILY_REVOKED:
            raise Unauthorized("the session has ended; log in again")
        return IssuedRefresh(token, user_id, family_id, self.ttl_seconds)

    def end(self, presented: str | None) -> None:
        """Logout: revoke the family of the presented token (active or not); no token, nothing to do."""
        try:
            current = self._lookup(presented)
        except Unauthorized:
            return
        self.store.revoke_family(current["family_id"], "logout", self.clock())
        logger.info("session ended", user_id=current["user_id"], family_id=current["family_id"])

    # ------------------------------------------------------------------ internals
    def _lookup(self, presented: str | None) -> dict[str, Any]:
        if not presented:
            raise Unauthorized("a refresh token cookie is required")
        if not _TOKEN_SHAPE.match(presented):
            raise Unauthorized("invalid refresh token")
        item = self.store.token(hash_token(presented))
        if item is None or int(item["valid_until"]) <= self.clock():
            raise Unauthorized("invalid or expired refresh token")
        return item

    def _new_token(self, user_id: str, family_id: str, now: int) -> tuple[str, dict[str, Any]]:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        valid_until = now + self.ttl_seconds * 1000
        return token, {
            "token_hash": hash_token(token),
            "family_id": family_id,
            "user_id": user_id,
            "status": "active",
            "created_at": now,
            "valid_until": valid_until,
            "expires_at": valid_until // 1000 + TTL_SLACK_SECONDS,
        }

    def _reused(self, family_id: str, user_id: str) -> NoReturn:
        self.store.revoke_family(family_id, "reuse", self.clock())
        logger.warning("refresh token reuse: family revoked", user_id=user_id, family_id=family_id)
        raise Unauthorized(
            "this refresh token was already used; every session of this login is revoked",
            code="refresh_token_reused",
        )
