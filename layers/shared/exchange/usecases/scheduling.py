"""The schedule's sweep: expire day orders after the close; repair messages lost on their way to
the matcher.

Everything goes through the stock's FIFO group like any other message, so it never races a fill.
The sparse ``pending_orders`` index lists every order with something still to tell the matcher: a
``pending`` order (placed, not yet taken) and a non-final order whose cancel was requested. Past
the grace period the sweep sends its ``new`` and/or ``cancel`` again, with a deduplication id per
5-minute bucket (SQS's deduplication window) so a later sweep's re-send is not swallowed as a
duplicate of an earlier one, and drops the index entry of an order with nothing left to send
(final, or taken by the matcher with no cancel requested). A cancel-requested order stays listed
until it is final, even if the matcher writes it meanwhile (a fill as a maker): its cancel
message may be the one that was lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exchange.adapters.exchange_store import ExchangeStore
from exchange.adapters.orders_queue import OrdersQueue
from exchange.domain.records import NON_FINAL
from exchange.ids import now_ms, trading_day
from exchange.messages import MessageKind, OrderMessage
from exchange.observability import logger

DEDUP_WINDOW_MS = 300_000


@dataclass
class Sweeper:
    store: ExchangeStore
    queue: OrdersQueue
    close_minute_utc: int = 0
    pending_grace_ms: int = 120_000

    def _send(self, kind: MessageKind, order: dict[str, Any], dedup_id: str) -> bool:
        """One message; a failed send is logged and left for the next sweep (the order stays
        listed), so it never stops this sweep for the orders after it."""
        message = OrderMessage(
            kind=kind, symbol=order["symbol"], order_id=order["id"], user_id=order["user_id"]
        )
        try:
            self.queue.send(message, dedup_id=dedup_id)
        except Exception:
            logger.exception("sweep send failed; next sweep", order_id=order["id"], kind=kind)
            return False
        return True

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
                sent += self._send("expire", order, f"expire-{order['id']}")
        return sent

    def requeue_pending(self, now: int | None = None) -> int:
        """Re-send what the index says the matcher has not been told; returns messages sent."""
        now = now if now is not None else now_ms()
        bucket = now // DEDUP_WINDOW_MS
        sent = 0
        for key in self.store.pending_orders(now - self.pending_grace_ms):
            user_id, order_id = key["pk"].split("#", 1)[1], key["sk"].split("#", 1)[1]
            order = self.store.order(user_id, order_id)
            if order is None:
                continue
            final = order["status"] not in NON_FINAL
            if final or (order["status"] != "pending" and not order.get("cancel_requested")):
                self.store.leave_pending_index(user_id, order_id)  # nothing left to tell the matcher
                continue
            if order["status"] == "pending":
                logger.warning("re-enqueueing a pending order", order_id=order_id, symbol=order["symbol"])
                sent += self._send("new", order, f"{order_id}-{bucket}")
            if order.get("cancel_requested"):
                logger.warning("re-sending a cancel", order_id=order_id, symbol=order["symbol"])
                sent += self._send("cancel", order, f"cancel-{order_id}-{bucket}")
        return sent
