"""After the load: wait until the system is quiet, then check the WebSocket side against the stored
state (the conservation checker checks the stored state itself).

WebSocket rules (../shared/API.md, "WebSocket"): per order, on its user's connection, ORDER_ACCEPTED,
then one ORDER_FILLED per fill (in fill order), then its final event if it did not fill completely;
every stored fill, trade and final state has its event; duplicates only identical (counted);
TRADE_EXECUTED sequences per stock 1..n without gap, in order; ORDER_BOOK_UPDATED in version order.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from tools.conservation.records import Snapshot
from tools.conservation.rules import Violation

FINAL_EVENT = {"cancelled": "ORDER_CANCELLED", "expired": "ORDER_EXPIRED", "rejected": "ORDER_REJECTED"}
ORDER_EVENTS = {"ORDER_ACCEPTED", "ORDER_FILLED", *FINAL_EVENT.values()}


def _aws(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@dataclass
class Queues:
    """The local stack's queues, read through moto."""

    endpoint: str

    def __post_init__(self) -> None:
        self.sqs = _aws("sqs", self.endpoint)
        self.urls = self.sqs.list_queues().get("QueueUrls", [])

    def depth(self, url: str) -> int:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(attrs.get(n, 0)) for n in names)

    def work(self) -> int:
        """Messages still to be handled: the orders queue (not the dead-letter queues)."""
        return sum(self.depth(u) for u in self.urls if "OrdersQueue" in u and "Dead" not in u)

    def dead(self) -> dict[str, int]:
        return {u.rsplit("/", 1)[-1]: self.depth(u) for u in self.urls if "Dead" in u or "Failure" in u}


def pending_count(endpoint: str) -> int:
    resp = _aws("dynamodb", endpoint).query(
        TableName="ExchangeTable",
        IndexName="pending_orders",
        KeyConditionExpression="pending_shard = :s",
        ExpressionAttributeValues={":s": {"S": "PENDING"}},
        Select="COUNT",
    )
    return int(resp["Count"])


@dataclass
class Quiet:
    seconds: float  # until everything was quiet (or the timeout)
    reached: bool
    pending: int
    queued: int
    backend_seconds: float | None = None  # until the queue was empty and nothing pending


def trade_counts(endpoint: str, symbols: list[str]) -> dict[str, int]:
    ddb = _aws("dynamodb", endpoint)
    return {
        s: int(
            ddb.query(
                TableName="ExchangeTable",
                KeyConditionExpression="pk = :p",
                ExpressionAttributeValues={":p": {"S": f"TRADES#{s}"}},
                Select="COUNT",
                ConsistentRead=True,
            )["Count"]
        )
        for s in symbols
    }


def quiesce(
    endpoint: str,
    last_event_at: Any,
    timeout: float,
    quiet_s: float = 4.0,
    caught_up: Callable[[dict[str, int]], bool] | None = None,
    symbols: list[str] | None = None,
) -> Quiet:
    """Wait (bounded) until the orders queue is empty, nothing is pending, every connection has
    every trade (caught_up(trade counts); the notifier lags the backend by minutes under load) and
    no event has arrived for quiet_s seconds. last_event_at() -> monotonic time of the newest
    WebSocket message."""
    started = time.monotonic()
    queues = Queues(endpoint)
    queued = pending = -1
    backend: float | None = None
    counts: dict[str, int] = {}
    while time.monotonic() - started < timeout:
        queued = queues.work()
        pending = pending_count(endpoint) if queued == 0 else -1
        if queued == 0 and pending == 0:
            if backend is None:
                backend = time.monotonic() - started
                counts = trade_counts(endpoint, symbols or [])
            ws_done = caught_up is None or caught_up(counts)
            if ws_done and time.monotonic() - last_event_at() >= quiet_s:
                return Quiet(time.monotonic() - started, True, 0, 0, backend)
        else:
            backend = None
        time.sleep(1.0)
    return Quiet(time.monotonic() - started, False, pending, queued, backend)


@dataclass
class WsReport:
    events: int = 0
    identical_duplicates: int = 0
    by_type: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    violations: list[Violation] = field(default_factory=list)

    def bad(self, rule: str, message: str, *ids: str) -> None:
        self.violations.append(Violation(rule, message, ids))


def _order_key(msg: dict[str, Any]) -> tuple[str, ...]:
    if msg["type"] == "ORDER_FILLED":
        return ("ORDER_FILLED", str(msg["data"]["fill"]["trade_id"]))
    return (msg["type"],)


