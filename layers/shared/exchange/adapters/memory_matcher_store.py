"""The matcher's storage in memory: the same port and conditions as the DynamoDB adapter (one
contract test suite runs against both), for fast settlement tests. Not for production."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from exchange.domain.batch import BatchCommit, BookWrite, LogInput
from exchange.domain.candles import Candle, CandleKey
from exchange.domain.errors import StaleState
from exchange.domain.records import Holding, Order, OrderFill, Stock, StoredBook, Trade
from exchange.usecases.matching.port import Counterparties, Loaded


@dataclass
class Cash:
    available: int
    reserved: int = 0


@dataclass
class MemoryMatcherStore:
    books: dict[str, StoredBook] = field(default_factory=dict)
    stocks: dict[str, Stock] = field(default_factory=dict)
    order_items: dict[str, Order] = field(default_factory=dict)
    holding_items: dict[tuple[str, str], Holding] = field(default_factory=dict)
    cash: dict[str, Cash] = field(default_factory=dict)
    trades: dict[tuple[str, int], Trade] = field(default_factory=dict)
    fills: dict[tuple[str, str, int], OrderFill] = field(default_factory=dict)
    mark_prices: dict[tuple[str, str], int] = field(default_factory=dict)
    candles: dict[tuple[str, str, int], Candle] = field(default_factory=dict)  # (symbol, interval, start)
    written_books: list[BookWrite] = field(default_factory=list)
    log: dict[tuple[str, int], LogInput] = field(default_factory=dict)  # (symbol, seq): the audit log
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # ------------------------------------------------------------------ the port
    def load(self, symbol: str, refs: Sequence[tuple[str, str]]) -> Loaded:
        s = self.stocks.get(symbol)
        return Loaded(self.books.get(symbol), dataclasses.replace(s) if s else None, self._orders(refs))

    def resting_orders(self, symbol: str) -> list[Order]:
        resting = [o for o in self.order_items.values() if o.symbol == symbol and o.book_seq is not None]
        return [dataclasses.replace(o) for o in sorted(resting, key=lambda o: o.book_seq or 0)]

    def counterparties(
        self,
        symbol: str,
        makers: Sequence[tuple[str, str]],
        user_ids: Sequence[str],
        candles: Sequence[CandleKey] = (),
    ) -> Counterparties:
        holdings = {u: self.holding_items.get((u, symbol), Holding(u, symbol)) for u in user_ids}
        found = {k: c for k in candles if (c := self.candles.get((symbol, *k))) is not None}
        return Counterparties(self._orders(makers), holdings, found)

    def _orders(self, refs: Sequence[tuple[str, str]]) -> dict[str, Order]:
        found = (self.order_items.get(oid) for user, oid in refs)
        return {o.id: dataclasses.replace(o) for o in found if o is not None}

    def commit(self, batch: BatchCommit) -> None:
        with self._lock:
            failed = self._failed_conditions(batch)
            if failed:
                raise StaleState(f"matcher batch for {batch.symbol} refused: {failed}")
            self._apply(batch)

    # ------------------------------------------------------------------ conditions, then writes
    def _failed_conditions(self, c: BatchCommit) -> list[str]:
        failed = []
        stored = self.books.get(c.symbol)
        if stored is None or stored.version != c.expected_version:
            failed.append("book version")
        if (c.stock is not None or c.status is not None) and c.symbol not in self.stocks:
            failed.append("stock")
        for oid, w in c.orders.items():
            o = self.order_items.get(oid)
            if o is None or (o.status, o.filled_quantity, o.cancel_requested) != (
                w.expected_status,
                w.expected_filled,
                w.expected_cancel_requested,
            ):
                failed.append(f"order {oid}")
        failed += [f"fill {f.order_id}" for f in c.fills if (f.user_id, f.order_id, f.seq) in self.fills]
        failed += [f"trade {t.seq}" for t in c.trades if (t.symbol, t.seq) in self.trades]
        failed += [f"cash {u}" for u in c.cash if u not in self.cash]
        failed += [f"log {e.seq}" for e in c.log if (c.symbol, e.seq) in self.log]
        for uid, h in c.holdings.items():
            current = self.holding_items.get((uid, h.symbol))
            exists = current is not None and current.exists
            if h.expected_cost_basis is None and exists:
                failed.append(f"holding {uid} exists")
            if h.expected_cost_basis is not None and (
                current is None or not exists or current.cost_basis != h.expected_cost_basis
            ):
                failed.append(f"holding {uid} cost basis")
        for cw in c.candles:
            stored_candle = self.candles.get((cw.symbol, cw.candle.interval, cw.candle.start))
            if (stored_candle.last_seq if stored_candle else None) != cw.expected_last_seq:
                failed.append(f"candle {cw.candle.interval}@{cw.candle.start}")
        return failed

    def _apply(self, c: BatchCommit) -> None:
        b = c.book
        self.books[c.symbol] = StoredBook(
            c.symbol,
            b.version,
            b.next_seq,
            b.bids,
            b.asks,
            b.partial,
            b.updated_at,
            b.sequence,
            log_seq=b.log_seq,
            resume=b.resume,
            stops=b.stops,
        )
        self.log.update({(c.symbol, e.seq): e for e in c.log})
        self.written_books.append(b)
        if c.stock is not None:
            self.stocks[c.symbol] = dataclasses.replace(self.stocks[c.symbol], **dataclasses.asdict(c.stock))
        if c.status is not None:
            self.stocks[c.symbol] = dataclasses.replace(self.stocks[c.symbol], status=c.status)
        for oid, w in c.orders.items():
            self.order_items[oid] = dataclasses.replace(w.order)
        self.fills.update({(f.user_id, f.order_id, f.seq): f for f in c.fills})
        self.trades.update({(t.symbol, t.seq): t for t in c.trades})
        for uid, d in c.cash.items():
            self.cash[uid].available += d.available
            self.cash[uid].reserved += d.reserved
        for uid, h in c.holdings.items():
            old = self.holding_items.get((uid, h.symbol), Holding(uid, h.symbol))
            self.holding_items[(uid, h.symbol)] = Holding(
                uid,
                h.symbol,
                old.available + h.available_delta,
                old.reserved + h.reserved_delta,
                h.cost_basis,
                h.realized_pnl,
                exists=True,
            )
            if h.mark_price is not None:
                self.mark_prices[(uid, h.symbol)] = h.mark_price
        self.candles.update({(w.symbol, w.candle.interval, w.candle.start): w.candle for w in c.candles})
