"""The candles read, before (every trade of the stock, filtered) and after (the pre-aggregated
candles), at N stored trades, in one run on moto in-process. Prints the median latency and what
DynamoDB examined (ScannedCount: what AWS bills a Query for). A benchmark: prints, asserts nothing.

    PYTHONPATH=layers/shared .venv/bin/python -m tools.candle_read_bench --trades 100 5000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

os.environ.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})

import boto3
from moto import mock_aws

from exchange import keys
from exchange.adapters.candle_store import CandleStore, candle_to_item
from exchange.adapters.dynamo import Table, to_item
from exchange.adapters.exchange_store import ExchangeStore
from exchange.domain.candles import INTERVALS, TradePoint, from_trades
from exchange.usecases.market import Market
from local_stack.template import LocalTemplate

NOW = 1_767_225_600_000


def old_read(table: Table, symbol: str, interval: str, from_ms: int, to_ms: int) -> list[dict[str, Any]]:
    """The read as it was: the stock's whole trades partition, filtered to [from, to], aggregated."""
    step = INTERVALS[interval]
    items = table.query_all(
        "pk = :p",
        {":p": keys.trades(symbol), ":a": from_ms, ":b": to_ms},
        filter_expression="executed_at BETWEEN :a AND :b",
    )
    points = [
        TradePoint(int(t["seq"]), int(t["executed_at"]), int(t["price"]), int(t["quantity"])) for t in items
    ]
    return [c.__dict__ for c in from_trades(points, interval) if c.start >= from_ms // step * step]


def store_trades(ddb: Any, table: str, symbol: str, n: int) -> None:
    points = [TradePoint(i + 1, NOW - (n - i) * 7_000, 10_000 + i % 50, 1 + i % 7) for i in range(n)]
    items = [
        {
            "pk": keys.trades(symbol),
            "sk": keys.seq_sk(p.seq),
            "type": "trade",
            "id": f"t{p.seq}",
            "seq": p.seq,
        }
        | {"price": p.price, "quantity": p.quantity, "executed_at": p.executed_at, "aggressor_side": "buy"}
        for p in points
    ]
    # the candles the matcher writes for those trades (tests/integration/test_candles.py: equal)
    items += [candle_to_item(symbol, c) for iv in INTERVALS for c in from_trades(points, iv)]
    for i in range(0, len(items), 25):
        ddb.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": to_item(x)}} for x in items[i : i + 25]]}
        )
    ddb.put_item(
        TableName=table,
        Item=to_item(
            {"pk": keys.stock(symbol), "sk": keys.STOCK, "symbol": symbol, "name": symbol, "tick": 1}
            | {"reference_price": 10_000, "trade_seq": n, "candles_from": 1, "updated_at": NOW}
        ),
    )


def timed(fn: Any, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trades", type=int, nargs="+", default=[100, 5000])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    with mock_aws():
        ddb = boto3.client("dynamodb")
        for kwargs in LocalTemplate().create_table_args(streams=False).values():
            ddb.create_table(**kwargs)
        table = Table("ExchangeTable", ddb)
        market = Market(ExchangeStore("ExchangeTable", ddb))
        scanned: list[int] = []
        ddb.meta.events.register(
            "after-call.dynamodb.Query",
            lambda parsed, **_: scanned.append(int(parsed.get("ScannedCount", 0))),
        )
        print("trades stored | before: ms, items examined | after: ms, items examined | candles returned")
        for n in args.trades:
            sym = f"B{n}"
            store_trades(ddb, "ExchangeTable", sym, n)
            frm, to = NOW - 10 * 60_000, NOW  # 1m candles of the last 10 minutes: as many at any n
            assert CandleStore(table).candles(sym, "1m", frm, to)  # warm
            results = []
            for read in (
                lambda s=sym, a=frm, b=to: old_read(table, s, "1m", a, b),
                lambda s=sym, a=frm, b=to: market.candles(s, "1m", a, b),
            ):
                scanned.clear()
                read()
                examined = sum(scanned)
                results.append((timed(read, args.runs), examined))
            returned = len(market.candles(sym, "1m", frm, to))
            (b_ms, b_n), (a_ms, a_n) = results
            print(f"{n:13d} | {b_ms:8.1f} ms, {b_n:5d} | {a_ms:7.1f} ms, {a_n:5d} | {returned}")


if __name__ == "__main__":
    main()
