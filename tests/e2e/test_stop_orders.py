"""Stop and stop-limit orders over real HTTP and WebSocket: validation at the api, a stop that
triggers and fills (ORDER_TRIGGERED between ORDER_ACCEPTED and the first ORDER_FILLED), a cascade,
and a waiting stop kept out of the order book's depth and cancelled like any open order."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import grant, place_order, settled

# public market data may be served from the api's 1 s memo (API.md "Public caching"): ask past it
FRESH = {"Cache-Control": "no-cache"}


def _stop(
    http: httpx.Client, user: dict[str, Any], symbol: str, side: str, qty: int, **body: Any
) -> httpx.Response:
    return http.post(
        "/api/orders",
        headers=user["headers"],
        json={"symbol": symbol, "side": side, "quantity": qty, **body},
    )


@pytest.mark.parametrize(
    "body",
    [
        {"type": "stop"},  # no stop_price
        {"type": "stop_limit", "stop_price": "10.00"},  # no limit_price
        {"type": "stop", "stop_price": "10.00", "limit_price": "10.00"},
        {"type": "stop", "stop_price": "10.00", "time_in_force": "ioc"},
        {"type": "stop_limit", "stop_price": "10.00", "limit_price": "10.10", "time_in_force": "fok"},
        {"type": "limit", "limit_price": "10.00", "stop_price": "10.00"},
        {"type": "market", "stop_price": "10.00"},
        {"type": "stop", "stop_price": "0.00"},
        {"type": "stop", "stop_price": "-1.00"},
        {"type": "stop", "stop_price": "10.005"},
    ],
)
def test_bad_stop_orders_are_422_and_make_nothing(
    http: httpx.Client, register: Any, new_symbol: Any, body: dict[str, Any]
) -> None:
    symbol = new_symbol(reference_price="10.00")
    trader = register("trader")
    r = _stop(http, trader, symbol, "buy", 1, **body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert http.get("/api/orders", headers=trader["headers"]).json()["orders"] == []


def test_a_stop_off_the_tick_is_422(http: httpx.Client, register: Any, new_symbol: Any) -> None:
    symbol = new_symbol(reference_price="10.00", tick_size="0.05")
    trader = register("trader")
    r = _stop(http, trader, symbol, "buy", 1, type="stop", stop_price="10.02")
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error", r.text
    assert r.json()["error"]["details"][0]["loc"] == ["body", "stop_price"]


def test_a_stop_triggers_fills_and_a_cascade_follows_in_order(
    http: httpx.Client, admin_token: str, register: Any, new_symbol: Any, ws: Any
) -> None:
    symbol = new_symbol(reference_price="50.00")
    seller, buyer, alice, bob = register("seller"), register("buyer"), register("alice"), register("bob")
    grant(http, admin_token, seller, symbol, 10)
    for qty, price in ((1, "50.00"), (2, "50.50"), (2, "51.00")):
        settled(http, seller, place_order(http, seller, symbol, "sell", qty, price).json()["id"])
    alice_ws, bob_ws = ws(alice["access_token"]), ws(bob["access_token"])
    # alice: a stop buy at 50.00 (collar 52.50); bob: a stop-limit buy at 50.50 up to 51.00
    a = _stop(http, alice, symbol, "buy", 2, type="stop", stop_price="50.00")
    assert a.status_code == 201, a.text
    assert (a.json()["price_bound"], a.json()["reserved_cash"], a.json()["stop_price"]) == (
        "52.50",
        "105.00",
        "50.00",
    )
    b = _stop(http, bob, symbol, "buy", 3, type="stop_limit", stop_price="50.50", limit_price="51.00")
    assert b.status_code == 201, b.text
    assert (b.json()["reserved_cash"], b.json()["time_in_force"], b.json()["triggered_at"]) == (
        "153.00",
        "gtc",
        None,
    )
    a_waiting, b_waiting = settled(http, alice, a.json()["id"]), settled(http, bob, b.json()["id"])
    assert (a_waiting["status"], a_waiting["triggered_at"]) == ("open", None)
    assert b_waiting["status"] == "open"
    # waiting stops are not in the depth
    book = http.get(f"/api/stocks/{symbol}/orderbook", headers=FRESH).json()
    assert book["bids"] == [] and [lv["price"] for lv in book["asks"]] == ["50.00", "50.50", "51.00"]

    # When a buyer takes the 50.00 ask: alice triggers and buys 2 @ 50.50, which triggers bob
    r = place_order(http, buyer, symbol, "buy", 1, "50.00")
    assert r.status_code == 201, r.text
    a_id, b_id = a.json()["id"], b.json()["id"]
    alice_ws.wait_for(
        lambda m: m["type"] == "ORDER_FILLED" and m["data"]["id"] == a_id and m["data"]["status"] == "filled"
    )
    bob_ws.wait_for(lambda m: m["type"] == "ORDER_FILLED" and m["data"]["id"] == b_id)

    # Then each sees ACCEPTED, TRIGGERED, then its fills, in order
    a_story = [m for m in alice_ws.received if m["type"].startswith("ORDER_") and m["data"]["id"] == a_id]
    assert [m["type"] for m in a_story] == ["ORDER_ACCEPTED", "ORDER_TRIGGERED", "ORDER_FILLED"]
    triggered = a_story[1]["data"]
    assert (triggered["status"], triggered["filled_quantity"]) == ("open", 0) and triggered["triggered_at"]
    assert a_story[2]["data"]["fill"]["price"] == "50.50"
    b_story = [
        m["type"] for m in bob_ws.received if m["type"].startswith("ORDER_") and m["data"]["id"] == b_id
    ]
    assert b_story[:3] == ["ORDER_ACCEPTED", "ORDER_TRIGGERED", "ORDER_FILLED"]
    alice_order = http.get(f"/api/orders/{a_id}", headers=alice["headers"]).json()
    assert (alice_order["status"], alice_order["average_fill_price"], alice_order["reserved_cash"]) == (
        "filled",
        "50.50",
        "0.00",
    )
    cash = http.get("/api/portfolio", headers=alice["headers"]).json()["cash"]
    assert cash["reserved"] == "0.00" and cash["available"] == f"{100_000 - 101:.2f}"  # the improvement back
    bob_order = http.get(f"/api/orders/{b_id}", headers=bob["headers"]).json()
    # bob bought the 2 at 51.00 and rests for 1 at 51.00
    assert (bob_order["status"], bob_order["filled_quantity"], bob_order["reserved_cash"]) == (
        "partially_filled",
        2,
        "51.00",
    )
    book = http.get(f"/api/stocks/{symbol}/orderbook", headers=FRESH).json()
    assert book["bids"] == [{"price": "51.00", "quantity": 1, "orders": 1}] and book["asks"] == []
    trades = http.get(f"/api/stocks/{symbol}/trades", headers=FRESH).json()["trades"]
    assert [(t["price"], t["quantity"]) for t in reversed(trades)] == [
        ("50.00", 1),
        ("50.50", 2),
        ("51.00", 2),
    ]


def test_a_waiting_stop_is_cancelled_like_any_open_order(
    http: httpx.Client, register: Any, new_symbol: Any, ws: Any
) -> None:
    symbol = new_symbol(reference_price="20.00")
    trader = register("trader")
    trader_ws = ws(trader["access_token"])
    r = _stop(
        http,
        trader,
        symbol,
        "buy",
        5,
        type="stop_limit",
        stop_price="25.00",
        limit_price="25.50",
        time_in_force="day",
    )
    assert r.status_code == 201, r.text
    order = settled(http, trader, r.json()["id"])
    assert order["status"] == "open" and order["type"] == "stop_limit"
    assert http.delete(f"/api/orders/{order['id']}", headers=trader["headers"]).status_code == 202
    cancelled = trader_ws.wait_for(
        lambda m: m["type"] == "ORDER_CANCELLED" and m["data"]["id"] == order["id"]
    )
    assert cancelled["data"]["reserved_cash"] == "0.00"
    assert http.get("/api/portfolio", headers=trader["headers"]).json()["cash"]["reserved"] == "0.00"
