"""The notifier's fan-out: parallel across connections, in order within one, failures reported."""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

import pytest

from exchange.adapters.connections import ConnectionGone
from exchange.usecases.fanout import post_in_order
from exchange.usecases.notifications import Change, Notifier


class Died(BaseException):
    """Stands for the local stack's LambdaCrash: the process dies."""


class FakePusher:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.posted: list[tuple[str, bytes]] = []
        self.behaviour: dict[str, Any] = {}  # connection id -> called before the post lands
        self.after: Any = None  # called after each post landed

    def send(self, connection_id: str, data: bytes) -> None:
        hook = self.behaviour.get(connection_id)
        if hook is not None:
            hook(data)
        with self.lock:
            self.posted.append((connection_id, data))
        if self.after is not None:
            self.after()

    def of(self, connection_id: str) -> list[bytes]:
        return [d for c, d in self.posted if c == connection_id]


def _sends(connections: list[str], records: int) -> dict[str, list[tuple[int, bytes]]]:
    return {c: [(r, f"{c}:{r}".encode()) for r in range(records)] for c in connections}


def _others_served_while_one_is_stuck(workers: int, stuck_s: float) -> tuple[bool, FakePusher]:
    """20 connections, 3 records; c0 answers only when every other connection got all its events
    (or after ``stuck_s``). True: the others were all served while c0 was stuck."""
    pusher = FakePusher()
    others = [f"c{i}" for i in range(1, 20)]
    everyone_else_done = threading.Event()

    def check() -> None:
        if sum(1 for c, _ in pusher.posted if c != "c0") == len(others) * 3:
            everyone_else_done.set()

    pusher.behaviour = {"c0": lambda _d: everyone_else_done.wait(stuck_s)}
    pusher.after = check
    out = post_in_order(pusher, _sends(["c0", *others], 3), lambda _c: None, workers=workers)
    assert out.sent == 60 and out.failed is None  # everything arrived either way
    return everyone_else_done.is_set() and pusher.posted[-1][0] == "c0", pusher


@pytest.mark.parametrize("workers", [2, 4, 16])
def test_a_slow_connection_does_not_hold_up_the_others(workers: int) -> None:
    served, pusher = _others_served_while_one_is_stuck(workers, stuck_s=5)
    assert served
    assert pusher.of("c0") == [b"c0:0", b"c0:1", b"c0:2"]


def test_with_one_worker_every_connection_waits_for_the_slow_one() -> None:
    # pool size 1 is the old notifier (one post after another): the same test fails there
    served, pusher = _others_served_while_one_is_stuck(1, stuck_s=0.2)
    assert not served
    assert [c for c, _ in pusher.posted[:3]] == ["c0"] * 3


def test_each_connection_gets_its_events_in_the_order_they_were_produced() -> None:
    # Given 30 connections answering after random delays, 4 workers, 25 records each
    pusher = FakePusher()
    rng = random.Random(4)
    delays = {f"c{i}": [rng.random() / 2000 for _ in range(25)] for i in range(30)}

    def jitter(connection_id: str) -> Any:
        return lambda _d: time.sleep(delays[connection_id].pop())

    pusher.behaviour = {c: jitter(c) for c in delays}
    sends = _sends(list(delays), 25)
    out = post_in_order(pusher, sends, lambda _c: None, workers=4)
    # Then each connection's events are in record order, none missing, none twice
    for c, queue in sends.items():
        assert pusher.of(c) == [d for _, d in queue]
    assert out.sent == 750 and out.failed is None
    # and the connections were served side by side, not one after another
    assert [c for c, _ in pusher.posted[:25]] != ["c0"] * 25


def test_a_failing_post_fails_its_record_and_later_records_of_that_connection_are_not_posted() -> None:
    pusher = FakePusher()

    def fails_at_record_2(data: bytes) -> None:
        if data.endswith(b":2"):
            raise RuntimeError("LimitExceededException after the retries")

    pusher.behaviour = {"c3": fails_at_record_2}
    sends = _sends([f"c{i}" for i in range(8)], 5)
    out = post_in_order(pusher, sends, lambda _c: None, workers=4)
    assert out.failed == 2
    assert pusher.of("c3") == [b"c3:0", b"c3:1"]  # nothing after the failure: order is kept on redelivery
    for c in sends:  # every record before the failed one reached every connection (it is not redelivered)
        assert [b"%s:0" % c.encode(), b"%s:1" % c.encode()] == pusher.of(c)[:2]


def test_the_earliest_failed_record_is_reported() -> None:
    pusher = FakePusher()

    def fails_at(record: int) -> Any:
        def hook(data: bytes) -> None:
            if data.endswith(b":%d" % record):
                raise RuntimeError("post failed")

        return hook

    pusher.behaviour = {"c1": fails_at(3), "c2": fails_at(1), "c5": fails_at(4)}
    out = post_in_order(pusher, _sends([f"c{i}" for i in range(6)], 6), lambda _c: None, workers=3)
    assert out.failed == 1


def test_a_gone_connection_is_dropped_once_and_is_not_a_failure() -> None:
    pusher = FakePusher()
    dropped: list[str] = []

    def gone(_data: bytes) -> None:
        raise ConnectionGone("c2")

    pusher.behaviour = {"c2": gone}
    out = post_in_order(pusher, _sends([f"c{i}" for i in range(5)], 3), dropped.append, workers=4)
    assert dropped == ["c2"] and out.gone == ("c2",)
    assert out.failed is None and out.sent == 12 and pusher.of("c2") == []


