"""The matcher's storage in the exchange table: records <-> items, and one batch as one conditional
TransactWriteItems (book version n -> n+1 and everything matched against n)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from botocore.exceptions import ClientError

from exchange import book_codec, keys
from exchange.adapters.audit_log import log_item
from exchange.adapters.candle_store import candle_from_item, candle_key, candle_op
from exchange.adapters.dynamo import Item, Op, Table, TransactionFailed
from exchange.adapters.order_items import order_from_item, order_to_item
from exchange.domain.batch import BatchCommit, BookWrite, HoldingWrite, OrderWrite, StockWrite
from exchange.domain.candles import CandleKey
from exchange.domain.errors import StaleState
from exchange.domain.records import Holding, Order, OrderFill, Stock, StoredBook, Trade
from exchange.usecases.matching.port import Counterparties, Loaded

# a concurrent transaction on one of the items: nothing was written, reload and try again
_CONFLICTS = ("TransactionConflictException", "TransactionInProgressException")

# ---------------------------------------------------------------------- records <-> items
def holding_from_item(user_id: str, symbol: str, item: Item | None) -> Holding:
    if item is None:
        return Holding(user_id, symbol)
    return Holding(
        user_id,
        symbol,
        int(item.get("available", 0)),
        int(item.get("reserved", 0)),
        int(item.get("cost_basis", 0)),
        int(item.get("realized_pnl", 0)),
        exists="cost_basis" in item,
    )


def stock_from_item(item: Item) -> Stock:
    return Stock(
        symbol=item["symbol"],
        reference_price=int(item["reference_price"]),
        trade_seq=int(item.get("trade_seq", 0)),
        last_price=item.get("last_price"),
        day=item.get("day"),
        open=item.get("open"),
        high=item.get("high"),
        low=item.get("low"),
        volume=int(item.get("volume", 0)),
        updated_at=int(item.get("updated_at", 0)),
        candles_from=item.get("candles_from"),
        status=item.get("status", "trading"),
    )


def book_from_item(item: Item) -> StoredBook:
    bids, asks = book_codec.levels(item)
    return StoredBook(
        symbol=item["symbol"],
        version=int(item["version"]),
        next_seq=int(item.get("next_seq", 1)),
        bids=bids,
        asks=asks,
        partial=bool(item.get("partial", False)),
        updated_at=int(item.get("updated_at", 0)),
        # books written before the sequence was kept apart from the version continue from their version
        sequence=int(item["sequence"] if "sequence" in item else item["version"]),
        log_seq=int(item.get("log_seq", 0)),
        resume=(str(r[0]), str(r[1]), int(r[2])) if (r := item.get("resume")) else None,
        stops=(int(d[0]), int(d[1])) if (d := item.get("stops")) else (0, 0),
    )


def book_to_item(b: BookWrite) -> Item:
    """The levels and events compressed (exchange/book_codec.py): the item is written every batch."""
    return {
        "pk": keys.stock(b.symbol),
        "sk": keys.BOOK,
        "symbol": b.symbol,
        "version": b.version,
        "next_seq": b.next_seq,
        "partial": b.partial,
        "updated_at": b.updated_at,
        "sequence": b.sequence,
        "log_seq": b.log_seq,
        **({"resume": list(b.resume)} if b.resume else {}),
        **({"stops": list(b.stops)} if b.stops != (0, 0) else {}),
        **book_codec.encode(b.bids, b.asks, b.events),
    }


def trade_to_item(t: Trade) -> Item:
    return {
        "pk": keys.trades(t.symbol),
        "sk": keys.seq_sk(t.seq),
        "type": "trade",
        "id": t.id,
        "symbol": t.symbol,
        "seq": t.seq,
        "price": t.price,
        "quantity": t.quantity,
        "aggressor_side": t.aggressor_side,
        "executed_at": t.executed_at,
        "buy_order_id": t.buy_order_id,
        "sell_order_id": t.sell_order_id,
    }


def fill_to_item(f: OrderFill) -> Item:
    return {
        "pk": keys.user(f.user_id),
        "sk": keys.fill_sk(f.order_id, f.seq),
        "type": "fill",
        "trade_id": f.trade_id,
        "order_id": f.order_id,
        "user_id": f.user_id,
        "symbol": f.symbol,
        "side": f.side,
        "price": f.price,
        "quantity": f.quantity,
        "liquidity": f.liquidity,
        "executed_at": f.executed_at,
        "gsi1pk": keys.user_fills_gsi(f.user_id),
        "gsi1sk": f"{f.executed_at:015d}#{keys.seq_sk(f.seq)}#{f.order_id}",
    }


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


# ---------------------------------------------------------------------- the store
class DynamoMatcherStore:
    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table = Table(table_name, client)

    def load(self, symbol: str, refs: Sequence[tuple[str, str]]) -> Loaded:
        book_key, stock_key = (keys.stock(symbol), keys.BOOK), (keys.stock(symbol), keys.STOCK)
        order_keys = [(keys.user(u), keys.order_sk(o)) for u, o in refs]
        found = self.table.get_many([book_key, stock_key, *order_keys])
        book, stock = found.get(book_key), found.get(stock_key)
        return Loaded(
            book_from_item(book) if book else None,
            stock_from_item(stock) if stock else None,
            {item["id"]: order_from_item(item) for k in order_keys if (item := found.get(k))},
        )

    def resting_orders(self, symbol: str) -> list[Order]:
        items = self.table.query_all("book_symbol = :s", {":s": symbol}, index="open_orders")
        return [order_from_item(i) for i in items]

    def counterparties(
        self,
        symbol: str,
        makers: Sequence[tuple[str, str]],
        user_ids: Sequence[str],
        candles: Sequence[CandleKey] = (),
    ) -> Counterparties:
        order_keys = [(keys.user(u), keys.order_sk(o)) for u, o in makers]
        holding_keys = {u: (keys.user(u), keys.holding_sk(symbol)) for u in user_ids}
        candle_keys = {ck: candle_key(symbol, *ck) for ck in candles}
        found = self.table.get_many([*order_keys, *holding_keys.values(), *candle_keys.values()])
        return Counterparties(
            {item["id"]: order_from_item(item) for k in order_keys if (item := found.get(k))},
            {u: holding_from_item(u, symbol, found.get(k)) for u, k in holding_keys.items()},
            {ck: candle_from_item(item) for ck, k in candle_keys.items() if (item := found.get(k))},
        )

    def commit(self, batch: BatchCommit) -> None:
        ops = self._ops(batch)
        assert len(ops) == batch.op_count(), "the transaction must hold what op_count says"
        try:
            self.table.transact(ops)
        except TransactionFailed as exc:
            raise StaleState(f"matcher batch for {batch.symbol} refused: {exc.reasons}") from exc
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _CONFLICTS:
                raise StaleState(f"matcher batch for {batch.symbol} conflicted: {exc}") from exc
            raise

    # ------------------------------------------------------------------ the transaction
    def _ops(self, c: BatchCommit) -> list[Op]:
        t, now = self.table.name, c.book.updated_at
        ops = [
            Op(
                "Put",
                t,
                item=book_to_item(c.book),
                condition="version = :v",
                values={":v": c.expected_version},
            )
        ]
        if c.stock is not None or c.status is not None:
            ops.append(self._stock_op(c.symbol, c.stock, c.status))
        ops += [self._order_op(w) for w in c.orders.values()]
        ops += [Op("Put", t, item=fill_to_item(f), condition="attribute_not_exists(pk)") for f in c.fills]
        ops += [Op("Put", t, item=trade_to_item(tr), condition="attribute_not_exists(pk)") for tr in c.trades]
        for uid, d in c.cash.items():
            ops.append(
                Op(
                    "Update",
                    t,
                    key={"pk": keys.user(uid), "sk": keys.CASH},
                    update="ADD available :a, reserved :r SET updated_at = :t",
                    condition="attribute_exists(pk)",
                    values={":a": d.available, ":r": d.reserved, ":t": now},
                )
            )
        ops += [self._holding_op(h, now) for h in c.holdings.values()]
        ops += [candle_op(t, w) for w in c.candles]
        if c.log:  # the inputs whose effects this commit starts: one item, never written twice
            ops.append(Op("Put", t, item=log_item(c.symbol, c.log), condition="attribute_not_exists(pk)"))
        return ops

    def _stock_op(self, symbol: str, s: StockWrite | None, status: str | None) -> Op:
        attrs: dict[str, Any] = {} if s is None else {f.name: getattr(s, f.name) for f in fields(s)}
        if status is not None:
            attrs["status"] = status
        return Op(
            "Update",
            self.table.name,
            key={"pk": keys.stock(symbol), "sk": keys.STOCK},
            update="SET " + ", ".join(f"#k{i} = :v{i}" for i in range(len(attrs))),
            names={f"#k{i}": k for i, k in enumerate(attrs)},
            values={f":v{i}": v for i, v in enumerate(attrs.values())},
            condition="attribute_exists(pk)",
        )

    def _order_op(self, w: OrderWrite) -> Op:
        return Op(
            "Put",
            self.table.name,
            item=order_to_item(w.order),
            # cancel_requested too: the api may set it meanwhile, and a Put must not lose it
            condition="#st = :st AND filled_quantity = :f AND cancel_requested = :cr",
            names={"#st": "status"},
            values={":st": w.expected_status, ":f": w.expected_filled, ":cr": w.expected_cancel_requested},
        )

    def _holding_op(self, h: HoldingWrite, now: int) -> Op:
        values: dict[str, Any] = {
            ":a": h.available_delta,
            ":r": h.reserved_delta,
            ":c": h.cost_basis,
            ":p": h.realized_pnl,
            ":u": h.user_id,
            ":s": h.symbol,
            ":t": now,
        }
        update = (
            "ADD available :a, reserved :r "
            "SET cost_basis = :c, realized_pnl = :p, user_id = :u, symbol = :s, updated_at = :t"
        )
        if h.mark_price is not None:
            update += ", mark_price = :m"
            values[":m"] = h.mark_price
        if h.expected_cost_basis is None:
            condition = "attribute_not_exists(cost_basis)"
        else:
            condition = "cost_basis = :old"
            values[":old"] = h.expected_cost_basis
        return Op(
            "Update",
            self.table.name,
            key={"pk": keys.user(h.user_id), "sk": keys.holding_sk(h.symbol)},
            update=update,
            condition=condition,
            values=values,
        )
