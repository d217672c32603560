"""A holding's writers store the price it is marked at (``mark_price``), so the notifier values a
HOLDING stream image without reading the live stock (identical events on redelivery)."""

from __future__ import annotations

import json
import uuid

from exchange.usecases.matching import Message
from exchange.usecases.orders import OrderRequest
from tests.integration.conftest import Exchange


def _drain(ex: Exchange) -> list[Message]:
    out = []
    while msgs := ex.queue.client.receive_message(QueueUrl=ex.queue.queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for m in msgs:
            b = json.loads(m["Body"])
            out.append(Message(b["kind"], b["symbol"], b["order_id"], b["user_id"]))
            ex.queue.client.delete_message(QueueUrl=ex.queue.queue_url, ReceiptHandle=m["ReceiptHandle"])
    return out


def test_grant_and_sell_reservation_mark_the_holding_at_the_last_price(exchange: Exchange) -> None:
    # Given a stock that has not traded, and a seller granted shares
    ex = exchange
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:6])
    ex.admin.list_stock(symbol, symbol, 10_000, 1)
    _drain(ex)
    seller = ex.accounts.register(f"k{uuid.uuid4().hex[:8]}@example.com", "password123", None)["id"]
    buyer = ex.accounts.register(f"k{uuid.uuid4().hex[:8]}@example.com", "password123", None)["id"]
    holding, _ = ex.admin.grant(seller, symbol, 10)
    # Then before any trade there is no mark (the image is valued at its average cost = reference)
    assert "mark_price" not in holding
    # When a trade at 101.00 happens
    ex.orders.place(seller, OrderRequest(symbol, "sell", "limit", 2, 10_100, "gtc", None))
    ex.orders.place(buyer, OrderRequest(symbol, "buy", "limit", 2, 10_100, "gtc", None))
    ex.matcher.process(symbol, _drain(ex))
    assert ex.store.stock(symbol)["last_price"] == 10_100
    # Then a later grant, and a later sell's reservation, mark the holding at that price
    assert ex.admin.grant(buyer, symbol, 1)[0]["mark_price"] == 10_100
    ex.store.table.update(
        f"USER#{seller}", f"HOLDING#{symbol}", "SET mark_price = :m", values={":m": 1}
    )
    ex.orders.place(seller, OrderRequest(symbol, "sell", "limit", 1, 10_500, "gtc", None))
    assert ex.store.holding(seller, symbol)["mark_price"] == 10_100
