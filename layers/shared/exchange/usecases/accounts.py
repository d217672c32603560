"""Register, log in, who am I."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.adapters.exchange_store import ExchangeStore
from exchange.domain.errors import Conflict, NotFound, Unauthorized
from exchange.ids import new_id, now_ms
from exchange.security.passwords import hash_password, verify_password

_NO_USER = "-"


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass
class Accounts:
    store: ExchangeStore
    starting_cash: int

    def register(
        self,
        email: str,
        password: str,
        display_name: str | None,
        role: str = "trader",
        cash: int | None = None,
    ) -> dict[str, Any]:
        email = normalise_email(email)
        profile = {
            "id": new_id(),
            "email": email,
            "display_name": display_name or email.split("@", 1)[0],
            "role": role,
            "password_hash": hash_password(password),
            "created_at": now_ms(),
        }
        self.store.create_user(profile, self.starting_cash if cash is None else cash)
        return profile

    def authenticate(self, email: str, password: str) -> dict[str, Any]:
        """The same error (and about the same time) for an unknown email and a wrong password."""
        user_id = self.store.user_id_by_email(normalise_email(email))
        # the same two reads either way (an id no user has: nothing found), then one argon2 verify
        profile = self.store.profile(user_id or _NO_USER)
        if not verify_password(profile["password_hash"] if profile else None, password) or profile is None:
            raise Unauthorized("wrong email or password", code="invalid_credentials")
        return profile

    def profile(self, user_id: str) -> dict[str, Any]:
        profile = self.store.profile(user_id)
        if profile is None:
            raise NotFound("no such user")
        return profile

    def ensure_admin(self, email: str, password: str) -> dict[str, Any]:
        """The first admin, from configuration: created once, idempotent on every cold start."""
        email = normalise_email(email)
        user_id = self.store.user_id_by_email(email)
        if user_id:
            profile = self.profile(user_id)
            if profile["role"] != "admin":
                self.store.set_role(user_id, "admin")
                profile["role"] = "admin"
            return profile
        try:
            return self.register(email, password, "admin", role="admin", cash=0)
        except Conflict:
            return self.profile(self.store.user_id_by_email(email) or "")
