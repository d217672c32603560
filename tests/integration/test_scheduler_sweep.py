"""The schedule's sweep: day orders expire through the stock's FIFO group after the close; orders
stuck in pending are enqueued again, and a duplicate delivery is harmless."""

from __future__ import annotations

import json
import uuid
from typing import Any

from exchange import book_codec
from exchange.ids import now_ms
from exchange.usecases.matching import Message
from exchange.usecases.orders import OrderRequest, Orders
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
    events = book_codec.events(ex.store.book(symbol))
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
    assert book_codec.levels(ex.store.book(symbol))[0] == [[9_000, 3, 1]]
    assert sweeper.requeue_pending(now=order["created_at"] + 600_000) == 0


class LosingQueue:
    """The orders queue whose SendMessage fails (the message never reaches SQS)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.lost = 0

    def send(self, *args: Any, **kwargs: Any) -> None:
        self.lost += 1
        raise ConnectionError("SendMessage lost")


def test_a_cancel_whose_message_was_lost_is_sent_again_by_the_sweep(exchange: Exchange) -> None:
    # Given a resting order, and a cancel request whose SendMessage fails
    ex = exchange
    symbol, user = _setup(ex)
    order = _place(ex, user, symbol, "gtc")
    ex.matcher.process(symbol, _drain(ex))
    losing = LosingQueue(ex.queue)
    requested = Orders(ex.store, losing).cancel(user, order["id"])  # type: ignore[arg-type]
    # Then the client still gets its 202 (the request is stored), and nothing reached the queue
    assert (requested["cancel_requested"], requested["status"], losing.lost) == (True, "open", 1)
    assert _drain(ex) == []
    sweeper = Sweeper(ex.store, ex.queue, pending_grace_ms=120_000)
    t = int(requested["updated_at"])
    # When the sweep runs within the grace period: nothing; after it: the cancel is sent again
    assert sweeper.requeue_pending(now=t + 1_000) == 0
    assert sweeper.requeue_pending(now=t + 180_000) == 1
    messages = _drain(ex)
    assert [(m.kind, m.order_id) for m in messages] == [("cancel", order["id"])]
    # Then the matcher cancels it, and its reservation is back
    ex.matcher.process(symbol, messages)
    cancelled = ex.store.order(user, order["id"])
    assert (cancelled["status"], cancelled["cancel_reason"], cancelled["reserved_cash"]) == (
        "cancelled",
        "user",
        0,
    )
    assert ex.store.cash(user)["reserved"] == 0
    # and a later sweep sends nothing more, and tidies the final order out of the index
    assert sweeper.requeue_pending(now=t + 600_000) == 0
    assert ex.store.pending_orders(t + 10**9) == []


def test_a_pending_order_cancelled_before_the_matcher_took_it_gets_both_messages(exchange: Exchange) -> None:
    # Given an order whose "new" and whose cancel were both lost
    ex = exchange
    symbol, user = _setup(ex)
    order = _place(ex, user, symbol, "gtc")
    _drain(ex)
    Orders(ex.store, LosingQueue(ex.queue)).cancel(user, order["id"])  # type: ignore[arg-type]
    # When the sweep runs past the grace period (from the order's creation)
    sweeper = Sweeper(ex.store, ex.queue, pending_grace_ms=120_000)
    assert sweeper.requeue_pending(now=order["created_at"] + 180_000) == 2
    messages = _drain(ex)
    # Then "new" comes before "cancel" in the stock's group, and the order ends cancelled, unreserved
    assert [m.kind for m in messages] == ["new", "cancel"]
    ex.matcher.process(symbol, messages)
    final = ex.store.order(user, order["id"])
    assert (final["status"], final["reserved_cash"]) == ("cancelled", 0)
    assert ex.store.cash(user)["reserved"] == 0


def test_a_lost_cancel_of_an_order_filled_meanwhile_is_still_sent_again(exchange: Exchange) -> None:
    # Given a resting buy of 3 whose cancel message was lost
    ex = exchange
    symbol, user = _setup(ex)
    order = _place(ex, user, symbol, "gtc")
    ex.matcher.process(symbol, _drain(ex))
    Orders(ex.store, LosingQueue(ex.queue)).cancel(user, order["id"])  # type: ignore[arg-type]
    # When a seller fills 1 of it before the sweep (the matcher writes the order as a maker)
    seller = ex.accounts.register(f"s{uuid.uuid4().hex[:8]}@example.com", "password123", None)["id"]
    ex.admin.grant(seller, symbol, 1)
    ex.orders.place(seller, OrderRequest(symbol, "sell", "limit", 1, 9_000, "gtc", None))
    ex.matcher.process(symbol, _drain(ex))
    assert ex.store.order(user, order["id"])["status"] == "partially_filled"
    # Then the sweep still re-sends the cancel, and the rest is cancelled with its reservation back
    sweeper = Sweeper(ex.store, ex.queue, pending_grace_ms=120_000)
    assert sweeper.requeue_pending(now=now_ms() + 180_000) == 1
    ex.matcher.process(symbol, _drain(ex))
    final = ex.store.order(user, order["id"])
    assert (final["status"], final["filled_quantity"], final["reserved_cash"]) == ("cancelled", 1, 0)
    assert ex.store.cash(user)["reserved"] == 0


class FlakyQueue:
    """The orders queue whose first SendMessage fails, then the real one; records what it was asked."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.asked: list[str] = []

    def send(self, message: Any, *, dedup_id: str) -> None:
        self.asked.append(message.order_id)
        if len(self.asked) == 1:
            raise ConnectionError("SendMessage lost")
        self.real.send(message, dedup_id=dedup_id)