def check_connection(
    report: WsReport,
    user_id: str,
    messages: list[tuple[str, dict[str, Any]]],
    snap: Snapshot,
    symbols: list[str],
) -> None:
    """One trader's connection: its own orders' events, and every stock channel it subscribed to."""
    seen: dict[tuple[str, ...], str] = {}  # event identity -> raw text (first copy)
    portfolio: set[str] = set()
    per_order: dict[str, list[tuple[str, ...]]] = defaultdict(list)  # first copies, arrival order
    for raw, msg in messages:
        kind = str(msg.get("type"))
        report.events += 1
        report.by_type[kind] += 1
        data = msg.get("data") or {}
        if kind in ORDER_EVENTS:
            key: tuple[str, ...] = (data["id"], *_order_key(msg))
        elif kind == "TRADE_EXECUTED":
            key = ("trade", data["symbol"], str(data["sequence"]))
        elif kind == "ORDER_BOOK_UPDATED":
            key = ("book", data["symbol"], str(data["sequence"]))
        else:  # PORTFOLIO_UPDATED: a snapshot of balances, not checked one by one; repeats counted
            if raw in portfolio:
                report.identical_duplicates += 1
            portfolio.add(raw)
            continue
        if key in seen:
            if seen[key] == raw:
                report.identical_duplicates += 1
            else:
                report.bad("ws_duplicate_differs", f"{kind} delivered twice, differently", user_id, *key)
            continue
        seen[key] = raw
        if kind in ORDER_EVENTS:
            per_order[data["id"]].append(key[1:])
    _check_orders(report, user_id, per_order, seen, snap)
    _check_stock_channels(report, user_id, seen, snap, symbols)


def _check_orders(
    report: WsReport,
    user_id: str,
    per_order: dict[str, list[tuple[str, ...]]],
    seen: dict[tuple[str, ...], str],
    snap: Snapshot,
) -> None:
    fills_of: dict[str, list[str]] = defaultdict(list)
    for f in sorted(snap.fills, key=lambda f: f.seq):
        if f.user_id == user_id:
            fills_of[f.order_id].append(f.trade_id)
    for order in snap.orders.values():
        if order.user_id != user_id or order.status == "pending":
            continue
        got = per_order.get(order.id, [])
        expected = [("ORDER_ACCEPTED",)] + [("ORDER_FILLED", t) for t in fills_of[order.id]]
        if order.status in FINAL_EVENT:
            expected.append((FINAL_EVENT[order.status],))
        if got == expected:
            continue
        missing = [e[0] for e in expected if e not in got]
        extra = [g[0] for g in got if g not in expected]
        if missing or extra:
            report.bad(
                "ws_order_events",
                f"{order.status} order: missing {missing}, unexpected {extra}",
                order.id,
                user_id,
            )
        else:
            report.bad("ws_order_sequence", f"events out of order: {[g[0] for g in got]}", order.id, user_id)


def _check_stock_channels(
    report: WsReport, user_id: str, seen: dict[tuple[str, ...], str], snap: Snapshot, symbols: list[str]
) -> None:
    trades: dict[str, int] = defaultdict(int)
    for t in snap.trades:
        trades[t.symbol] += 1
    arrived: dict[str, list[int]] = defaultdict(list)
    books: dict[str, list[int]] = defaultdict(list)
    for key in seen:  # dicts keep insertion (= first arrival) order
        if key[0] == "trade":
            arrived[key[1]].append(int(key[2]))
        elif key[0] == "book":
            books[key[1]].append(int(key[2]))
    for symbol in symbols:
        seqs = arrived[symbol]
        if sorted(seqs) != list(range(1, trades[symbol] + 1)):
            missing = sorted(set(range(1, trades[symbol] + 1)) - set(seqs))
            report.bad(
                "ws_trade_sequence",
                f"{symbol}: {len(seqs)} TRADE_EXECUTED of {trades[symbol]} trades, missing {missing[:10]}",
                symbol,
                user_id,
            )
        elif seqs != sorted(seqs):
            report.bad("ws_trade_order", f"{symbol}: TRADE_EXECUTED out of sequence order", symbol, user_id)
        if books[symbol] != sorted(books[symbol]):
            report.bad("ws_book_order", f"{symbol}: ORDER_BOOK_UPDATED out of version order", symbol, user_id)


def replay_violations(
    api: str, email: str, password: str, symbols: list[str]
) -> tuple[dict[str, str], list[str]]:
    """Each stock's audit log replayed through the engine alone against its stored trades and book
    (``python -m tools.replay``, issue 10): the verdicts, and a violation per stock not identical."""
    from tools.replay import Client, replay_all

    client = Client.login(api, email, password)
    verdicts = replay_all(client, symbols, settle_s=10, out=lambda line: print(f"chaos: replay {line}"))
    return verdicts, [f"replay_identical: {s}: {v}" for s, v in verdicts.items() if v != "identical"]
