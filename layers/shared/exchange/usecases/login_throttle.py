"""Login throttling: per email and per client IP, only failures count, the window from stored times.

After ``max_per_email`` failed logins for one email, or ``max_per_ip`` from one client address,
within ``window_seconds``, every attempt is refused with ``TooManyAttempts`` (429) before the
password is even checked — so the right password does not help — until enough failures have left
the window. ``retry_after`` is the seconds until the oldest counted failure leaves it. A refused
attempt is not a failure.

Exact under concurrency: an attempt CLAIMS one of the subject's ``max`` attempt slots (a
conditional write, atomic for the email and the IP together) before the password is verified, so
a burst of parallel guesses gets at most ``max`` through, whatever its parallelism. A failure keeps
its claim (the slot holds the failure's time until it leaves the window); a success, or an attempt
that ends in an error other than bad credentials, releases it ("only failures count"). An attempt
in flight holds its slot for the time of one password check, so an attempt made in parallel with
the last allowed ones may be refused even if those then succeed.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from exchange import keys
from exchange.adapters.auth_store import AuthStorePort, LoginClaim, LoginRefused
from exchange.domain.errors import TooManyAttempts, Unauthorized
from exchange.ids import now_ms
from exchange.observability import logger
from exchange.usecases.accounts import Accounts, normalise_email


def ip_subject(client_ip: str | None) -> str:
    """The throttled unit of a client address: an IPv4 address, an IPv6 /64 (one subscriber's
    usual allocation; counting single IPv6 addresses would give an attacker 2^64 fresh buckets)."""
    if not client_ip:
        return "unknown"
    try:
        addr = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip[:64]
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{addr}/64", strict=False))
    return str(addr)


@dataclass
class LoginThrottle:
    store: AuthStorePort
    max_per_email: int
    max_per_ip: int
    window_seconds: int
    clock: Callable[[], int] = field(default=now_ms)

    def _subjects(self, email: str, client_ip: str | None) -> list[tuple[str, int]]:
        return [
            (keys.login_failures("email", normalise_email(email)), self.max_per_email),
            (keys.login_failures("ip", ip_subject(client_ip)), self.max_per_ip),
        ]

    def begin(self, email: str, client_ip: str | None) -> LoginClaim:
        """Claim this attempt against both limits, or refuse it (429) without counting it."""
        now = self.clock()
        outcome = self.store.claim_login_attempt(
            self._subjects(email, client_ip),
            secrets.token_hex(8),
            now,
            self.window_seconds * 1000,
            now // 1000 + self.window_seconds + 3600,
        )
        if isinstance(outcome, LoginRefused):
            raise TooManyAttempts(
                "too many failed logins; try again later", retry_after=max(1, -(-outcome.wait_ms // 1000))
            )
        return outcome

    def login(self, accounts: Accounts, email: str, password: str, client_ip: str | None) -> dict[str, Any]:
        """Claim the attempt, then check the password; a wrong one (or an unknown email) keeps the
        claim as its counted failure."""
        claim = self.begin(email, client_ip)
        try:
            user = accounts.authenticate(email, password)
        except Unauthorized:
            logger.info("login failed", client=ip_subject(client_ip))
            raise
        except Exception:
            self.store.release_login_attempt(claim)  # not a failed guess: do not count it
            raise
        self.store.release_login_attempt(claim)
        return user
