"""GET /api/orders reads O(limit) items whatever the user's history (moto in-process): the open
list is one Query of the sparse user_open_orders index, which an order leaves in the transaction
that makes it final; closed / symbol reads examine a bounded number of items per request and page
on with a cursor; a restored state's non-final orders join the index at start-up."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from exchange import keys
from exchange.adapters.dynamo import to_item
from exchange.adapters.order_list import EXAMINE_BUDGET
from exchange.domain.errors import ValidationFailed
from exchange.ids import new_id
from exchange.usecases.matching import Message
from exchange.usecases.orders import OrderRequest
from local_stack.restored import backfill_open_user
from tests.integration.conftest import Exchange, examined

HISTORY = 1500  # closed orders stored after the open ones (newer: a newest-first walk meets them first)


def _symbol(ex: Exchange) -> str:
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:7])
    ex.admin.list_stock(symbol, symbol, 10_000, 1)
    return symbol


def _user(ex: Exchange, shares: dict[str, int] | None = None) -> str:
    uid = str(ex.accounts.register(f"u{uuid.uuid4().hex[:10]}@example.com", "password123", None)["id"])
    for sym, qty in (shares or {}).items():
        ex.store.table.client.put_item(
            TableName=ex.store.table.name,
            Item=to_item({"pk": keys.user(uid), "sk": keys.holding_sk(sym), "available": qty, "reserved": 0}),
        )
    return uid


def _place(ex: Exchange, user: str, sym: str, side: str, qty: int, price: int, tif: str = "gtc") -> str:
    order, _ = ex.orders.place(user, OrderRequest(sym, side, "limit", qty, price, tif, None))
    return str(order["id"])


def _process(ex: Exchange, sym: str, user: str, *oids: str, kind: str = "new") -> None:
    ex.matcher.process(sym, [Message(kind, sym, oid, user) for oid in oids])


def _seed_closed(ex: Exchange, user: str, sym: str, n: int) -> list[str]:
    """``n`` final orders as the matcher leaves them (no open_user), newer than everything so far."""
    ids = [new_id() for _ in range(n)]
    client, name = ex.store.table.client, ex.store.table.name
    for i in range(0, n, 25):
        client.batch_write_item(
            RequestItems={
                name: [
                    {
                        "PutRequest": {
                            "Item": to_item(
                                {
                                    "pk": keys.user(user),
                                    "sk": keys.order_sk(oid),
                                    "type": "order",
                                    "id": oid,
                                    "user_id": user,
                                    "symbol": sym,
                                    "status": "filled",
                                    "quantity": 1,
                                }
                            )
                        }
                    }
                    for oid in ids[i : i + 25]
                ]
            }
        )
    return ids


def _ids(orders: list[dict[str, Any]]) -> list[str]:
    return [str(o["id"]) for o in orders]


def _all_pages(ex: Exchange, user: str, status: str, symbol: str | None, limit: int) -> tuple[list[str], int]:
    out: list[str] = []
    cursor, requests = None, 0
    while True:
        with examined(ex) as counts:
            page, cursor = ex.orders.list(user, status, symbol, limit, cursor)
        assert sum(counts) <= max(limit, EXAMINE_BUDGET) + 100  # bounded per request, whatever the history
        out += _ids(page)
        requests += 1
        if cursor is None:
            return out, requests


def test_open_list_reads_only_the_open_orders(exchange: Exchange) -> None:
    ex = exchange
    sym = _symbol(ex)
    user = _user(ex)
    opened = [_place(ex, user, sym, "buy", 1, 9_000 + i) for i in range(3)]
    _process(ex, sym, user, *opened[:2])  # two resting (open), one still pending
    _seed_closed(ex, user, sym, HISTORY)
    with examined(ex) as counts:
        page, cursor = ex.orders.list(user, "open", None, 50, None)
    assert _ids(page) == opened[::-1] and cursor is None
    assert [o["status"] for o in page] == ["pending", "open", "open"]
    assert sum(counts) <= len(opened) + 1  # not the user's 1,500 closed orders
    # paging the open list: a cursor of the index, refused for another status
    first, cursor = ex.orders.list(user, "open", None, 2, None)
    assert _ids(first) == opened[:0:-1] and cursor is not None
    rest, end = ex.orders.list(user, "open", None, 2, cursor)
    assert _ids(rest) == opened[:1] and end is None
    with pytest.raises(ValidationFailed):
        ex.orders.list(user, "closed", None, 2, cursor)


def test_an_order_leaves_the_open_list_when_final(exchange: Exchange) -> None:
    ex = exchange
    sym = _symbol(ex)
    seller, buyer = _user(ex, {sym: 100}), _user(ex)
    filled = _place(ex, seller, sym, "sell", 5, 10_000)
    partial = _place(ex, seller, sym, "sell", 10, 10_100)
    cancelled = _place(ex, seller, sym, "sell", 1, 12_000)
    expired = _place(ex, seller, sym, "sell", 1, 12_100, tif="day")
    pending = _place(ex, seller, sym, "sell", 1, 12_200)
    _process(ex, sym, seller, filled, partial, cancelled, expired)
    resting = [pending, expired, cancelled, partial, filled]
    assert _ids(ex.orders.list(seller, "open", None, 50, None)[0]) == resting

    take = _place(ex, buyer, sym, "buy", 8, 10_100)  # fills `filled`, 3 of `partial`
    _process(ex, sym, buyer, take)
    ex.orders.cancel(seller, cancelled)
    _process(ex, sym, seller, cancelled, kind="cancel")
    _process(ex, sym, seller, expired, kind="expire")
    ioc = _place(ex, buyer, sym, "buy", 1, 9_000, tif="ioc")  # nothing to take: cancelled on arrival
    _process(ex, sym, buyer, ioc)

    opened = ex.orders.list(seller, "open", None, 50, None)[0]
    assert [(o["id"], o["status"]) for o in opened] == [(pending, "pending"), (partial, "partially_filled")]
    assert ex.orders.list(buyer, "open", None, 50, None)[0] == []
    statuses = {o["id"]: o["status"] for o in ex.orders.list(seller, "closed", None, 50, None)[0]}
    assert statuses == {expired: "expired", cancelled: "cancelled", filled: "filled"}
    for oid in (filled, cancelled, expired):
        assert "open_user" not in (ex.store.order(seller, oid) or {})
    assert _ids(ex.orders.list(buyer, "closed", None, 50, None)[0]) == [ioc, take]


def test_filtered_reads_are_bounded_per_request_and_page_on(exchange: Exchange) -> None:
    ex = exchange
    sym, other = _symbol(ex), _symbol(ex)
    user = _user(ex)
    wanted = [_place(ex, user, other, "buy", 1, 9_000 + i) for i in range(3)]
    _process(ex, other, user, *wanted)
    ex.orders.cancel(user, wanted[0])
    _process(ex, other, user, wanted[0], kind="cancel")
    closed = _seed_closed(ex, user, sym, HISTORY)

    got, requests = _all_pages(ex, user, "all", other, 50)
    assert got == wanted[::-1] and requests >= 2  # the history is walked over requests, not in one
    got, _ = _all_pages(ex, user, "closed", other, 50)
    assert got == [wanted[0]]
    got, _ = _all_pages(ex, user, "closed", None, 500)
    assert got == [*closed[::-1], wanted[0]]
    got, _ = _all_pages(ex, user, "open", other, 50)
    assert got == wanted[:0:-1]


def test_restored_orders_join_the_open_index(exchange: Exchange) -> None:
    ex = exchange
    sym = _symbol(ex)
    user = _user(ex)
    resting, pending = (_place(ex, user, sym, "buy", 1, 9_000 + i) for i in range(2))
    _process(ex, sym, user, resting)
    done = _place(ex, user, sym, "buy", 1, 8_000, tif="ioc")
    _process(ex, sym, user, done)
    client, name = ex.store.table.client, ex.store.table.name
    for oid in (resting, pending, done):  # as stored before the index existed
        client.update_item(
            TableName=name,
            Key=to_item({"pk": keys.user(user), "sk": keys.order_sk(oid)}),
            UpdateExpression="REMOVE open_user",
        )
    assert ex.orders.list(user, "open", None, 50, None)[0] == []
    assert backfill_open_user(client, name) >= 2
    assert _ids(ex.orders.list(user, "open", None, 50, None)[0]) == [pending, resting]
    assert "open_user" not in (ex.store.order(user, done) or {})
    assert backfill_open_user(client, name) == 0  # once
