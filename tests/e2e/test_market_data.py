"""Public market data and admin money over real HTTP: deposit, trades, candles, stocks, depth limits."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import bearer, grant, place_order, settled, wait_until


def test_deposit_trades_and_candles(
    http: httpx.Client, admin_token: str, register: Any, new_symbol: Any
) -> None:
    # Given a stock, a seller with shares and a buyer with an extra deposit
    symbol = new_symbol(reference_price="20.00")
    seller, buyer = register("seller"), register("buyer")
    r = http.post(
        f"/api/admin/users/{buyer['user']['id']}/deposit",
        headers=bearer(admin_token),
        json={"amount": "250.25"},
    )
    assert r.status_code == 200 and r.json() == {
        "available": "100250.25",
        "reserved": "0.00",
        "total": "100250.25",
    }
    grant(http, admin_token, seller, symbol, 6)

    # When two trades happen (2 @ 20.10, then 3 @ 20.20)
    for qty, price in ((2, "20.10"), (3, "20.20")):
        sell = place_order(http, seller, symbol, "sell", qty, price).json()
        assert settled(http, seller, sell["id"])["status"] == "open"
        place_order(http, buyer, symbol, "buy", qty)
    trades = wait_until(
        lambda: (t := http.get(f"/api/stocks/{symbol}/trades").json()["trades"]) and len(t) == 2 and t
    )

    # Then the public data shows them, newest first, and one 1m candle with both
    assert [(t["price"], t["quantity"], t["aggressor_side"]) for t in trades] == [
        ("20.20", 3, "buy"),
        ("20.10", 2, "buy"),
    ]
    candles = http.get(f"/api/stocks/{symbol}/candles", params={"interval": "1m"}).json()["candles"]
    assert [(c["open"], c["high"], c["low"], c["close"], c["volume"]) for c in candles][-1:] in (
        [("20.10", "20.20", "20.10", "20.20", 5)],
        [("20.20", "20.20", "20.20", "20.20", 3)],
    )
    stocks = {s["symbol"]: s for s in http.get("/api/stocks").json()["stocks"]}
    assert stocks[symbol]["last_price"] == "20.20" and stocks[symbol]["volume"] == 5
    assert stocks[symbol]["open"] == "20.10" and stocks[symbol]["high"] == "20.20"
    fills = http.get("/api/portfolio/fills", headers=buyer["headers"]).json()["fills"]
    assert [(f["price"], f["quantity"], f["liquidity"]) for f in fills] == [
        ("20.20", 3, "taker"),
        ("20.10", 2, "taker"),
    ]
    portfolio = http.get("/api/portfolio", headers=buyer["headers"]).json()
    assert portfolio["cash"]["total"] == "100149.45"  # 100250.25 - 40.20 - 60.60


def test_out_of_range_queries_are_422_not_capped(http: httpx.Client, new_symbol: Any) -> None:
    symbol = new_symbol()
    for path, params in (
        (f"/api/stocks/{symbol}/orderbook", {"depth": 101}),
        (f"/api/stocks/{symbol}/trades", {"limit": 501}),
        (f"/api/stocks/{symbol}/candles", {"interval": "2m"}),
    ):
        r = http.get(path, params=params)
        assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", (path, r.text)
    r = http.get("/api/stocks/NOSUCH/orderbook")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_symbol"
    book = http.get(f"/api/stocks/{symbol}/orderbook", params={"depth": 100}).json()
    assert book == {**book, "symbol": symbol, "bids": [], "asks": []}
