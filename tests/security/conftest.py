"""The local stack for the security tests, and clients that attack it over real HTTP / WebSocket.

The stack itself is the session fixture of tests/conftest.py (shared with the e2e tier).

Failed logins are counted per client IP: every test that fails logins on purpose speaks from its
own loopback address (127.0.0.0/8 is all loopback on Linux), so it never throttles the others.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.conftest import ADMIN, bearer

PASSWORD = "correct horse battery"
_addresses = itertools.count(random.randrange(2, 200) * 256)


def fresh_loopback() -> str:
    """A loopback address no other test of this session uses (127.x.y.z, never 127.0.0.1)."""
    n = next(_addresses)
    while not 0 < n & 255 < 255:
        n = next(_addresses)
    return f"127.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


@pytest.fixture(scope="session")
def base_url(stack: LocalStack) -> str:
    return stack.api_url.removesuffix("/api")


@pytest.fixture
def client_from(base_url: str) -> Iterator[Callable[..., httpx.Client]]:
    """A new HTTP client (own cookie jar) speaking from a given or fresh loopback address."""
    opened: list[httpx.Client] = []

    def _open(address: str | None = None) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=address or fresh_loopback())
        client = httpx.Client(base_url=base_url, transport=transport, timeout=15)
        opened.append(client)
        return client

    yield _open
    for c in opened:
        c.close()


@pytest.fixture
def http(client_from: Callable[..., httpx.Client]) -> httpx.Client:
    return client_from()


@pytest.fixture
def register(client_from: Callable[..., httpx.Client]) -> Callable[..., dict[str, Any]]:
    """Registers a fresh trader; returns the Session body plus email, headers and its own client."""

    def _register(name: str = "trader") -> dict[str, Any]:
        client = client_from()
        email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
        r = client.post(
            "/api/auth/register", json={"email": email, "password": PASSWORD, "display_name": name}
        )
        assert r.status_code == 201, r.text
        body = r.json()
        return {**body, "email": email, "headers": bearer(body["access_token"]), "client": client}

    return _register


@pytest.fixture
def admin_token(client_from: Callable[..., httpx.Client]) -> str:
    r = client_from().post("/api/auth/login", json=ADMIN)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture(scope="session")
def jwt_secret(stack: LocalStack) -> str:
    """The stack's signing key, to forge tokens that differ from a real one in exactly one respect."""
    return str(stack.functions["ApiFunction"].module.app.state.services.settings.JWT_SECRET)
