"""Trading halts through the real use cases and the real matcher against moto: the halt travels in
the stock's sequence, orders sequenced after it are rejected with their whole reservation released
(ORDER_REJECTED), resting orders stay and can be cancelled, the api refuses new orders (409
``stock_halted``) once it has read the halted stock, and a resume trades again."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from exchange import book_codec
from exchange.domain.errors import Conflict
from exchange.usecases.matching import Message
from exchange.usecases.orders import OrderRequest
from tests.integration.conftest import Exchange

CASH, SHARES, REF = 100_000, 50, 1_000


def _setup(ex: Exchange) -> tuple[str, list[str]]:
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:7])
    ex.admin.list_stock(symbol, symbol, REF, 1)
    users = []
    for _ in range(3):
        uid = ex.accounts.register(f"h{uuid.uuid4().hex[:10]}@example.com", "password123", None, cash=CASH)[
            "id"
        ]
        ex.admin.grant(uid, symbol, SHARES)
        users.append(uid)
    return symbol, users


def _place(ex: Exchange, user: str, symbol: str, side: str, qty: int, price: int | None) -> dict[str, Any]:
    kind = "limit" if price is not None else "market"
    tif = "gtc" if price is not None else "ioc"
    order, _ = ex.orders.place(user, OrderRequest(symbol, side, kind, qty, price, tif, None))
    return order


def _new(o: dict[str, Any]) -> Message:
    return Message("new", o["symbol"], o["id"], o["user_id"])


def _events(ex: Exchange, symbol: str) -> list[dict[str, Any]]:
    return book_codec.events(ex.store.book(symbol))


def _money(ex: Exchange, users: list[str], symbol: str) -> tuple[int, int]:
    cash = sum(ex.store.cash(u)["available"] + ex.store.cash(u)["reserved"] for u in users)
    held = 0
    for u in users:
        h = ex.store.holding(u, symbol) or {"available": 0, "reserved": 0}
        held += h["available"] + h["reserved"]
    return cash, held


def test_orders_sequenced_after_a_halt_are_rejected_with_their_reservation_released(
    exchange: Exchange,
) -> None:
    ex = exchange
    symbol, (a, b, c) = _setup(ex)
    resting = _place(ex, a, symbol, "sell", 5, 1_010)
    ex.matcher.process(symbol, [_new(resting)])
    # accepted by the api before it knew of the halt, sequenced after it
    buy = _place(ex, b, symbol, "buy", 5, 1_010)
    sell = _place(ex, c, symbol, "sell", 4, 990)
    assert ex.store.cash(b)["reserved"] == 5 * 1_010
    assert (ex.store.holding(c, symbol) or {})["reserved"] == 4
    halt = Message("halt", symbol, "req-1", "admin", "news pending")
    ex.matcher.process(symbol, [halt, _new(buy), _new(sell)])

    assert ex.store.stock(symbol)["status"] == "halted"
    for o in (buy, sell):
        stored = ex.store.order(o["user_id"], o["id"])
        assert (stored["status"], stored["reject_reason"]) == ("rejected", "halted")
        assert (stored["reserved_cash"], stored["reserved_quantity"], stored["filled_quantity"]) == (0, 0, 0)
    assert ex.store.cash(b) == {**ex.store.cash(b), "available": CASH, "reserved": 0}
    hc = ex.store.holding(c, symbol) or {}
    assert (hc["available"], hc["reserved"]) == (SHARES, 0)
    rejected = [e for e in _events(ex, symbol) if e["type"] == "ORDER_REJECTED"]
    assert [(e["data"]["id"], e["data"]["reason"], e["channel"]) for e in rejected] == [
        (buy["id"], "halted", f"user:{b}"),
        (sell["id"], "halted", f"user:{c}"),
    ]
    assert rejected[0]["data"]["status"] == "rejected" and rejected[0]["data"]["reject_reason"] == "halted"
    assert not [e for e in _events(ex, symbol) if e["type"] in ("ORDER_ACCEPTED", "TRADE_EXECUTED")]
    # the resting order stayed (book unchanged) and no trade happened
    assert book_codec.levels(ex.store.book(symbol)) == ([], [[1_010, 5, 1]])
    assert ex.store.stock(symbol).get("trade_seq", 0) == 0
    assert _money(ex, [a, b, c], symbol) == (3 * CASH, 3 * SHARES)

    # a redelivery of the same batch changes nothing
    version = ex.store.book(symbol)["version"]
    ex.matcher.process(symbol, [halt, _new(buy), _new(sell)])
    assert ex.store.book(symbol)["version"] == version

    # the api knows now: 409 stock_halted, nothing reserved
    for side, price in (("sell", 1_020), ("buy", None), ("buy", 1_000)):
        with pytest.raises(Conflict) as refused:
            _place(ex, b, symbol, side, 1, price)
        assert refused.value.code == "stock_halted"
    assert ex.store.cash(b)["reserved"] == 0

    # cancels still work while halted
    ex.orders.cancel(a, resting["id"])
    ex.matcher.process(symbol, [Message("cancel", symbol, resting["id"], a)])
    assert ex.store.order(a, resting["id"])["status"] == "cancelled"
    assert (ex.store.holding(a, symbol) or {})["reserved"] == 0
    assert book_codec.levels(ex.store.book(symbol)) == ([], [])


def test_resume_trades_again_and_the_api_sees_it_at_once(exchange: Exchange) -> None:
    ex = exchange
    symbol, (a, b, _) = _setup(ex)
    _place(ex, b, symbol, "buy", 1, 1_000)  # the api caches the stock as trading
    ex.matcher.process(symbol, [Message("halt", symbol, "h1", "admin")])
    with pytest.raises(Conflict):
        _place(ex, a, symbol, "sell", 1, 1_000)  # a sell reads the stock: halted
    with pytest.raises(Conflict):
        _place(ex, b, symbol, "buy", 1, 1_000)  # the cached "trading" was dropped by that read
    ex.matcher.process(symbol, [Message("resume", symbol, "r1", "admin")])
    assert ex.store.stock(symbol)["status"] == "trading"
    sell = _place(ex, a, symbol, "sell", 2, 1_000)
    buy = _place(ex, b, symbol, "buy", 2, 1_000)
    ex.matcher.process(symbol, [_new(sell), _new(buy)])
    assert ex.store.order(b, buy["id"])["status"] == "filled"
    assert ex.store.order(a, sell["id"])["status"] == "filled"
    assert ex.store.order(b, buy["id"]).get("reject_reason") is None
    # a second resume (or halt of a halted stock) changes nothing
    version = ex.store.book(symbol)["version"]
    ex.matcher.process(symbol, [Message("resume", symbol, "r2", "admin")])
    assert ex.store.book(symbol)["version"] == version
