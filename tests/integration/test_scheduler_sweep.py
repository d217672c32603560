"""The schedule's sweep: day orders expire through the stock's FIFO group after the close; orders
stuck in pending are enqueued again, and a duplicate delivery is harmless."""

from __future__ import annotations

import json
import uuid
from typing import Any

from exchange.usecases.matching import Message
from exchange.usecases.orders import OrderRequest
from exchange.usecases.scheduling import Sweeper
from tests.integration.conftest import Exchange

DAY_MS = 86_400_000


def _drain(ex: Exchange) -> list[Message]:
    out = []
    while True:
        resp = ex.queue.client.receive_message(QueueUrl=ex.queue.queue_url, MaxNumberOfMessages=10)
        msgs = resp.get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            body = json.loads(m["Body"])
            out.append(Message(body["kind"], body["symbol"], body["order_id"], body["user_id"]))
            ex.queue.client.delete_message(QueueUrl=ex.queue.queue_url, ReceiptHandle=m["ReceiptHandle"])


def _setup(ex: Exchange) -> tuple[str, str]:
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:6])
    ex.admin.list_stock(symbol, symbol, 10_000, 1)
    user = ex.accounts.register(f"s{uuid.uuid4().hex[:8]}@example.com", "password123", None)["id"]
    _drain(ex)
    return symbol, user


def _place(ex: Exchange, user: str, symbol: str, tif: str) -> dict[str, Any]:
    order, _ = ex.orders.place(user, OrderRequest(symbol, "buy", "limit", 3, 9_000, tif, None))
    return order


def test_day_orders_expire_after_the_close_and_gtc_orders_do_not(exchange: Exchange) -> None:
    # Given a resting day order and a resting gtc order
    ex = exchange
    symbol, user = _setup(ex)
    day, gtc = _place(ex, user, symbol, "day"), _place(ex, user, symbol, "gtc")
    ex.matcher.process(symbol, _drain(ex))
    sweeper = Sweeper(ex.store, ex.queue)

    # When the sweep runs the same day, nothing happens; the next day, the day order is expired
    assert sweeper.expire_day_orders(now=day["created_at"] + 1) == 0
    assert sweeper.expire_day_orders(now=day["created_at"] + DAY_MS) == 1
    messages = _drain(ex)
    assert [(m.kind, m.order_id) for m in messages] == [("expire", day["id"])]
    ex.matcher.process(symbol, messages)

    # Then it is expired with its reservation back, the gtc order still rests, and the user is told
    expired = ex.store.order(user, day["id"])
    assert (expired["status"], expired["cancel_reason"], expired["reserved_cash"]) == (
        "expired",
        "expired",
        0,
    )
    assert ex.store.order(user, gtc["id"])["status"] == "open"
    assert ex.store.cash(user)["reserved"] == 27_000
    events = json.loads(ex.store.book(symbol)["events"])
    assert [e["type"] for e in events if e["channel"] == f"user:{user}"] == ["ORDER_EXPIRED"]


def test_a_pending_order_is_enqueued_again_and_matched_once(exchange: Exchange) -> None:
    # Given an order whose message was lost (drained without processing)
    ex = exchange
    symbol, user = _setup(ex)
    order = _place(ex, user, symbol, "gtc")
    _drain(ex)
    sweeper = Sweeper(ex.store, ex.queue, pending_grace_ms=120_000)

    # When the sweep runs: not within the grace period, but after it
    assert sweeper.requeue_pending(now=order["created_at"] + 1_000) == 0
    assert sweeper.requeue_pending(now=order["created_at"] + 180_000) == 1
    messages = _drain(ex)

    # Then the matcher takes it, and a second delivery changes nothing
    ex.matcher.process(symbol, messages)
    ex.matcher.process(symbol, messages)
    assert ex.store.order(user, order["id"])["status"] == "open"
    assert json.loads(ex.store.book(symbol)["bids"]) == [[9_000, 3, 1]]
    assert sweeper.requeue_pending(now=order["created_at"] + 600_000) == 0
