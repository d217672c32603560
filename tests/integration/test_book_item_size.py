"""The stock's BOOK item is rewritten by every matcher batch (2 write units per KB, transactional,
of the larger of the item before and after): with 100 levels a side and a 5-level sweep's events it
stays small, and what it holds reads back the same through every reader."""

from __future__ import annotations

import uuid

import boto3

from benchmarks.aws_cost_meter import item_size
from exchange import book_codec, keys
from exchange.adapters.matcher_store import book_from_item
from exchange.usecases.matching import Message
from exchange.usecases.orders import OrderRequest
from exchange.views import book_view
from tests.integration.conftest import Exchange


def _place(ex: Exchange, user: str, symbol: str, side: str, qty: int, price: int) -> dict:
    order, _ = ex.orders.place(user, OrderRequest(symbol, side, "limit", qty, price, "gtc", None))
    return order


def test_a_deep_book_after_a_sweep_is_a_small_item_that_reads_back_the_same(exchange: Exchange) -> None:
    # Given a stock with 100 levels resting on each side, and 5 one-lot asks just above the bids
    ex = exchange
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:6])
    ex.admin.list_stock(symbol, symbol, 10_000, 1)
    maker = ex.accounts.register(f"m{uuid.uuid4().hex[:8]}@example.com", "password123", None)["id"]
    taker = ex.accounts.register(f"t{uuid.uuid4().hex[:8]}@example.com", "password123", None)["id"]
    ex.admin.grant(maker, symbol, 1_000)
    resting = [_place(ex, maker, symbol, "buy", 1 + i % 7, 9_000 - i) for i in range(100)]
    resting += [_place(ex, maker, symbol, "sell", 1 + i % 5, 10_100 + i) for i in range(100)]
    resting += [_place(ex, maker, symbol, "sell", 2, 10_000 + i) for i in range(5)]
    for start in range(0, len(resting), 10):
        ex.matcher.process(
            symbol, [Message("new", symbol, o["id"], maker) for o in resting[start : start + 10]]
        )

    def book_bytes() -> int:
        raw = boto3.client("dynamodb").get_item(
            TableName="ExchangeTable",
            Key={"pk": {"S": keys.stock(symbol)}, "sk": {"S": keys.BOOK}},
            ConsistentRead=True,
        )["Item"]
        return item_size(raw)

    # When one more order comes to rest, alone in its batch
    rest = _place(ex, taker, symbol, "buy", 1, 8_000)
    ex.matcher.process(symbol, [Message("new", symbol, rest["id"], taker)])
    # Then the BOOK item, sized by DynamoDB's rules, is at most 1 KB: 2 transactional write units
    # (as JSON text: 3.9 KB, and 8.5 KB for the batch of 10 before it: 18 units for this write)
    assert book_bytes() <= 1024, book_bytes()

    # When a buy sweeps the 5 levels in one batch
    buy = _place(ex, taker, symbol, "buy", 10, 10_004)
    ex.matcher.process(symbol, [Message("new", symbol, buy["id"], taker)])

    # Then the BOOK item is at most 2 KB (4 units; as JSON text it was 11.7 KB: 24 units)
    assert book_bytes() <= 2048, book_bytes()
    # and it holds the whole snapshot and the batch's events: accepted, 5 trades, 10 fills, the book
    item = ex.store.book(symbol)
    assert item is not None
    bids, asks = book_codec.levels(item)
    assert (len(bids), len(asks)) == (100, 100)  # the 101st bid (80.00) is not in the snapshot
    assert bids[0] == [9_000, 1, 1] and asks[0] == [10_100, 1, 1]
    assert book_from_item(item).bids == bids
    types = [e["type"] for e in book_codec.events(item)]
    assert types.count("TRADE_EXECUTED") == 5 and types.count("ORDER_FILLED") == 10
    assert types[0] == "ORDER_ACCEPTED" and types[-1] == "ORDER_BOOK_UPDATED"
    view = book_view(symbol, item, 100)
    assert len(view["bids"]) == 100 and view["asks"][0] == {"price": "101.00", "quantity": 1, "orders": 1}
