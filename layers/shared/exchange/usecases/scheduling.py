"""The schedule's sweep: expire day orders after the close, re-enqueue orders stuck in ``pending``.

Both go through the stock's FIFO group like any other message, so they never race a fill.
"""

from __future__ import annotations

from dataclasses import dataclass

from exchange.adapters.exchange_store import ExchangeStore
from exchange.adapters.orders_queue import OrdersQueue
from exchange.ids import now_ms, trading_day
from exchange.observability import logger


@dataclass
class Sweeper:
    store: ExchangeStore
    queue: OrdersQueue
    close_minute_utc: int = 0
    pending_grace_ms: int = 120_000

    def expire_day_orders(self, now: int | None = None) -> int:
        now = now if now is not None else now_ms()
        today = trading_day(now, self.close_minute_utc)
        sent = 0
        for stock in self.store.stocks():
            for order in self.store.resting_orders(stock["symbol"]):
                if (
                    order["tif"] != "day"
                    or trading_day(int(order["created_at"]), self.close_minute_utc) == today
                ):
                    continue
                self.queue.send(
                    kind="expire",
                    symbol=order["symbol"],
                    order_id=order["id"],
                    user_id=order["user_id"],
                    dedup_id=f"expire-{order['id']}",
                )
                sent += 1
        return sent

    def requeue_pending(self, now: int | None = None) -> int:
        now = now if now is not None else now_ms()
        sent = 0
        for key in self.store.pending_orders(now - self.pending_grace_ms):
            user_id, order_id = key["pk"].split("#", 1)[1], key["sk"].split("#", 1)[1]
            order = self.store.order(user_id, order_id)
            if order is None or order["status"] != "pending":
                continue
            logger.warning("re-enqueueing a pending order", order_id=order_id, symbol=order["symbol"])
            self.queue.send(
                kind="new",
                symbol=order["symbol"],
                order_id=order_id,
                user_id=user_id,
                dedup_id=f"{order_id}-{now // 300_000}",
            )
            sent += 1
        return sent
