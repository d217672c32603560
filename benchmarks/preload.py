"""`bench_load --preload N`: store N orders and their trades in a running local stack, fast.

The orders are made by the application's own use cases (``Orders.place``, then ``Matcher.process``
per stock, ten messages a batch as the queue delivers them) with their own adapters and item
serialisation, run in this process against an in-memory table (``memory_dynamo``) that starts as a
copy of the stack's exchange table. Every CHUNK orders, every item the use cases wrote (orders,
fills, trades, cash, holdings, the stock and book items, and whatever else the matcher's
transaction writes, such as pre-aggregated candles) is written to the stack's moto with
BatchWriteItem, and the finished items (final orders, fills, trades) leave the in-memory table so
it stays small. The stored data is what the real reads hit: users' order lists, their fills (and
the fills index), the stocks' trades, books and stock items; each write also reaches the table's
stream, as on AWS (the notifier reads past them: no event comes of them).

The orders are pairs on one stock between two of the given users: a resting sell and a crossing
buy of the same quantity at one price (a random walk of ticks around 100.00), so each pair makes
two filled orders, one trade and two fills. The stack must be quiet while this runs (the bench
preloads before any trader connects); its matcher then finds a newer book version and rebuilds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import boto3

TABLE = "ExchangeTable"
CHUNK = 2_000  # orders simulated between two writes to the stack
FINAL = {"filled", "cancelled", "expired", "rejected"}


def _scan(client: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": TABLE}
    while True:
        resp = client.scan(**kwargs)
        items += resp.get("Items", [])
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def _finished(item: dict[str, Any]) -> bool:
    """Never read again by the preload's use cases: final orders, fills, trades."""
    pk, sk = item["pk"], item["sk"]
    if pk.startswith("TRADES#") or sk.startswith("FILL#"):
        return True
    return sk.startswith("ORDER#") and item.get("status") in FINAL


def _write(client: Any, items: list[dict[str, Any]], threads: int = 4) -> None:
    chunks = [items[i : i + 25] for i in range(0, len(items), 25)]

    def one(chunk: list[dict[str, Any]]) -> None:
        request = {TABLE: [{"PutRequest": {"Item": i}} for i in chunk]}
        while request:
            resp = client.batch_write_item(RequestItems=request)
            request = resp.get("UnprocessedItems") or {}

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, chunks))


class _Collect:
    """The orders queue, in process: the messages the api would send, for the matcher."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, message: Any, *, dedup_id: str) -> None:
        self.sent.append(message)


def preload_stack(
    moto_endpoint: str, user_ids: list[str], symbols: list[str], n: int, seed: int
) -> dict[str, Any]:
    """Store ``n`` orders (n/2 trades) of ``user_ids`` on ``symbols`` in the stack whose moto serves
    at ``moto_endpoint``. Returns what it did and how long it took."""
    from benchmarks.memory_dynamo import MemoryDynamo

    creds = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}
    remote = boto3.client("dynamodb", endpoint_url=moto_endpoint, **creds)
    t0 = time.perf_counter()
    timing = {"write_s": 0.0}
    per_item_ms: list[float] = []  # each chunk's write, per item: does storing slow down as it fills?
    writer = ThreadPoolExecutor(1)  # the stack's moto stores a chunk while the next one is made
    last: list[Future[None]] = []

    def write(batch: list[dict[str, Any]]) -> None:
        t = time.perf_counter()
        _write(remote, batch)
        timing["write_s"] += time.perf_counter() - t
        if batch:
            per_item_ms.append((time.perf_counter() - t) * 1000 / len(batch))

    def flush(batch: list[dict[str, Any]]) -> None:
        for f in last:
            f.result()
        last[:] = [writer.submit(write, batch)]

    try:
        stats = simulate(MemoryDynamo(_scan(remote)), user_ids, symbols, n, random.Random(seed), flush)
        for f in last:
            f.result()
    finally:
        writer.shutdown()
    total = time.perf_counter() - t0
    stats.update(
        {
            "simulate_s": round(stats.pop("simulate_s"), 1),
            "write_s": round(timing["write_s"], 1),
            "total_s": round(total, 1),
            "write_ms_per_item_first_last": [round(per_item_ms[0], 2), round(per_item_ms[-1], 2)]
            if per_item_ms
            else [],
        }
    )
    return stats


def simulate(
    local: Any,
    user_ids: list[str],
    symbols: list[str],
    n: int,
    rng: random.Random,
    flush: Callable[[list[dict[str, Any]]], None],
) -> dict[str, Any]:
    """``n`` orders through the real use cases on ``local`` (a MemoryDynamo); every CHUNK orders the
    changed items (serialised) go to ``flush``."""
    from exchange.adapters.exchange_store import ExchangeStore
    from exchange.adapters.matcher_store import DynamoMatcherStore
    from exchange.observability import logger
    from exchange.usecases.matching import Matcher
    from exchange.usecases.orders import OrderRequest, Orders

    assert len(user_ids) >= 2, "pairs need two users"
    prices = dict.fromkeys(symbols, 10_000)
    stats: dict[str, Any] = {"orders": 0, "trades": 0, "items_written": 0, "simulate_s": 0.0}
    queue = _Collect()
    orders = Orders(ExchangeStore(TABLE, local), queue)  # type: ignore[arg-type]
    matcher = Matcher(DynamoMatcherStore(TABLE, local), sleep=lambda _: None)
    level = logger.log_level
    logger.setLevel("WARNING")  # the matcher logs every batch
    try:
        while stats["orders"] < n:
            t1 = time.perf_counter()
            for _ in range(max(1, min(CHUNK, n - stats["orders"]) // 2)):
                sym = rng.choice(symbols)
                prices[sym] = min(10_500, max(9_500, prices[sym] + rng.randint(-2, 2)))
                seller, buyer = rng.sample(user_ids, 2)
                qty = rng.randint(1, 10)
                for user, side in ((seller, "sell"), (buyer, "buy")):
                    orders.place(user, OrderRequest(sym, side, "limit", qty, prices[sym], "gtc", None))
                stats["orders"] += 2
                stats["trades"] += 1
                if len(queue.sent) >= 10:
                    _match(matcher, queue)
            _match(matcher, queue)
            batch = local.take_dirty(finished=_finished)
            stats["simulate_s"] += time.perf_counter() - t1
            flush(batch)
            stats["items_written"] += len(batch)
    finally:
        logger.setLevel(level)
    return stats


def _match(matcher: Any, queue: _Collect) -> None:
    """The queued messages, per stock in order, as the matcher's batches (ten at most, as SQS)."""
    from exchange.usecases.matching import Message

    by_symbol: dict[str, list[Any]] = {}
    for m in queue.sent:
        by_symbol.setdefault(m.symbol, []).append(Message(m.kind, m.symbol, m.order_id, m.user_id))
    queue.sent.clear()
    for symbol, msgs in by_symbol.items():
        for i in range(0, len(msgs), 10):
            matcher.process(symbol, msgs[i : i + 10])
