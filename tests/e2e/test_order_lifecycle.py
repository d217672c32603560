"""Order lifecycles over real HTTP and WebSocket: the events a user sees, in order, and the REST
state behind them."""

from __future__ import annotations

from typing import Any

import httpx

from local_stack import faults
from local_stack.stack import LocalStack
from tests.e2e.conftest import grant, place_order, settled, wait_until


def test_ioc_partial_fill_events_arrive_in_order(
    http: httpx.Client, admin_token: str, register: Any, new_symbol: Any, ws: Any
) -> None:
    # Given two resting asks (2 @ 50.00, 3 @ 50.10) and a buyer listening on its own channel
    symbol = new_symbol(reference_price="50.00")
    seller, buyer = register("seller"), register("buyer")
    grant(http, admin_token, seller, symbol, 5)
    market_ws = ws()
    market_ws.send({"action": "subscribe", "channels": [f"stock:{symbol}"]})
    market_ws.wait_for(lambda m: m["type"] == "subscribed")
    for qty, price in ((2, "50.00"), (3, "50.10")):
        r = place_order(http, seller, symbol, "sell", qty, price)
        settled(http, seller, r.json()["id"])
    buyer_ws = ws(buyer["access_token"])

    # When the buyer sends an IOC buy for 10 up to 50.05
    r = place_order(http, buyer, symbol, "buy", 10, "50.05", time_in_force="ioc")
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]

    # Then the buyer sees: its reservation, ACCEPTED, one FILLED, then CANCELLED (unfilled_ioc)
    buyer_ws.wait_for(lambda m: m["type"] == "ORDER_CANCELLED" and m["data"]["id"] == order_id)
    mine = [m for m in buyer_ws.received if m["type"].startswith("ORDER_") and m["data"]["id"] == order_id]
    assert [m["type"] for m in mine] == ["ORDER_ACCEPTED", "ORDER_FILLED", "ORDER_CANCELLED"]
    accepted, filled, cancelled = (m["data"] for m in mine)
    assert (accepted["status"], accepted["filled_quantity"]) == ("open", 0)
    assert (filled["status"], filled["filled_quantity"], filled["fill"]["price"]) == (
        "partially_filled",
        2,
        "50.00",
    )
    assert (cancelled["status"], cancelled["cancel_reason"], cancelled["filled_quantity"]) == (
        "cancelled",
        "unfilled_ioc",
        2,
    )
    assert cancelled["reserved_cash"] == "0.00"
    reservation = next(m for m in buyer_ws.received if m["type"] == "PORTFOLIO_UPDATED")
    assert reservation["data"]["cash"]["reserved"] == "500.50"  # 10 x 50.05, before the matcher ran
    assert all(m["timestamp"].endswith("Z") for m in buyer_ws.received)

    # And the public channel saw the trade and the book change, in sequence order, naming nobody
    market_ws.wait_for(lambda m: m["type"] == "TRADE_EXECUTED")
    book = market_ws.wait_for(
        lambda m: (
            m["type"] == "ORDER_BOOK_UPDATED"
            and m["data"]["asks"] == [{"price": "50.10", "quantity": 3, "orders": 1}]
        )
    )
    assert book["data"]["bids"] == []
    sequences = [m["data"]["sequence"] for m in market_ws.received if m["type"] == "ORDER_BOOK_UPDATED"]
    assert sequences == sorted(sequences) and len(set(sequences)) == len(sequences)
    assert buyer["user"]["id"] not in str(market_ws.received)
    portfolio = http.get("/api/portfolio", headers=buyer["headers"]).json()
    assert portfolio["cash"] == {"available": "99900.00", "reserved": "0.00", "total": "99900.00"}


