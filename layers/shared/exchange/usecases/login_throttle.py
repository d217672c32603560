"""Login throttling: per email and per client IP, only failures count, the window from stored times.

After ``max_per_email`` failed logins for one email, or ``max_per_ip`` from one client address,
within ``window_seconds``, every attempt is refused with ``TooManyAttempts`` (429) before the
password is even checked — so the right password does not help — until enough failures have left
the window. ``retry_after`` is the seconds until the oldest *counted* failure leaves it (the query
counts the newest ``max`` failures, so the oldest of those is the one whose departure reopens the
door). A refused attempt is not a failure. Failures are items with the failure time in the sort key;
the TTL attribute only tidies up (moto never expires items, AWS only within about 48 hours).

Under concurrency the count may overshoot the limit by the number of attempts in flight (check,
then record): the limit is a brake on guessing, not an exact budget.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from exchange import keys
from exchange.adapters.auth_store import AuthStorePort
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

    def check(self, email: str, client_ip: str | None) -> None:
        now = self.clock()
        window_ms = self.window_seconds * 1000
        wait_ms = 0
        for subject, limit in self._subjects(email, client_ip):
            # a failure counts while now - window < ts, i.e. ts >= now - window + 1
            recent = self.store.recent_login_failures(subject, now - window_ms + 1, limit)
            if len(recent) >= limit:
                wait_ms = max(wait_ms, recent[-1] + window_ms - now)
        if wait_ms > 0:
            raise TooManyAttempts(
                "too many failed logins; try again later", retry_after=max(1, -(-wait_ms // 1000))
            )

    def record_failure(self, email: str, client_ip: str | None) -> None:
        now = self.clock()
        self.store.record_login_failure(
            [s for s, _ in self._subjects(email, client_ip)],
            keys.login_failure_sk(now, secrets.token_hex(4)),
            now // 1000 + self.window_seconds + 3600,
        )

    def login(self, accounts: Accounts, email: str, password: str, client_ip: str | None) -> dict[str, Any]:
        """Throttle check, then the password; a wrong one (or an unknown email) is recorded."""
        self.check(email, client_ip)
        try:
            return accounts.authenticate(email, password)
        except Unauthorized:
            self.record_failure(email, client_ip)
            logger.info("login failed", client=ip_subject(client_ip))
            raise
