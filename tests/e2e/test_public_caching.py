"""Public caching over real HTTP (API.md "Public caching"): ETag and Cache-Control on public market
data, 304 on If-None-Match, a new ETag once a trade changed the data, no-store on authenticated
answers, no cache headers on errors."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.e2e.conftest import grant, place_order, settled, wait_until


def test_public_market_data_has_an_etag_and_answers_304(http: httpx.Client, new_symbol: Any) -> None:
    # Given a stock
    symbol = new_symbol()
    for path in ("/api/stocks", f"/api/stocks/{symbol}", f"/api/stocks/{symbol}/orderbook",
                 f"/api/stocks/{symbol}/trades", f"/api/stocks/{symbol}/candles"):  # fmt: skip
        # When its public data is read
        r = http.get(path)
        # Then it is cacheable for 1 s with a strong ETag
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "public, max-age=1", path
        etag = r.headers["etag"]
        assert etag.startswith('"') and etag.endswith('"'), path
        # And a reader that has it gets 304 with no body (also in a list, weakly, or as *)
        for header in (etag, f'"nope", W/{etag}', "*"):
            again = http.get(path, headers={"If-None-Match": header})
            assert again.status_code == 304, (path, header)
            assert again.content == b""
            assert again.headers["etag"] == etag
        assert http.get(path, headers={"If-None-Match": '"nope"'}).status_code == 200


def test_a_trade_gives_the_book_trades_and_stock_new_etags(
    http: httpx.Client, admin_token: str, register: Any, new_symbol: Any
) -> None:
    # Given a stock whose book, trades and stock answers a reader holds
    symbol = new_symbol()
    seller, buyer = register("seller"), register("buyer")
    grant(http, admin_token, seller, symbol, 5)
    paths = [f"/api/stocks/{symbol}", f"/api/stocks/{symbol}/orderbook", f"/api/stocks/{symbol}/trades"]
    sell = place_order(http, seller, symbol, "sell", 5, "10.00").json()
    assert settled(http, seller, sell["id"])["status"] == "open"
    time.sleep(1.0)  # past max-age: the resting sell is in every answer below
    held = {p: http.get(p).headers["etag"] for p in paths}

    # When a trade happens
    buy = place_order(http, buyer, symbol, "buy", 5, "10.00").json()
    assert settled(http, buyer, buy["id"])["status"] == "filled"

    # Then within max-age each answer is new: 200 with another ETag to the reader's If-None-Match
    started = time.monotonic()
    def changed(path: str) -> httpx.Response | None:
        answer = http.get(path, headers={"If-None-Match": held[path]})
        return answer if answer.status_code == 200 else None

    for path in paths:
        r = wait_until(lambda p=path: changed(p), timeout=5)  # type: ignore[misc]
        assert r.headers["etag"] != held[path]
    assert time.monotonic() - started < 2.5  # 1 s of max-age, and the polling's slack
    assert http.get(paths[2]).json()["trades"][0]["price"] == "10.00"


def test_authenticated_answers_are_no_store(http: httpx.Client, register: Any, new_symbol: Any) -> None:
    # Given a signed-in trader (registering is itself an authenticated answer: a session)
    email = f"nostore-{time.time_ns()}@example.com"
    r = http.post("/api/auth/register", json={"email": email, "password": "correct horse battery"})
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    trader: dict[str, Any] = {"headers": {"Authorization": f"Bearer {r.json()['access_token']}"}}
    login = http.post("/api/auth/login", json={"email": email, "password": "correct horse battery"})
    assert login.headers["cache-control"] == "no-store"
    order = place_order(http, trader, new_symbol(), "buy", 1, "1.00")
    assert order.status_code == 201 and order.headers["cache-control"] == "no-store"
    # When it reads its own data, Then nothing may keep it
    for path in ("/api/auth/me", "/api/portfolio", "/api/orders", f"/api/orders/{order.json()['id']}"):
        r = http.get(path, headers=trader["headers"])
        assert r.status_code == 200, path
        assert r.headers["cache-control"] == "no-store", path
        assert "etag" not in r.headers, path


def test_errors_carry_no_cache_headers(http: httpx.Client, new_symbol: Any) -> None:
    symbol = new_symbol()
    for path, status in (
        ("/api/stocks/NOSUCHQ", 404),
        (f"/api/stocks/{symbol}/orderbook?depth=101", 422),
        (f"/api/stocks/{symbol}/candles?interval=2m", 422),
        ("/api/portfolio", 401),
    ):
        r = http.get(path, headers={"If-None-Match": "*"})
        assert r.status_code == status, path
        assert "cache-control" not in r.headers, path
        assert "etag" not in r.headers, path
        assert r.json()["error"]["code"]
