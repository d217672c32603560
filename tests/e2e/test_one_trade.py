"""The thin slice, through the real path: REST -> reservation + FIFO -> matcher -> settlement ->
stream -> notifier -> WebSocket, and REST shows both portfolios settled."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import bearer, place_order, settled


def test_one_trade_end_to_end(
    http: httpx.Client, admin_token: str, register: Any, new_symbol: Any, ws: Any
) -> None:
    # Given a listed stock, a seller granted 10 shares and a buyer with the starting cash
    symbol = new_symbol(reference_price="100.00")
    seller, buyer = register("seller"), register("buyer")
    r = http.post(
        f"/api/admin/users/{seller['user']['id']}/grant",
        headers=bearer(admin_token),
        json={"symbol": symbol, "quantity": 10},
    )
    assert r.status_code == 200, r.text
    assert r.json()["quantity"] == 10 and r.json()["average_cost"] == "100.00"
    buyer_ws = ws(buyer["access_token"])
    public_ws = ws()
    public_ws.send({"action": "subscribe", "channels": [f"stock:{symbol}"]})
    assert public_ws.wait_for(lambda m: m["type"] == "subscribed")["channels"] == [f"stock:{symbol}"]

    # When the seller rests a limit sell and the buyer crosses it with a limit buy
    r = place_order(http, seller, symbol, "sell", 4, "101.50")
    assert r.status_code == 201, r.text
    sell = r.json()
    assert sell["status"] == "pending" and sell["reserved_quantity"] == 4
    assert settled(http, seller, sell["id"])["status"] == "open"
    r = place_order(http, buyer, symbol, "buy", 3, "102.00", time_in_force="gtc")
    assert r.status_code == 201, r.text
    buy = r.json()
    assert buy["reserved_cash"] == "306.00"

    # Then the buyer's WebSocket gets ORDER_FILLED and PORTFOLIO_UPDATED, the public one TRADE_EXECUTED
    filled = buyer_ws.wait_for(lambda m: m["type"] == "ORDER_FILLED" and m["data"]["id"] == buy["id"])
    assert filled["channel"] == f"user:{buyer['user']['id']}"
    assert filled["data"]["fill"]["price"] == "101.50" and filled["data"]["fill"]["quantity"] == 3
    assert filled["data"]["fill"]["liquidity"] == "taker" and filled["data"]["status"] == "filled"
    buyer_ws.wait_for(
        lambda m: (
            m["type"] == "PORTFOLIO_UPDATED"
            and m["data"]["holding"] is not None
            and m["data"]["holding"]["symbol"] == symbol
            and m["data"]["holding"]["quantity"] == 3
        )
    )
    trade = public_ws.wait_for(lambda m: m["type"] == "TRADE_EXECUTED")
    assert trade["channel"] == f"stock:{symbol}"
    assert trade["data"]["price"] == "101.50" and trade["data"]["quantity"] == 3
    assert trade["data"]["aggressor_side"] == "buy" and trade["data"]["sequence"] == 1
    assert "user" not in str(trade["data"])

    # And REST shows the orders, the fills and both portfolios settled to the cent
    order = http.get(f"/api/orders/{buy['id']}", headers=buyer["headers"]).json()
    assert order["status"] == "filled" and order["filled_quantity"] == 3
    assert order["average_fill_price"] == "101.50" and order["reserved_cash"] == "0.00"
    assert [(f["price"], f["quantity"], f["liquidity"]) for f in order["fills"]] == [("101.50", 3, "taker")]
    sell_now = http.get(f"/api/orders/{sell['id']}", headers=seller["headers"]).json()
    assert sell_now["status"] == "partially_filled" and sell_now["remaining_quantity"] == 1
    assert sell_now["reserved_quantity"] == 1

    bp = http.get("/api/portfolio", headers=buyer["headers"]).json()
    assert bp["cash"] == {"available": "99695.50", "reserved": "0.00", "total": "99695.50"}
    assert bp["holdings"][0]["symbol"] == symbol and bp["holdings"][0]["quantity"] == 3
    assert bp["holdings"][0]["average_cost"] == "101.50"
    sp = http.get("/api/portfolio", headers=seller["headers"]).json()
    assert sp["cash"] == {"available": "100304.50", "reserved": "0.00", "total": "100304.50"}
    h = sp["holdings"][0]
    assert (h["quantity"], h["available_quantity"], h["reserved_quantity"]) == (7, 6, 1)
    assert sp["realized_pnl"] == "4.50"  # (101.50 - 100.00) x 3

    book = http.get(f"/api/stocks/{symbol}/orderbook").json()
    assert book["bids"] == [] and book["asks"] == [{"price": "101.50", "quantity": 1, "orders": 1}]
    stock = http.get(f"/api/stocks/{symbol}").json()
    assert stock["last_price"] == "101.50" and stock["volume"] == 3 and stock["change_percent"] == "1.50"


def test_nothing_was_dead_lettered(stack: Any, http: httpx.Client) -> None:
    # (runs after the trades above) no order message and no stream record ended in a failure queue
    for queue in ("OrdersDeadLetterQueue", "NotifierFailureQueue"):
        url = stack.template.refs[queue]
        attrs = stack.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "0", queue
    assert all(getattr(t, "errors", 0) == 0 for t in stack.threads)
