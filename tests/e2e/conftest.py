"""The local stack, started once for the test session; real HTTP and WebSocket clients against it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from local_stack.stack import LocalStack
from tests.conftest import ADMIN, bearer


@pytest.fixture
def http(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url.removesuffix("/api"), timeout=10) as client:
        yield client


@pytest.fixture
def admin_token(http: httpx.Client) -> str:
    r = http.post("/api/auth/login", json=ADMIN)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


@pytest.fixture
def register(http: httpx.Client) -> Callable[..., dict[str, Any]]:
    def _register(name: str = "trader") -> dict[str, Any]:
        email = f"{name}-{uuid.uuid4().hex[:10]}@example.com"
        r = http.post(
            "/api/auth/register",
            json={"email": email, "password": "correct horse battery", "display_name": name},
        )
        assert r.status_code == 201, r.text
        return {**r.json(), "email": email, "headers": bearer(r.json()["access_token"])}

    return _register


@pytest.fixture
def new_symbol(http: httpx.Client, admin_token: str) -> Callable[..., str]:
    def _list(reference_price: str = "100.00", tick_size: str = "0.01") -> str:
        symbol = "".join(chr(ord("A") + int(c, 16) % 26) for c in uuid.uuid4().hex[:6])
        r = http.post(
            "/api/admin/stocks",
            headers=bearer(admin_token),
            json={
                "symbol": symbol,
                "name": f"Test {symbol}",
                "reference_price": reference_price,
                "tick_size": tick_size,
            },
        )
        assert r.status_code == 201, r.text
        return symbol

    return _list


class WsClient:
    """A real WebSocket client that collects what the server pushes."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.received: list[dict[str, Any]] = []

    def send(self, body: dict[str, Any]) -> None:
        self.conn.send(json.dumps(body))

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 15) -> dict[str, Any]:
        for msg in self.received:
            if pred(msg):
                return msg
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                raw = self.conn.recv(timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            msg = json.loads(raw)
            self.received.append(msg)
            if pred(msg):
                return msg
        raise AssertionError(f"nothing matched within {timeout}s; received: {self.received}")

    def drain(self, seconds: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self.received.append(json.loads(self.conn.recv(timeout=deadline - time.monotonic())))
            except TimeoutError:
                return


@pytest.fixture
def ws(stack: LocalStack) -> Iterator[Callable[..., WsClient]]:
    opened: list[ClientConnection] = []

    def _open(token: str | None = None) -> WsClient:
        url = stack.ws_url + (f"?token={token}" if token else "")
        conn = connect(url, open_timeout=10)
        opened.append(conn)
        return WsClient(conn)

    yield _open
    for conn in opened:
        conn.close()


def wait_until(fn: Callable[[], Any], timeout: float = 15, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last: {last!r})")


def place_order(
    http: httpx.Client,
    user: dict[str, Any],
    symbol: str,
    side: str,
    quantity: int,
    limit_price: str | None = None,
    **extra: Any,
) -> httpx.Response:
    """POST /api/orders: a limit order when a price is given, else a market order."""
    body = {
        "symbol": symbol,
        "side": side,
        "type": "limit" if limit_price else "market",
        "quantity": quantity,
        **({"limit_price": limit_price} if limit_price else {}),
        **extra,
    }
    return http.post("/api/orders", headers=user["headers"], json=body)


def settled(http: httpx.Client, user: dict[str, Any], order_id: str) -> dict[str, Any]:
    """The order once the matcher has taken it (no longer pending)."""
    return wait_until(
        lambda: (
            (o := http.get(f"/api/orders/{order_id}", headers=user["headers"]).json())["status"] != "pending"
            and o
        )
    )


def grant(http: httpx.Client, admin_token: str, user: dict[str, Any], symbol: str, quantity: int) -> None:
    r = http.post(
        f"/api/admin/users/{user['user']['id']}/grant",
        headers=bearer(admin_token),
        json={"symbol": symbol, "quantity": quantity},
    )
    assert r.status_code == 200, r.text


@pytest.fixture(scope="session", autouse=True)
def replay_every_stock_at_the_end(request: pytest.FixtureRequest) -> Iterator[None]:
    """After the session: `python -m tools.replay --all` against the session's stack, once it has
    traded whatever the suite traded; every stock's replay must be identical (issue 10)."""
    if not any("stack" in item.fixturenames for item in request.session.items):
        yield  # no test of this session used the shared stack
        return
    stack: LocalStack = request.getfixturevalue("stack")  # set up first: torn down after this
    yield
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "tools.replay", "--url", stack.api_url, "--all", "--settle", "20"),
            *("--email", ADMIN["email"], "--password", ADMIN["password"]),
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = proc.stdout.strip().splitlines()
    differ = [line for line in lines[:-1] if not line.endswith(": identical")]
    assert proc.returncode == 0 and not differ and lines, proc.stdout[-4000:] + proc.stderr[-4000:]
