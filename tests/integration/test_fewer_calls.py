"""AWS calls the functions no longer make (issue 8): the api's STOCK read for a limit buy (its tick
and existence remembered per container for a short TTL), and the matcher's second BatchGetItem when
settlement changes no holding (orders that only rest, buys cancelled). Balances are checked too:
a read left out must never change what is written."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from exchange.domain.errors import UnknownSymbol, ValidationFailed
from exchange.usecases.matching import Matcher, Message
from exchange.usecases.orders import LISTED_TTL_S, OrderRequest, Orders
from tests.integration.conftest import Exchange


def _symbol(ex: Exchange, tick: int = 1) -> str:
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:6])
    ex.admin.list_stock(symbol, symbol, 10_000, tick)
    return symbol


def _user(ex: Exchange) -> str:
    return str(ex.accounts.register(f"f{uuid.uuid4().hex[:8]}@example.com", "password123", None)["id"])


@contextmanager
def calls(client: Any) -> Iterator[Counter[str]]:
    """The DynamoDB operations ``client`` sends meanwhile."""
    seen: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        seen[model.name] += 1

    client.meta.events.register("before-call.dynamodb", count)
    try:
        yield seen
    finally:
        client.meta.events.unregister("before-call.dynamodb", count)


def _req(symbol: str, side: str, price: int | None, order_type: str = "limit") -> OrderRequest:
    return OrderRequest(symbol, side, order_type, 1, price, "ioc" if order_type == "market" else "gtc", None)


# ---------------------------------------------------------------------- the api's STOCK read
def test_limit_buys_read_the_stock_once_per_ttl(exchange: Exchange) -> None:
    ex = exchange
    now = [1000.0]
    orders = Orders(ex.store, ex.queue, clock=lambda: now[0])
    sym, buyer = _symbol(ex, tick=5), _user(ex)
    with calls(ex.store.table.client) as seen:
        for _ in range(3):
            orders.place(buyer, _req(sym, "buy", 9_000))
    assert seen["GetItem"] == 1  # the first buy; the next two use what it read
    assert seen["TransactWriteItems"] == 3
    # the remembered tick still refuses a price off the tick, with the contract's error
    with calls(ex.store.table.client) as seen, pytest.raises(ValidationFailed):
        orders.place(buyer, _req(sym, "buy", 9_001))
    assert seen["GetItem"] == 0 and seen["TransactWriteItems"] == 0
    # after the TTL the stock is read again
    now[0] += LISTED_TTL_S
    with calls(ex.store.table.client) as seen:
        orders.place(buyer, _req(sym, "buy", 9_000))
    assert seen["GetItem"] == 1
    assert int(ex.store.cash(buyer)["reserved"]) == 4 * 9_000


def test_sells_and_market_orders_still_read_the_stock_fresh(exchange: Exchange) -> None:
    ex = exchange
    orders = Orders(ex.store, ex.queue)
    sym, seller, buyer = _symbol(ex), _user(ex), _user(ex)
    ex.admin.grant(seller, sym, 10)
    orders.place(buyer, _req(sym, "buy", 9_000))  # the tick is now remembered
    with calls(ex.store.table.client) as seen:
        asks = [orders.place(seller, _req(sym, "sell", p))[0] for p in (11_000, 12_000)]
    assert seen["GetItem"] == 2  # a sell marks its holding at the stock's last price, read fresh
    Matcher(ex.matcher_store).process(sym, [Message("new", sym, o["id"], seller) for o in asks])
    with calls(ex.store.table.client) as seen:
        orders.place(buyer, _req(sym, "buy", None, "market"))
    assert seen["GetItem"] == 2  # the stock (its last price bounds the reservation) and the book


def test_an_unknown_symbol_is_not_remembered(exchange: Exchange) -> None:
    ex = exchange
    orders = Orders(ex.store, ex.queue)
    buyer = _user(ex)
    sym = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:6])
    with pytest.raises(UnknownSymbol):
        orders.place(buyer, _req(sym, "buy", 9_000))
    ex.admin.list_stock(sym, sym, 10_000, 1)
    order, created = orders.place(buyer, _req(sym, "buy", 9_000))  # listed a moment ago: tradable
    assert created and order["status"] == "pending"


# ---------------------------------------------------------------------- the matcher's second read
def _match(ex: Exchange, matcher: Matcher, *orders: dict[str, Any], kind: str = "new") -> Counter[str]:
    with calls(ex.matcher_store.table.client) as seen:
        messages = [Message(kind, o["symbol"], o["id"], o["user_id"]) for o in orders]
        matcher.process(orders[0]["symbol"], messages)
    return seen


def _held(ex: Exchange, user: str, sym: str) -> tuple[int, int]:
    h = ex.store.holding(user, sym) or {}
    return int(h.get("available", 0)), int(h.get("reserved", 0))


def test_a_batch_that_only_rests_or_cancels_buys_reads_once(exchange: Exchange) -> None:
    ex = exchange
    matcher = Matcher(ex.matcher_store)
    sym, buyer, seller = _symbol(ex), _user(ex), _user(ex)
    ex.admin.grant(seller, sym, 10)
    bid, _ = ex.orders.place(buyer, _req(sym, "buy", 9_000))
    ask, _ = ex.orders.place(seller, _req(sym, "sell", 11_000))
    seen = _match(ex, matcher, bid, ask)
    assert (seen["BatchGetItem"], seen["TransactWriteItems"]) == (1, 1)
    assert ex.store.order(buyer, bid["id"])["status"] == "open"
    assert ex.store.order(seller, ask["id"])["status"] == "open"
    # a buy's cancel releases cash only: one read
    ex.orders.cancel(buyer, bid["id"])
    seen = _match(ex, matcher, bid, kind="cancel")
    assert (seen["BatchGetItem"], seen["TransactWriteItems"]) == (1, 1)
    assert ex.store.order(buyer, bid["id"])["status"] == "cancelled"
    assert (int(ex.store.cash(buyer)["reserved"]), _held(ex, seller, sym)) == (0, (9, 1))


def test_a_sell_cancel_and_a_fill_still_read_the_holdings(exchange: Exchange) -> None:
    ex = exchange
    matcher = Matcher(ex.matcher_store)
    sym, buyer, seller = _symbol(ex), _user(ex), _user(ex)
    ex.admin.grant(seller, sym, 10)
    ask, _ = ex.orders.place(seller, _req(sym, "sell", 11_000))
    ask2, _ = ex.orders.place(seller, _req(sym, "sell", 12_000))
    _match(ex, matcher, ask, ask2)
    ex.orders.cancel(seller, ask["id"])
    seen = _match(ex, matcher, ask, kind="cancel")
    assert seen["BatchGetItem"] == 2
    assert _held(ex, seller, sym) == (9, 1)  # the cancelled sell's share is available again
    bid, _ = ex.orders.place(buyer, _req(sym, "buy", 12_000))
    seen = _match(ex, matcher, bid)
    assert seen["BatchGetItem"] == 2
    assert _held(ex, seller, sym) == (9, 0) and _held(ex, buyer, sym) == (1, 0)
    # an IOC sell that finds nothing: its remainder is cancelled, its shares come back
    ioc, _ = ex.orders.place(seller, OrderRequest(sym, "sell", "limit", 2, 13_000, "ioc", None))
    seen = _match(ex, matcher, ioc)
    assert seen["BatchGetItem"] == 2
    assert ex.store.order(seller, ioc["id"])["status"] == "cancelled"
    assert _held(ex, seller, sym) == (9, 0)
