"""Each injected fault of LOCAL_FAULTS, fired once on purpose in the running local stack (real HTTP
and WebSocket), and survived: the fault is counted, its effect is seen, the money settles exactly.

Every test is the same trade: a seller rests 4 @ 101.50, a buyer crosses it with 3 @ 102.00 while
one fault is armed for its next opportunity (``FaultRegistry.armed``: the same hooks LOCAL_FAULTS
drives with probabilities); afterwards the buyer has 99,695.50, the seller 100,304.50 and exactly one
fill of 3 each, as without the fault.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from local_stack import faults
from local_stack.event_sources import SqsPoller
from local_stack.stack import LocalStack
from tests.e2e.conftest import WsClient, grant, place_order, settled, wait_until


@dataclass
class Cross:
    symbol: str
    seller: dict[str, Any]
    buyer: dict[str, Any]
    sell: dict[str, Any]


@pytest.fixture
def cross(http: httpx.Client, admin_token: str, register: Any, new_symbol: Any) -> Cross:
    symbol = new_symbol(reference_price="100.00")
    seller, buyer = register("seller"), register("buyer")
    grant(http, admin_token, seller, symbol, 10)
    r = place_order(http, seller, symbol, "sell", 4, "101.50")
    assert r.status_code == 201, r.text
    assert settled(http, seller, r.json()["id"])["status"] == "open"
    return Cross(symbol, seller, buyer, r.json())


def _buy(http: httpx.Client, c: Cross) -> dict[str, Any]:
    r = place_order(http, c.buyer, c.symbol, "buy", 3, "102.00")
    assert r.status_code == 201, r.text
    return dict(r.json())


def _assert_settled_once(http: httpx.Client, c: Cross, buy_id: str) -> None:
    """The trade happened exactly once and both sides are right to the cent."""
    buy = wait_until(
        lambda: (
            (o := http.get(f"/api/orders/{buy_id}", headers=c.buyer["headers"]).json())["status"] == "filled"
            and o
        ),
        timeout=20,
    )
    assert [(f["price"], f["quantity"]) for f in buy["fills"]] == [("101.50", 3)]
    assert buy["reserved_cash"] == "0.00"
    sell = http.get(f"/api/orders/{c.sell['id']}", headers=c.seller["headers"]).json()
    assert sell["status"] == "partially_filled" and sell["filled_quantity"] == 3
    assert [(f["price"], f["quantity"]) for f in sell["fills"]] == [("101.50", 3)]
    bp = http.get("/api/portfolio", headers=c.buyer["headers"]).json()
    assert bp["cash"] == {"available": "99695.50", "reserved": "0.00", "total": "99695.50"}
    assert [(h["symbol"], h["quantity"]) for h in bp["holdings"]] == [(c.symbol, 3)]
    sp = http.get("/api/portfolio", headers=c.seller["headers"]).json()
    assert sp["cash"] == {"available": "100304.50", "reserved": "0.00", "total": "100304.50"}
    assert [(h["quantity"], h["reserved_quantity"]) for h in sp["holdings"]] == [(7, 1)]
    trades = http.get(f"/api/stocks/{c.symbol}/trades").json()["trades"]
    assert [(t["price"], t["quantity"]) for t in trades] == [("101.50", 3)]


def _health_faults(http: httpx.Client) -> dict[str, int]:
    r = http.get("/api/health")
    assert r.status_code == 200, r.text
    return dict(r.json()["faults"])


def _orders_poller(stack: LocalStack) -> SqsPoller:
    return next(t for t in stack.threads if isinstance(t, SqsPoller))


def test_matcher_crash_before_commit_redelivers_after_the_visibility_timeout(
    http: httpx.Client, stack: LocalStack, cross: Cross
) -> None:
    matcher, poller = stack.functions[faults.MATCHER], _orders_poller(stack)
    cold, crashed = matcher.cold_starts, poller.crashed_invocations
    before = _health_faults(http).get(faults.MATCHER_CRASH_BEFORE_COMMIT, 0)
    with stack.faults.armed(faults.MATCHER_CRASH_BEFORE_COMMIT, functions={faults.MATCHER}):
        started = time.monotonic()
        buy = _buy(http, cross)
        _assert_settled_once(http, cross, buy["id"])
        elapsed = time.monotonic() - started
    assert _health_faults(http)[faults.MATCHER_CRASH_BEFORE_COMMIT] == before + 1
    # the invocation died: a failed batch, a new container, and the message back only after
    # VisibilityTimeout (180 s) x LOCAL_TIME_SCALE (1/60) = 3 s, as AWS would (scaled)
    assert poller.crashed_invocations == crashed + 1
    assert matcher.cold_starts == cold + 1
    assert poller.backoff_s == pytest.approx(3.0)
    assert elapsed >= 2.9


def test_matcher_crash_after_commit_settles_exactly_once(
    http: httpx.Client, stack: LocalStack, cross: Cross
) -> None:
    matcher, poller = stack.functions[faults.MATCHER], _orders_poller(stack)
    cold, crashed = matcher.cold_starts, poller.crashed_invocations
    before = _health_faults(http).get(faults.MATCHER_CRASH_AFTER_COMMIT, 0)
    with stack.faults.armed(faults.MATCHER_CRASH_AFTER_COMMIT, functions={faults.MATCHER}):
        buy = _buy(http, cross)
        wait_until(lambda: poller.crashed_invocations > crashed)
        # the commit went through before the crash: the redelivered message must not trade again
        time.sleep(poller.backoff_s + 1.0)
        _assert_settled_once(http, cross, buy["id"])
    assert _health_faults(http)[faults.MATCHER_CRASH_AFTER_COMMIT] == before + 1
    assert matcher.cold_starts == cold + 1


def test_sqs_duplicate_delivers_twice_and_trades_once(
    http: httpx.Client, stack: LocalStack, cross: Cross
) -> None:
    poller = _orders_poller(stack)
    seen = len(poller.duplicated)
    with stack.faults.armed(faults.SQS_DUPLICATE):
        buy = _buy(http, cross)
        wait_until(lambda: len(poller.duplicated) > seen)
    duplicated = poller.duplicated[seen]
    wait_until(lambda: poller.deliveries[duplicated] >= 2)
    _assert_settled_once(http, cross, buy["id"])
    assert poller.deliveries[duplicated] == 2
    assert _health_faults(http)[faults.SQS_DUPLICATE] >= 1


def test_sqs_send_lost_leaves_the_order_pending_until_the_sweep(
    http: httpx.Client, stack: LocalStack, cross: Cross
) -> None:
    before = _health_faults(http).get(faults.SQS_SEND_LOST, 0)
    with stack.faults.armed(faults.SQS_SEND_LOST, functions={faults.API}):
        buy = _buy(http, cross)
    assert _health_faults(http)[faults.SQS_SEND_LOST] == before + 1
    # the reservation is made, the message never reached the queue: nothing happens by itself
    time.sleep(2.0)
    order = http.get(f"/api/orders/{buy['id']}", headers=cross.buyer["headers"]).json()
    assert order["status"] == "pending" and order["reserved_cash"] == "306.00"
    # the schedule's sweep (every minute on AWS; here called at once, with no grace) re-enqueues it
    scheduler = stack.functions["SchedulerFunction"]
    sweeper = scheduler.module.sweeper
    grace, sweeper.pending_grace_ms = sweeper.pending_grace_ms, 0
    try:
        assert scheduler.invoke({"detail-type": "Scheduled Event", "detail": {}})["requeued"] >= 1
    finally:
        sweeper.pending_grace_ms = grace
    _assert_settled_once(http, cross, buy["id"])


def _buyer_ws(ws: Callable[..., WsClient], c: Cross) -> WsClient:
    client = ws(c.buyer["access_token"])
    client.drain(0.3)
    return client


def _fills_of(client: WsClient, order_id: str) -> list[dict[str, Any]]:
    return [m for m in client.received if m["type"] == "ORDER_FILLED" and m["data"]["id"] == order_id]


def test_ws_post_fail_is_retried_and_the_event_arrives(
    http: httpx.Client, stack: LocalStack, cross: Cross, ws: Callable[..., WsClient]
) -> None:
    client = _buyer_ws(ws, cross)
    before = _health_faults(http).get(faults.WS_POST_FAIL, 0)
    with stack.faults.armed(faults.WS_POST_FAIL, functions={faults.NOTIFIER}):
        buy = _buy(http, cross)
        client.wait_for(lambda m: m["type"] == "ORDER_FILLED" and m["data"]["id"] == buy["id"])
    client.drain(1.0)
    assert _health_faults(http)[faults.WS_POST_FAIL] == before + 1
    fills = _fills_of(client, buy["id"])
    assert fills and all(f == fills[0] for f in fills)  # a retried record repeats only identical events
    _assert_settled_once(http, cross, buy["id"])


def test_notifier_crash_after_send_retries_the_batch_with_identical_events(
    http: httpx.Client, stack: LocalStack, cross: Cross, ws: Callable[..., WsClient]
) -> None:
    notifier = stack.functions[faults.NOTIFIER]
    client = _buyer_ws(ws, cross)
    crashes, before = notifier.crashes, _health_faults(http).get(faults.NOTIFIER_CRASH_AFTER_SEND, 0)
    with stack.faults.armed(faults.NOTIFIER_CRASH_AFTER_SEND, functions={faults.NOTIFIER}):
        buy = _buy(http, cross)
        client.wait_for(lambda m: m["type"] == "ORDER_FILLED" and m["data"]["id"] == buy["id"])
        wait_until(lambda: notifier.crashes > crashes)
    client.drain(1.5)
    assert _health_faults(http)[faults.NOTIFIER_CRASH_AFTER_SEND] == before + 1
    # the first event was posted, then the invocation died: the batch came again, so that event was
    # posted twice, identically
    got = client.received
    kinds = [m["type"] for m in got]
    assert "ORDER_ACCEPTED" in kinds and "ORDER_FILLED" in kinds
    repeated = [m for i, m in enumerate(got) if m in got[:i]]
    assert repeated, kinds
    fills = _fills_of(client, buy["id"])
    assert all(f == fills[0] for f in fills)
    _assert_settled_once(http, cross, buy["id"])


def test_ddb_transaction_conflict_in_the_matcher_is_survived(
    http: httpx.Client, stack: LocalStack, cross: Cross
) -> None:
    before = _health_faults(http).get(faults.DDB_TRANSACTION_CONFLICT, 0)
    with stack.faults.armed(faults.DDB_TRANSACTION_CONFLICT, functions={faults.MATCHER}):
        buy = _buy(http, cross)
        _assert_settled_once(http, cross, buy["id"])
    assert _health_faults(http)[faults.DDB_TRANSACTION_CONFLICT] == before + 1


def _conflicted_place(http: httpx.Client, stack: LocalStack, cross: Cross) -> httpx.Response | None:
    """None: no response at all (today the unhandled 500 reaches the client as a connection reset)."""
    before = _health_faults(http).get(faults.DDB_TRANSACTION_CONFLICT, 0)
    # a connection of its own: after an unhandled error uvicorn drops the connection
    with (
        stack.faults.armed(faults.DDB_TRANSACTION_CONFLICT, functions={faults.API}),
        httpx.Client(base_url=http.base_url, timeout=10) as once,
    ):
        try:
            r: httpx.Response | None = place_order(once, cross.buyer, cross.symbol, "buy", 3, "102.00")
        except httpx.TransportError:
            r = None
    # the fault fired on the reservation transaction
    assert _health_faults(http)[faults.DDB_TRANSACTION_CONFLICT] == before + 1
    return r


def test_ddb_transaction_conflict_in_the_api_loses_no_money(
    http: httpx.Client, stack: LocalStack, cross: Cross
) -> None:
    r = _conflicted_place(http, stack, cross)
    if r is not None and r.status_code == 201:  # retried inside the request
        _assert_settled_once(http, cross, r.json()["id"])
        return
    # refused: the transaction did not happen, nothing is reserved and no order exists
    bp = http.get("/api/portfolio", headers=cross.buyer["headers"]).json()
    assert bp["cash"] == {"available": "100000.00", "reserved": "0.00", "total": "100000.00"}
    assert http.get("/api/orders", headers=cross.buyer["headers"]).json()["orders"] == []


def test_ddb_transaction_conflict_in_the_api_is_retried_or_refused_cleanly(
    http: httpx.Client, stack: LocalStack, cross: Cross
) -> None:
    r = _conflicted_place(http, stack, cross)
    assert r is not None and r.status_code in (201, 503), (
        r and r.text
    )  # waits for H4: a retry, or a clean 503, never a 500
    if r.status_code == 503:
        assert r.headers.get("Retry-After")
