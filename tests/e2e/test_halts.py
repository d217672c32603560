"""Trading halts over real HTTP and WebSocket: an admin's halt travels through the stock's
sequence; the api then answers 409 ``stock_halted``; an order the api accepted before it knew is
rejected by the matcher (ORDER_REJECTED, reservation released); a resume trades again."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import bearer, grant, place_order, settled, wait_until

# public market data may be served from the api's 1 s memo (API.md "Public caching"): ask past it
FRESH = {"Cache-Control": "no-cache"}


def _status(http: httpx.Client, symbol: str) -> str:
    return str(http.get(f"/api/stocks/{symbol}", headers=FRESH).json()["status"])


def test_halt_rejects_late_orders_then_409_then_resume_trades(
    http: httpx.Client, admin_token: str, register: Any, new_symbol: Any, ws: Any
) -> None:
    symbol = new_symbol(reference_price="20.00")
    seller, buyer = register("seller"), register("buyer")
    grant(http, admin_token, seller, symbol, 10)
    resting = settled(http, seller, place_order(http, seller, symbol, "sell", 3, "21.00").json()["id"])
    assert resting["status"] == "open"
    # the buyer's first limit buy: the api now holds the stock as trading (its short tick cache)
    first = place_order(http, buyer, symbol, "buy", 1, "19.00")
    assert settled(http, buyer, first.json()["id"])["status"] == "open"
    buyer_ws = ws(buyer["access_token"])
    assert _status(http, symbol) == "trading"

    # When an admin halts the stock and the buyer's next limit buy is accepted before the api knows
    r = http.post(f"/api/admin/stocks/{symbol}/halt", headers=bearer(admin_token), json={"reason": "news"})
    assert r.status_code == 202, r.text
    assert r.json()["symbol"] == symbol and r.json()["status"] in ("trading", "halted")
    late = place_order(http, buyer, symbol, "buy", 2, "21.00")
    assert late.status_code == 201, late.text
    late_id = late.json()["id"]

    # Then the matcher rejects it (sequenced after the halt), with its whole reservation released
    rejected = buyer_ws.wait_for(lambda m: m["type"] == "ORDER_REJECTED" and m["data"]["id"] == late_id)
    assert (rejected["data"]["reason"], rejected["data"]["reject_reason"]) == ("halted", "halted")
    assert rejected["data"]["status"] == "rejected" and rejected["data"]["reserved_cash"] == "0.00"
    mine = [
        m["type"] for m in buyer_ws.received if m["type"].startswith("ORDER_") and m["data"]["id"] == late_id
    ]
    assert mine == ["ORDER_REJECTED"]
    order = http.get(f"/api/orders/{late_id}", headers=buyer["headers"]).json()
    assert (order["status"], order["reject_reason"], order["filled_quantity"]) == ("rejected", "halted", 0)
    assert _status(http, symbol) == "halted"
    cash = http.get("/api/portfolio", headers=buyer["headers"]).json()["cash"]
    assert cash["reserved"] == "19.00"  # only the first buy's (1 x 19.00)

    # and the api refuses new orders once it reads the stock (a sell or market order always does;
    # that read also drops the cached "trading" a limit buy would use): 409 stock_halted
    for side, price in (("sell", "19.00"), ("buy", None), ("buy", "21.00")):
        r = place_order(http, buyer if side == "buy" else seller, symbol, side, 1, price)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "stock_halted"
    # resting orders stay; a cancel still works
    book = http.get(f"/api/stocks/{symbol}/orderbook", headers=FRESH).json()
    assert book["asks"] == [{"price": "21.00", "quantity": 3, "orders": 1}]
    assert http.delete(f"/api/orders/{first.json()['id']}", headers=buyer["headers"]).status_code == 202
    buyer_ws.wait_for(lambda m: m["type"] == "ORDER_CANCELLED" and m["data"]["id"] == first.json()["id"])

    # When the admin resumes, Then orders trade again
    r = http.post(f"/api/admin/stocks/{symbol}/resume", headers=bearer(admin_token))
    assert r.status_code == 202, r.text
    wait_until(lambda: _status(http, symbol) == "trading")
    again = place_order(http, buyer, symbol, "buy", 3, "21.00")
    assert again.status_code == 201, again.text
    assert settled(http, buyer, again.json()["id"])["status"] == "filled"


def test_halt_is_admin_only_and_needs_a_listed_stock(
    http: httpx.Client, admin_token: str, register: Any, new_symbol: Any
) -> None:
    symbol = new_symbol()
    trader = register("trader")
    assert http.post(f"/api/admin/stocks/{symbol}/halt", headers=trader["headers"]).status_code == 403
    r = http.post("/api/admin/stocks/NOSUCH/halt", headers=bearer(admin_token))
    assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_symbol")
    r = http.post(f"/api/admin/stocks/{symbol}/halt", headers=bearer(admin_token), json={"reason": 7})
    assert r.status_code == 422
    assert _status(http, symbol) == "trading"