def test_cancel_is_idempotent_and_final_orders_refuse_it(
    http: httpx.Client, stack: LocalStack, register: Any, new_symbol: Any, ws: Any
) -> None:
    # Given a resting buy
    symbol = new_symbol(reference_price="10.00")
    buyer = register("buyer")
    buyer_ws = ws(buyer["access_token"])
    r = place_order(http, buyer, symbol, "buy", 7, "9.50", client_order_id="my-order-1")
    order = settled(http, buyer, r.json()["id"])
    assert order["status"] == "open" and order["reserved_cash"] == "66.50"

    # When it is cancelled twice while it is still open (the matcher's first go at the cancel dies
    # before its commit, so the second DELETE cannot race the cancel's settlement: the message is
    # back after the visibility timeout, 3 s here)
    with stack.faults.armed(faults.MATCHER_CRASH_BEFORE_COMMIT, functions={faults.MATCHER}):
        first = http.delete(f"/api/orders/{order['id']}", headers=buyer["headers"])
        second = http.delete(f"/api/orders/{order['id']}", headers=buyer["headers"])

    # Then both are 202 with cancel_requested, the user gets ORDER_CANCELLED (user) and the money back
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["cancel_requested"] is True
    event = buyer_ws.wait_for(lambda m: m["type"] == "ORDER_CANCELLED" and m["data"]["id"] == order["id"])
    assert event["data"]["cancel_reason"] == "user" and event["data"]["cancel_requested"] is True
    final = http.get(f"/api/orders/{order['id']}", headers=buyer["headers"]).json()
    assert (final["status"], final["reserved_cash"]) == ("cancelled", "0.00")
    assert http.get("/api/portfolio", headers=buyer["headers"]).json()["cash"]["reserved"] == "0.00"
    third = http.delete(f"/api/orders/{order['id']}", headers=buyer["headers"])
    assert third.status_code == 409 and third.json()["error"]["code"] == "order_not_cancellable"

    # And the same client_order_id returns the same order (200), another body with it is 409
    again = place_order(http, buyer, symbol, "buy", 7, "9.50", client_order_id="my-order-1")
    assert again.status_code == 200 and again.json()["id"] == order["id"]
    other = place_order(http, buyer, symbol, "buy", 8, "9.50", client_order_id="my-order-1")
    assert other.status_code == 409 and other.json()["error"]["code"] == "duplicate_client_order_id"


def test_order_list_filters_and_pages(http: httpx.Client, register: Any, new_symbol: Any) -> None:
    symbol = new_symbol(reference_price="10.00")
    user = register("lister")
    ids = []
    for price in ("9.00", "9.01", "9.02"):
        r = place_order(http, user, symbol, "buy", 1, price)
        ids.append(r.json()["id"])
    for order_id in ids:
        settled(http, user, order_id)
    http.delete(f"/api/orders/{ids[0]}", headers=user["headers"])
    wait_until(
        lambda: http.get(f"/api/orders/{ids[0]}", headers=user["headers"]).json()["status"] == "cancelled"
    )

    page1 = http.get("/api/orders", headers=user["headers"], params={"limit": 2}).json()
    assert [o["id"] for o in page1["orders"]] == [ids[2], ids[1]] and page1["next_cursor"]
    page2 = http.get(
        "/api/orders", headers=user["headers"], params={"limit": 2, "cursor": page1["next_cursor"]}
    )
    assert [o["id"] for o in page2.json()["orders"]] == [ids[0]]
    open_ = http.get("/api/orders", headers=user["headers"], params={"status": "open"}).json()
    assert {o["id"] for o in open_["orders"]} == {ids[1], ids[2]}
    closed = http.get("/api/orders", headers=user["headers"], params={"status": "closed"}).json()
    assert [o["id"] for o in closed["orders"]] == [ids[0]]
    assert http.get("/api/orders", headers=user["headers"], params={"limit": 501}).status_code == 422
    other = register("other")
    assert (
        http.get("/api/orders", headers=other["headers"], params={"cursor": page1["next_cursor"]}).status_code
        == 422
    )


def test_subscribing_to_an_unknown_stock_is_refused(ws: Any) -> None:
    client = ws()
    client.send({"action": "subscribe", "channels": ["stock:NOSUCH"]})
    msg = client.wait_for(lambda m: m["type"] == "error")
    assert msg["error"]["code"] == "unknown_symbol"
    client.send({"action": "ping"})
    assert client.wait_for(lambda m: m["type"] == "pong") == {"type": "pong"}
