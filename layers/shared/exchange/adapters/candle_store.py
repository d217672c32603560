"""Candles in the exchange table: one partition per stock and interval, sorted by the interval's
start, so a time range is one key range (a read costs the candles it returns, whatever the
history). The matcher writes them in its batch transaction (``candle_op``); the api reads them,
and once per older stock writes the candles of the trades it had before candles were kept.
"""

from __future__ import annotations

from typing import Any

from exchange import keys
from exchange.adapters.dynamo import (
    BATCH_GET_ATTEMPTS,
    ConditionFailed,
    Item,
    Op,
    RetriesExhausted,
    Table,
    backoff_delay,
    to_item,
)
from exchange.domain.batch import CandleWrite
from exchange.domain.candles import Candle, TradePoint

_CANDLE_FIELDS = ("open", "high", "low", "close", "volume", "first_seq", "last_seq")
BATCH_WRITE = 25  # DynamoDB's limit of one BatchWriteItem


# ---------------------------------------------------------------------- candles <-> items
def candle_key(symbol: str, interval: str, start: int, *, backfilled: bool = False) -> tuple[str, str]:
    pk = keys.backfilled_candles(symbol, interval) if backfilled else keys.candles(symbol, interval)
    return pk, keys.candle_sk(start)


def candle_to_item(symbol: str, c: Candle, *, backfilled: bool = False) -> Item:
    pk, sk = candle_key(symbol, c.interval, c.start, backfilled=backfilled)
    item: Item = {"pk": pk, "sk": sk, "type": "candle", "symbol": symbol, "interval": c.interval}
    item["start"] = c.start
    return item | {f: getattr(c, f) for f in _CANDLE_FIELDS}


def candle_from_item(item: Item) -> Candle:
    return Candle(item["interval"], int(item["start"]), *(int(item[f]) for f in _CANDLE_FIELDS))


def candle_op(table: str, w: CandleWrite) -> Op:
    """The matcher's write of a candle's new state, conditional on the state it was computed from
    (the book version already serialises the stock's commits; this makes a lost update impossible
    even so)."""
    if w.expected_last_seq is None:
        return Op("Put", table, item=candle_to_item(w.symbol, w.candle), condition="attribute_not_exists(pk)")
    return Op(
        "Put",
        table,
        item=candle_to_item(w.symbol, w.candle),
        condition="last_seq = :ls",
        values={":ls": w.expected_last_seq},
    )


# ---------------------------------------------------------------------- the store
class CandleStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def candles(
        self, symbol: str, interval: str, first: int, last: int, *, backfilled: bool = False
    ) -> list[Candle]:
        """The stored candles of ``interval`` whose start is in [first, last], oldest first: one key
        range of one partition, so DynamoDB reads just those (``backfilled``: the candles of the
        trades from before candles were kept)."""
        pk = candle_key(symbol, interval, 0, backfilled=backfilled)[0]
        items = self.table.query_all(
            "pk = :p AND sk BETWEEN :a AND :b",
            {":p": pk, ":a": keys.candle_sk(first), ":b": keys.candle_sk(last)},
        )
        return [candle_from_item(i) for i in items]

    # ------------------------------------------------------------------ the one-off backfill
    def trades_through(self, symbol: str, last_seq: int) -> list[TradePoint]:
        """Trades 1..``last_seq`` of the stock, strongly consistent."""
        items = self.table.query_all(
            "pk = :p AND sk <= :s",
            {":p": keys.trades(symbol), ":s": keys.seq_sk(last_seq)},
            consistent=True,
        )
        return [
            TradePoint(int(t["seq"]), int(t["executed_at"]), int(t["price"]), int(t["quantity"]))
            for t in items
        ]

    def put_backfilled(self, symbol: str, candles: list[Candle]) -> None:
        """Idempotent Puts (the trades they come from never change), 25 to a BatchWriteItem."""
        requests = [
            {"PutRequest": {"Item": to_item(candle_to_item(symbol, c, backfilled=True))}} for c in candles
        ]
        for start in range(0, len(requests), BATCH_WRITE):
            pending: dict[str, Any] = {self.table.name: requests[start : start + BATCH_WRITE]}
            for attempt in range(BATCH_GET_ATTEMPTS + 1):
                pending = (
                    self.table.client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
                )
                if not pending:
                    break
                if attempt == BATCH_GET_ATTEMPTS:
                    raise RetriesExhausted(f"BatchWriteItem on {self.table.name}: items left unprocessed")
                self.table.sleep(backoff_delay(attempt))

    def mark_backfilled(self, symbol: str, through_seq: int) -> bool:
        """Record on the STOCK item that the backfilled candles hold trades 1..``through_seq``: the
        trades before the matcher's first aggregated one (``candles_from``), or all of them if it
        has aggregated none yet. False if that no longer holds (read the stock again)."""
        try:
            self.table.update(
                keys.stock(symbol),
                keys.STOCK,
                "SET candles_backfilled = :t",
                condition="candles_from = :next OR (attribute_not_exists(candles_from) AND trade_seq = :t)",
                values={":t": through_seq, ":next": through_seq + 1},
            )
        except ConditionFailed:
            return False
        return True
