"""The audit log's pure parts: which steps are inputs, which commit records each, the item and its
contract view (read back by the replay), a page read over the items, and tools.replay's verdict."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from exchange import keys
from exchange.adapters.audit_log import AuditLogStore, entry_view, log_item
from exchange.adapters.dynamo import Page
from exchange.domain.audit import attach_log, step_input
from exchange.domain.batch import BatchCommit, BookWrite, LogInput
from exchange.domain.engine import BUY, SELL, Cancelled, Fill, Rested
from exchange.domain.replay import IDENTICAL, LogEntry, LogOrder, ReplayTrade
from exchange.domain.settlement import Commit
from exchange.domain.steps import Step
from exchange.usecases.matching import Matcher, Message
from tests.factories import limit_order
from tests.unit.test_matcher_day_expiry import PLACED, TAKEN
from tests.unit.test_matcher_flow import SYM, market
from tools.replay.check import check_stock

LEVELS: Any = ([], [])
A = limit_order("a", "u1", "ACME", "buy", 5, 10_000)
B = limit_order("b", "u2", "ACME", "sell", 3, 9_900, tif="day")


def _commit(started: int) -> Commit:
    book = BookWrite("ACME", 2, 1, [], [], False, 0)
    return Commit(BatchCommit("ACME", 1, book), started=started)


# ---------------------------------------------------------------------- which steps are inputs
def test_a_new_order_the_engine_took_is_an_input_with_its_order() -> None:
    step = Step("a", [Rested("a", BUY, 10_000, 5)], LEVELS, accept=True, seq=7)
    assert step_input(step, {"a": A}) == ("new", A, None)


@pytest.mark.parametrize("reason", ["user", "expired"])
def test_an_order_finished_without_the_engine_is_no_input(reason: str) -> None:
    step = Step("a", [], LEVELS, accept=True, seq=7, cancel_reason=reason)
    assert step_input(step, {"a": A}) is None


def test_an_order_resumed_after_a_split_sweep_is_no_new_input() -> None:
    resumed = dataclasses.replace(A, filled_quantity=2, remaining_quantity=3)
    step = Step("a", [Fill("a", "m", "u9", 10_000, 3, 0, 0)], LEVELS, accept=True)
    assert step_input(step, {"a": resumed}) is None


def test_cancels_and_expiries_of_resting_orders_are_inputs_by_their_reason() -> None:
    cancel = Step("a", [Cancelled("a", 5, "user")], LEVELS)
    expire = Step("a", [Cancelled("a", 5, "expired")], LEVELS)
    assert step_input(cancel, {"a": A}) == ("cancel", None, "a")
    assert step_input(expire, {"a": A}) == ("expire", None, "a")


# ---------------------------------------------------------------------- which commit records each
def test_each_entry_goes_with_the_commit_that_begins_its_step_seqs_gapless() -> None:
    # steps: new a (commit 0), cancel-before-taken b (none), new b then its sweep over commits 1-2, cancel a
    b_taken = Step("b", [Fill("b", "m", "u9", 9_900, 1, 2, 0)], LEVELS, accept=True, seq=9)
    steps = [
        Step("a", [Rested("a", BUY, 10_000, 5)], LEVELS, accept=True, seq=8),
        Step("x", [], LEVELS, accept=True, seq=9, cancel_reason="user"),
        b_taken,
        Step("a", [Cancelled("a", 5, "user")], LEVELS),
    ]
    x = limit_order("x", "u3", "ACME", "buy", 1, 9_000)
    commits = [_commit(2), _commit(3), _commit(3), _commit(4)]  # commit 1 cut inside step 2's sweep
    last = attach_log(commits, steps, {"a": A, "b": B, "x": x}, at=123, last_seq=40)
    assert last == 43
    assert [[(e.seq, e.kind) for e in c.batch.log] for c in commits] == [
        [(41, "new")],
        [(42, "new")],
        [],
        [(43, "cancel")],
    ]
    assert [c.batch.book.log_seq for c in commits] == [41, 42, 42, 43]
    assert commits[1].batch.log[0] == LogInput(42, "new", 123, B)
    assert commits[0].batch.op_count() == 2 and commits[2].batch.op_count() == 1  # the log item counted


# ---------------------------------------------------------------------- the item, its view, a page
def test_the_item_reads_back_as_the_contract_and_the_replay_reads_it() -> None:
    market = dataclasses.replace(
        limit_order("m", "u4", "ACME", "sell", 2, 1), order_type="market", limit_price=None, price_bound=9_000
    )
    inputs = [
        LogInput(5, "new", 1_700_000_000_123, B),
        LogInput(6, "new", 1, market),
        LogInput(7, "cancel", 1, None, "b"),
    ]
    item = log_item("ACME", inputs)
    assert (item["pk"], item["sk"], item["first"], item["last"]) == ("LOG#ACME", keys.seq_sk(7), 5, 7)
    views = [entry_view(e) for e in json.loads(item["entries"])]
    assert views[0] == {
        "seq": 5,
        "kind": "new",
        "order": {
            **{"id": "b", "user_id": "u2", "side": "sell", "type": "limit", "time_in_force": "day"},
            **{"quantity": 3, "limit_price": "99.00", "stop_price": None, "price_bound": None},
        },
        "at": "2023-11-14T22:13:20.123Z",
    }
    assert views[1]["order"]["time_in_force"] == "ioc"  # as the engine took it
    assert views[2] == {"seq": 7, "kind": "cancel", "order_id": "b", "at": "1970-01-01T00:00:00.001Z"}
    entries = [LogEntry.from_view(v) for v in views]
    assert entries[0] == LogEntry(5, "new", LogOrder("b", "u2", "sell", "limit", "day", 3, 9_900))
    assert entries[1].order == LogOrder("m", "u4", "sell", "market", "ioc", 2, price_bound=9_000)
    assert entries[2] == LogEntry(7, "cancel", order_id="b")


@dataclass
class FakeTable:
    """Items of one partition, sorted by sk; ``query`` as DynamoDB's for ``pk = :p AND sk > :s``."""

    items: list[dict[str, Any]]
    limits: list[int] = field(default_factory=list)

    def query(self, _cond: str, values: dict[str, Any], *, limit: int, **_: Any) -> Page:
        self.limits.append(limit)
        after = [i for i in self.items if i["pk"] == values[":p"] and i["sk"] > values[":s"]]
        return Page(after[:limit], after[limit - 1] if len(after) > limit else None)


