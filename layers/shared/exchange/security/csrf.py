"""CSRF double-submit: the ``csrf_token`` cookie must equal the ``X-CSRF-Token`` header."""

from __future__ import annotations

import hmac
import secrets

CSRF_BYTES = 32


def new_csrf_token() -> str:
    """URL-safe (base64url), so the cookie value is never quoted."""
    return secrets.token_urlsafe(CSRF_BYTES)


def csrf_matches(cookie: str | None, header: str | None) -> bool:
    """Both present, non-empty and equal (constant-time comparison)."""
    if not cookie or not header:
        return False
    return hmac.compare_digest(cookie.encode(), header.encode())
