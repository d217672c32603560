"""Black-box races on the login throttle over real HTTP (issue 7): parallel wrong-password logins
must not pass the limit, however many are in flight (5 per email, 20 per IP in 15 minutes)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.security.conftest import fresh_loopback

pytestmark = pytest.mark.e2e


def _burst(client_from: Callable[..., httpx.Client], logins: list[tuple[str, str]]) -> list[int]:
    clients = [client_from(address) for _, address in logins]
    barrier = threading.Barrier(len(logins))
    statuses: list[int] = []

    def go(client: httpx.Client, email: str) -> None:
        barrier.wait()
        r = client.post("/api/auth/login", json={"email": email, "password": "not the password"})
        statuses.append(r.status_code)

    threads = [
        threading.Thread(target=go, args=(c, email)) for c, (email, _) in zip(clients, logins, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(statuses)


def test_parallel_guesses_for_one_email_stop_at_five(
    client_from: Callable[..., httpx.Client], register: Callable[..., dict[str, Any]]
) -> None:
    # Given a trader, and twelve wrong-password logins for its email sent at once from twelve addresses
    email = register("burst")["email"]
    statuses = _burst(client_from, [(email, fresh_loopback()) for _ in range(12)])
    # Then five were checked (401) and seven refused (429)
    assert statuses == [401] * 5 + [429] * 7


def test_parallel_guesses_from_one_ip_stop_at_its_limit(client_from: Callable[..., httpx.Client]) -> None:
    # Given 17 failures counted for one address
    address = fresh_loopback()
    client = client_from(address)
    for i in range(17):
        r = client.post(
            "/api/auth/login", json={"email": f"x{i}-{uuid.uuid4().hex[:6]}@example.com", "password": "p"}
        )
        assert r.status_code == 401, r.text
    # When twenty more guesses for fresh emails arrive from it at once
    statuses = _burst(client_from, [(f"y{i}-{uuid.uuid4().hex[:6]}@example.com", address) for i in range(20)])
    # Then only the three left were checked
    assert statuses == [401] * 3 + [429] * 17