def _log_table(sizes: list[int]) -> FakeTable:
    items, seq = [], 0
    for n in sizes:
        batch = [LogInput(seq + k + 1, "cancel", 1, None, f"o{seq + k + 1}") for k in range(n)]
        seq += n
        items.append(log_item("ACME", batch))
    return FakeTable(items)


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 100])
def test_pages_walk_the_whole_log_oldest_first_reading_at_most_limit_plus_one_items(limit: int) -> None:
    table = _log_table([1, 4, 2, 3])
    store = AuditLogStore(table)  # type: ignore[arg-type]
    seen, after, pages = [], 0, 0
    while True:
        page = store.page("ACME", after, limit)
        pages += 1
        assert 0 < len(page.entries) <= limit or (not page.entries and page.next_after is None)
        seen += [e["seq"] for e in page.entries]
        if page.next_after is None:
            break
        assert page.next_after == seen[-1]
        after = page.next_after
    assert seen == list(range(1, 11))
    assert pages == -(-10 // limit)  # no empty page at the end
    assert set(table.limits) == {limit + 1}
    assert store.page("ACME", 10, limit).entries == [] and store.page("OTHER", 0, limit).entries == []


# ---------------------------------------------------------------------- tools.replay's verdict
@dataclass
class FakeClient:
    entries: list[LogEntry]
    stored: list[ReplayTrade]
    resting_orders: list[tuple[str, str, int, int, int]]

    def log(self, _: str) -> list[LogEntry]:
        return self.entries

    def trades(self, _: str) -> list[ReplayTrade]:
        return self.stored

    def resting(self, _: str) -> list[tuple[str, str, int, int, int]]:
        return self.resting_orders

    def book(self, symbol: str) -> tuple[list[tuple[str, str, int, int, int]], list[Any]]:
        return self.resting(symbol), []  # no waiting stops


LOG = [
    LogEntry(1, "new", LogOrder("s1", "u1", "sell", "limit", "gtc", 5, 10_100)),
    LogEntry(2, "new", LogOrder("b1", "u2", "buy", "limit", "ioc", 2, 10_200)),
]
TRADES = [ReplayTrade(1, "b1", "s1", 10_100, 2, "buy")]
BOOK = [("s1", "u1", SELL, 10_100, 3)]


def test_the_replay_says_identical_or_names_the_first_difference() -> None:
    assert check_stock(FakeClient(LOG, TRADES, BOOK), "ACME") == IDENTICAL  # type: ignore[arg-type]
    wrong_price = [TRADES[0]._replace(price=10_200)]
    assert check_stock(FakeClient(LOG, wrong_price, BOOK), "ACME").startswith("trade #1: replayed (1, 'b1'")  # type: ignore[arg-type]
    wrong_book = [("s1", "u1", SELL, 10_100, 4)]
    assert check_stock(FakeClient(LOG, TRADES, wrong_book), "ACME").startswith("resting order #1")  # type: ignore[arg-type]
    assert check_stock(FakeClient(LOG[1:], [], []), "ACME") == IDENTICAL  # type: ignore[arg-type]
    gap = [LOG[0], LogEntry(3, "cancel", order_id="s1")]
    assert "does not replay" in check_stock(FakeClient(gap, [], BOOK), "ACME")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the matcher, day orders
def _logged(store: Any) -> list[tuple[int, str, str | None]]:
    return [(e.seq, e.kind, e.order.id if e.order else e.order_id) for _, e in sorted(store.log.items())]


def test_a_day_order_taken_after_its_close_is_not_logged() -> None:
    store, buy = market(1)
    store.order_items["b"] = dataclasses.replace(buy, tif="day", created_at=PLACED, updated_at=PLACED)
    Matcher(store, clock=lambda: TAKEN).process(SYM, [Message("new", SYM, "b", "buyer")])
    assert store.order_items["b"].status == "expired"
    assert _logged(store) == [] and store.books[SYM].log_seq == 0


def test_the_expiry_the_matcher_sequences_before_a_batch_is_logged_before_it() -> None:
    # Given yesterday's day ask still resting (its expiry not sequenced yet), today's ask behind it
    store, buy = market(2)
    s0 = store.order_items["s0"]
    store.order_items["s0"] = dataclasses.replace(s0, tif="day", created_at=PLACED, updated_at=PLACED)
    store.order_items["b"] = dataclasses.replace(
        buy, quantity=1, remaining_quantity=1, reserved_cash=10_000, created_at=TAKEN
    )
    store.cash["buyer"].reserved = 10_000

    # When today's buy reaches it
    Matcher(store, clock=lambda: TAKEN).process(SYM, [Message("new", SYM, "b", "buyer")])

    # Then the log says: the ask expired, then the buy came (what the engine was given, in order)
    assert store.order_items["b"].status == "filled"
    assert _logged(store) == [(1, "expire", "s0"), (2, "new", "b")]
    assert store.books[SYM].log_seq == 2