def test_a_dying_process_stops_every_worker_and_is_raised() -> None:
    pusher = FakePusher()
    died = threading.Event()

    def dies(_data: bytes) -> None:
        died.set()
        raise Died()

    def after_death(_data: bytes) -> None:
        died.wait(2)
        time.sleep(0.01)

    pusher.behaviour = {"c0": dies, **{f"c{i}": after_death for i in range(1, 6)}}
    with pytest.raises(Died):
        post_in_order(pusher, _sends([f"c{i}" for i in range(6)], 20), lambda _c: None, workers=6)
    # the others stopped: at most the post each had in hand when the process died
    assert len(pusher.posted) <= 5


# ---------------------------------------------------------------- Notifier.notify over a batch
class FakeConnections:
    def __init__(self, channels: dict[str, list[str]]) -> None:
        self.channels = channels
        self.queries: list[str] = []
        self.disconnected: list[str] = []

    def subscribers(self, channel: str) -> list[str]:
        self.queries.append(channel)
        return list(self.channels.get(channel, []))

    def disconnect(self, connection_id: str) -> None:
        self.disconnected.append(connection_id)


class FakeStore:
    def __init__(self) -> None:
        self.cash_reads: list[str] = []

    def cash(self, user_id: str) -> dict[str, Any]:
        self.cash_reads.append(user_id)
        return {"available": 500, "reserved": 0}


def _book(version: int, *events: dict[str, Any]) -> Change:
    new = {
        "pk": "STOCK#ACME",
        "sk": "BOOK",
        "version": version,
        "events": json.dumps(list(events)),
        "updated_at": 1_764_072_000_000 + version,
    }
    return Change("MODIFY", {**new, "version": version - 1}, new)


def _holding(user: str, available: int) -> Change:
    new = {
        "pk": f"USER#{user}",
        "sk": "HOLDING#ACME",
        "user_id": user,
        "symbol": "ACME",
        "available": available,
        "reserved": 0,
        "cost_basis": available * 100,
        "mark_price": 100,
        "updated_at": 1_764_072_000_000,
    }
    return Change("MODIFY", {**new, "available": 0}, new)


def _trade(seq: int) -> dict[str, Any]:
    return {"type": "TRADE_EXECUTED", "channel": "stock:ACME", "data": {"sequence": seq}}


def test_a_batch_reads_each_channel_and_each_cash_once_and_keeps_every_connections_order() -> None:
    connections = FakeConnections({"stock:ACME": [f"w{i}" for i in range(10)], "user:u1": ["w3", "me"]})
    store = FakeStore()
    pusher = FakePusher()
    notifier = Notifier(store, connections, pusher, workers=4)  # type: ignore[arg-type]
    changes = [
        _book(v, _trade(v), {"type": "ORDER_FILLED", "channel": "user:u1", "data": {}}) for v in range(1, 6)
    ]
    changes += [_holding("u1", 3), _holding("u1", 4)]
    out = notifier.notify(changes)
    assert out.failed is None and out.sent == 5 * 10 + 5 * 2 + 2 * 2
    assert sorted(connections.queries) == ["stock:ACME", "user:u1"]  # not one Query per record
    assert store.cash_reads == ["u1"]
    w3 = [json.loads(d) for d in pusher.of("w3")]  # on both channels: everything in record order
    assert [(m["type"], m["data"].get("sequence")) for m in w3[:4]] == [
        ("TRADE_EXECUTED", 1),
        ("ORDER_FILLED", None),
        ("TRADE_EXECUTED", 2),
        ("ORDER_FILLED", None),
    ]
    assert [m["data"]["holding"]["quantity"] for m in w3[10:]] == [3, 4]


def test_a_record_whose_subscribers_cannot_be_read_fails_with_the_later_ones() -> None:
    connections = FakeConnections({"stock:ACME": ["a", "b"]})

    def broken(channel: str) -> list[str]:
        if channel == "user:u9":
            raise RuntimeError("Query throttled")
        return FakeConnections.subscribers(connections, channel)

    connections.subscribers = broken  # type: ignore[method-assign]
    pusher = FakePusher()
    notifier = Notifier(FakeStore(), connections, pusher, workers=4)  # type: ignore[arg-type]
    changes = [
        _book(1, _trade(1)),
        _book(2, {"type": "ORDER_FILLED", "channel": "user:u9", "data": {}}),
        _book(3, _trade(3)),
    ]
    out = notifier.notify(changes)
    assert out.failed == 1
    assert [json.loads(d)["data"]["sequence"] for d in pusher.of("a")] == [1]  # record 3 waits for 2


# ---------------------------------------------------------------- with the local stack's injected faults
def test_the_injected_notifier_crash_fires_once_from_the_workers_and_stops_them() -> None:
    from local_stack import faults

    registry = faults.FaultRegistry()
    hooks = faults._Hooks(registry, tables=set())

    class Ok:
        status_code = 200

    class HookedPusher(FakePusher):  # what botocore does around each post: the after-call hook
        def send(self, connection_id: str, data: bytes) -> None:
            super().send(connection_id, data)
            hooks.post_after(http_response=Ok())

    pusher = HookedPusher()
    pusher.behaviour = {f"c{i}": (lambda _d: time.sleep(0.001)) for i in range(40)}
    armed = registry.armed(faults.NOTIFIER_CRASH_AFTER_SEND, functions={faults.NOTIFIER})
    with armed, faults.running(faults.NOTIFIER), pytest.raises(faults.LambdaCrash):
        # the workers run in the invocation's context: the hook knows which function posts
        post_in_order(pusher, _sends([f"c{i}" for i in range(40)], 10), lambda _c: None, workers=8)
    assert registry.counts() == {faults.NOTIFIER_CRASH_AFTER_SEND: 1}
    assert len(pusher.posted) < 40  # armed: die after the 1st post; the others stop at their next post
