"""GET /api/admin/stocks/{symbol}/log over real HTTP on the local stack: what the matcher took,
in order, paged; admins only; and `python -m tools.replay` says "identical" for the stock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from local_stack.stack import LocalStack
from tests.conftest import ADMIN
from tests.e2e.conftest import bearer, grant, place_order, settled, wait_until
from tests.openapi_conformance import Conformance

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def http(stack: LocalStack) -> Any:
    """Every request and response of these tests also checked against the served OpenAPI document."""
    base = stack.api_url.removesuffix("/api")
    conformance = Conformance(httpx.get(f"{base}/openapi.json", timeout=10).json())
    with httpx.Client(base_url=base, timeout=10, event_hooks=conformance.hooks()) as client:
        yield client


def _log(http: httpx.Client, token: str, symbol: str, **params: Any) -> httpx.Response:
    return http.get(f"/api/admin/stocks/{symbol}/log", headers=bearer(token), params=params)


def test_the_log_pages_what_the_matcher_took_and_replays_identically(
    http: httpx.Client, admin_token: str, register: Any, new_symbol: Any, stack: LocalStack
) -> None:
    # Given a resting sell, a buy that crosses it, a market sell into a resting bid, then a cancel
    symbol = new_symbol(reference_price="50.00")
    seller, buyer = register("seller"), register("buyer")
    grant(http, admin_token, seller, symbol, 10)
    sell = place_order(http, seller, symbol, "sell", 5, "50.10").json()
    settled(http, seller, sell["id"])
    buy = place_order(http, buyer, symbol, "buy", 2, "50.20", time_in_force="ioc").json()
    settled(http, buyer, buy["id"])
    bid = place_order(http, buyer, symbol, "buy", 4, "49.00").json()
    settled(http, buyer, bid["id"])
    hit = place_order(http, seller, symbol, "sell", 1).json()
    settled(http, seller, hit["id"])
    assert http.delete(f"/api/orders/{bid['id']}", headers=buyer["headers"]).status_code in (200, 202)
    url = f"/api/orders/{bid['id']}"
    wait_until(lambda: http.get(url, headers=buyer["headers"]).json()["status"] == "cancelled")

    # When the admin reads the log whole, and one entry at a time
    whole = _log(http, admin_token, symbol)
    assert whole.status_code == 200, whole.text
    entries = whole.json()["entries"]
    paged, after = [], 0
    while True:
        page = _log(http, admin_token, symbol, after=after, limit=1).json()
        paged += page["entries"]
        if page["next_after"] is None:
            break
        assert page["next_after"] == page["entries"][-1]["seq"]
        after = page["next_after"]

    # Then it holds the four orders as placed and the cancel, seq 1..5, oldest first, both ways
    assert whole.json()["next_after"] is None and paged == entries
    assert [(e["seq"], e["kind"]) for e in entries] == [*((i, "new") for i in range(1, 5)), (5, "cancel")]
    assert entries[1]["order"] == {
        **{"id": buy["id"], "user_id": buyer["user"]["id"], "side": "buy", "type": "limit"},
        **{"time_in_force": "ioc", "quantity": 2, "limit_price": "50.20"},
        **{"stop_price": None, "price_bound": None},
    }
    market = entries[3]["order"]
    assert (market["type"], market["time_in_force"], market["limit_price"]) == ("market", "ioc", None)
    assert market["price_bound"] is not None
    assert entries[4]["order_id"] == bid["id"] and entries[4]["order"] is None
    # the admin reads a replay compares with: trades with their orders, the resting orders
    trades = http.get(f"/api/admin/stocks/{symbol}/trades", headers=bearer(admin_token)).json()["trades"]
    assert [(t["seq"], t["buy_order_id"], t["sell_order_id"], t["price"], t["quantity"]) for t in trades] == [
        (1, buy["id"], sell["id"], "50.10", 2),
        (2, bid["id"], hit["id"], "49.00", 1),
    ]
    book = http.get(f"/api/admin/stocks/{symbol}/book", headers=bearer(admin_token)).json()["orders"]
    assert [(o["id"], o["remaining_quantity"], o["price"]) for o in book] == [(sell["id"], 3, "50.10")]
    # and the replay command says so
    proc = subprocess.run(
        [sys.executable, "-m", "tools.replay", "--url", stack.api_url, symbol,
         "--email", ADMIN["email"], "--password", ADMIN["password"]],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{symbol}: identical" in proc.stdout


def test_the_log_is_for_admins_and_known_stocks(
    http: httpx.Client, admin_token: str, register: Any, new_symbol: Any
) -> None:
    symbol, trader = new_symbol(), register("nosy")
    for path in ("log", "trades", "book"):
        r = http.get(f"/api/admin/stocks/{symbol}/{path}", headers=trader["headers"])
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden"), path
        r = http.get(f"/api/admin/stocks/{symbol}/{path}")
        assert (r.status_code, r.json()["error"]["code"]) == (401, "unauthorized"), path
        r = http.get(f"/api/admin/stocks/NOSUCH/{path}", headers=bearer(admin_token))
        assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_symbol"), path
    for bad in ({"limit": 0}, {"limit": 1001}, {"after": -1}, {"after": "x"}):
        r = _log(http, admin_token, symbol, **bad)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "validation_error"), bad
    r = _log(http, admin_token, symbol)
    assert r.status_code == 200 and r.json() == {"entries": [], "next_after": None}
