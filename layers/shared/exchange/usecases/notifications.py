"""Committed changes (DynamoDB stream records) -> the contract's WebSocket events.

Matcher events travel inside the stock's BOOK item (one item, so its stream records arrive in
version order); portfolio events come from the CASH and HOLDING items themselves. A record is
turned into events from its images, so a redelivered record yields identical events: a holding is
valued at the ``mark_price`` its writer stored on it (the stock's last price as of that write),
never at the stock's live price. One residue (docs/decisions.md, 2026-12-01): the ``cash`` part
of a HOLDING-derived event is the user's cash as read when the event is built, because no
committed image of that holding change carries the cash.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from exchange import book_codec
from exchange.adapters.connections import ConnectionStore
from exchange.domain.money import div_round_half_up
from exchange.ids import iso_ms
from exchange.observability import logger
from exchange.usecases.fanout import FanOut, Pusher, Send, post_in_order
from exchange.views import cash_view, holding_view

DEFAULT_POST_WORKERS = 16


class CashReader(Protocol):
    def cash(self, user_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Change:
    """One stream record, deserialised."""

    event_name: str  # INSERT | MODIFY | REMOVE
    old: dict[str, Any] | None
    new: dict[str, Any] | None


def events_for(change: Change, store: CashReader) -> list[dict[str, Any]]:
    new, old = change.new, change.old
    if not new:
        return []
    sk = new.get("sk", "")
    if sk == "BOOK":
        if old is not None and int(old.get("version", 0)) >= int(new.get("version", 0)):
            return []
        timestamp = iso_ms(int(new["updated_at"]))
        return [{**e, "timestamp": timestamp} for e in book_codec.events(new)]
    if sk == "CASH":
        if old and (old.get("available"), old.get("reserved")) == (new.get("available"), new.get("reserved")):
            return []
        return [
            {
                "type": "PORTFOLIO_UPDATED",
                "channel": f"user:{new['user_id']}",
                "data": {"cash": cash_view(new), "holding": None},
                "timestamp": iso_ms(int(new["updated_at"])),
            }
        ]
    if sk.startswith("HOLDING#"):
        fields = ("available", "reserved", "cost_basis")
        if old and all(old.get(f) == new.get(f) for f in fields):
            return []
        holding = holding_of_image(new)
        return [
            {
                "type": "PORTFOLIO_UPDATED",
                "channel": f"user:{new['user_id']}",
                "data": {"cash": cash_view(store.cash(new["user_id"])), "holding": holding},
                "timestamp": iso_ms(int(new["updated_at"])),
            }
        ]
    return []


def holding_of_image(h: dict[str, Any]) -> dict[str, Any]:
    """The contract's holding from the item alone: marked at its stored ``mark_price``; a holding
    written before the stock's first trade (no mark) is valued at its average cost, which for
    granted shares is the reference price the REST view uses too."""
    mark = h.get("mark_price")
    if mark is not None:
        return holding_view(h, int(mark), int(mark))
    quantity = int(h.get("available", 0)) + int(h.get("reserved", 0))
    average = div_round_half_up(int(h.get("cost_basis", 0)), quantity) if quantity else 0
    return holding_view(h, None, average)


class _BatchReads:
    """The reads one batch makes, each made once: a user's cash is read after every record of the
    batch was committed (the records were fetched from the stream before), as a read per record is."""

    def __init__(self, store: CashReader) -> None:
        self.store = store
        self._cash: dict[str, dict[str, Any]] = {}

    def cash(self, user_id: str) -> dict[str, Any]:
        if user_id not in self._cash:
            self._cash[user_id] = self.store.cash(user_id)
        return self._cash[user_id]


@dataclass
class Notifier:
    store: CashReader
    connections: ConnectionStore
    pusher: Pusher
    workers: int = DEFAULT_POST_WORKERS  # connections posted to at once; 1: one after another

    def notify(self, changes: Sequence[Change]) -> FanOut:
        """One stream batch: every record's events to every connection subscribed to their channel,
        in record order per connection. ``failed``: the first record not fully delivered (a record
        whose events cannot be built or whose subscribers cannot be read fails with every later one)."""
        reads = _BatchReads(self.store)
        subscribers: dict[str, list[str]] = {}  # one Query per channel per batch
        sends: dict[str, list[Send]] = {}
        failed: int | None = None
        for index, change in enumerate(changes):
            try:
                events = events_for(change, reads)
                for event in events:
                    channel = event["channel"]
                    if channel not in subscribers:
                        subscribers[channel] = self.connections.subscribers(channel)
            except Exception:
                logger.exception("record failed", record=index)
                failed = index
                break
            for event in events:
                data = json.dumps(event, separators=(",", ":")).encode()
                for connection_id in subscribers[event["channel"]]:
                    sends.setdefault(connection_id, []).append((index, data))
        out = post_in_order(self.pusher, sends, self.connections.disconnect, workers=self.workers)
        if failed is not None and (out.failed is None or out.failed > failed):
            return FanOut(out.sent, failed, out.gone)
        return out