def test_one_failed_send_does_not_stop_the_sweep_for_the_other_orders(exchange: Exchange) -> None:
    # Given two pending orders whose messages were lost
    ex = exchange
    symbol, user = _setup(ex)
    lost = [_place(ex, user, symbol, "gtc") for _ in range(2)]
    _drain(ex)

    # When the sweep runs and its first SendMessage fails
    queue = FlakyQueue(ex.queue)
    sweeper = Sweeper(ex.store, queue, pending_grace_ms=120_000)  # type: ignore[arg-type]
    sweeper.requeue_pending(now=int(lost[1]["created_at"]) + 180_000)

    # Then it went on: both orders were tried, and every send after the failed one reached the queue
    drained = _drain(ex)
    assert {o["id"] for o in lost} <= set(queue.asked)
    assert sorted(m.order_id for m in drained) == sorted(queue.asked[1:])
    for m in drained:
        ex.matcher.process(m.symbol, [m])


def test_waiting_day_stops_expire_after_the_close_and_gtc_stops_do_not(exchange: Exchange) -> None:
    # Given two waiting stops (outside the book: the stock never traded), one day and one gtc
    ex = exchange
    symbol, user = _setup(ex)
    day, gtc = (
        ex.orders.place(user, OrderRequest(symbol, "buy", "stop", 2, None, tif, None, 11_000))[0]
        for tif in ("day", "gtc")
    )
    ex.matcher.process(symbol, _drain(ex))
    assert ex.store.order(user, day["id"])["status"] == "open"
    assert book_codec.levels(ex.store.book(symbol)) == ([], [])
    sweeper = Sweeper(ex.store, ex.queue)

    # When the sweep runs the next day
    assert sweeper.expire_day_orders(now=day["created_at"] + DAY_MS) == 1
    messages = _drain(ex)
    assert [(m.kind, m.order_id) for m in messages] == [("expire", day["id"])]
    ex.matcher.process(symbol, messages)

    # Then the day stop is expired with its reservation (2 x its collar, 115.50) back; the gtc waits
    expired = ex.store.order(user, day["id"])
    assert (expired["status"], expired["reserved_cash"], expired.get("triggered_at")) == ("expired", 0, None)
    assert ex.store.order(user, gtc["id"])["status"] == "open"
    assert ex.store.cash(user)["reserved"] == 2 * 11_550
    events = book_codec.events(ex.store.book(symbol))
    assert [e["type"] for e in events if e["channel"] == f"user:{user}"] == ["ORDER_EXPIRED"]
