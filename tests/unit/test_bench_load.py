"""The load benchmark's own parts: option parsing, the figures of a phase, and the preload's
in-memory table driven by the real order and matcher use cases."""

from __future__ import annotations

import random

import pytest

from benchmarks import bench_report
from benchmarks.bench_load import parse_args
from benchmarks.load_traders import Recorder, Seen, Trace
from benchmarks.memory_dynamo import MemoryDynamo
from benchmarks.preload import TABLE, simulate
from exchange.adapters.dynamo import from_item
from exchange.adapters.exchange_store import ExchangeStore
from exchange.usecases.admin import Admin


def test_options_default_to_the_issue_s_setup_and_refuse_nonsense() -> None:
    args = parse_args([])
    assert (args.traders, args.stocks, args.rate, args.preload) == (20, 4, 50, 0)
    assert args.phases == ["paths", "reads", "rate", "saturation"]
    with pytest.raises(SystemExit):
        parse_args(["--phases", "rate,warp"])
    with pytest.raises(SystemExit):
        parse_args(["--duration", "2", "--warmup", "2"])


def test_a_phase_counts_accepted_and_settled_in_its_window_only() -> None:
    rec = Recorder()
    # sent at 1.0 / 2.0 / 3.0, answered 0.1 later; accepted 0.5 after sending, the last never
    for i, (sent, accepted) in enumerate([(1.0, 1.5), (2.0, 2.5), (3.0, 0.0)]):
        rec.traces.append(Trace("cross", 0, sent, answered=sent + 0.1, status=201, order_id=f"o{i}"))
        rec.seen[f"o{i}"] = Seen(accepted=accepted, filled=accepted + 0.1 if accepted else 0.0)
    rec.traces.append(Trace("rest", 0, 2.2, answered=2.3, status=422))
    r = bench_report.phase_result("p", "open", rec, 1.2, 3.2, 10.0, 1, {}, {})
    assert r.accepted_per_s == pytest.approx(2 / 2.0)  # o1 and o2 answered in [1.2, 3.2]
    assert r.settled_per_s == pytest.approx(2 / 2.0)  # o0 (1.5) and o1 (2.5) accepted in it
    assert r.settled_overall_per_s == pytest.approx(2 / (2.5 - 1.0))  # first POST to last settle
    assert r.latency["POST -> ORDER_ACCEPTED"]["n"] == 1  # sent in the window and accepted: o1
    assert r.latency["POST -> ORDER_ACCEPTED"]["p50"] == pytest.approx(500)
    assert r.latency["POST -> ORDER_FILLED (taker)"]["p50"] == pytest.approx(600)
    assert r.statuses == {"POST 201": 3, "POST 422": 1}
    assert r.orders == 3


def test_preload_stores_what_the_use_cases_write_and_money_is_conserved() -> None:
    local = MemoryDynamo([])
    store = ExchangeStore(TABLE, local)
    users = ["u1", "u2", "u3"]
    for u in users:
        store.create_user({"id": u, "email": f"{u}@example.com", "created_at": 1, "role": "trader"}, 10**9)
        store.deposit(u, 10**8, 2)
    Admin(store).list_stock("BENCHA", "A", 10_000, 1)
    for u in users:
        store.grant(u, "BENCHA", 1_000, 10_000 * 1_000, 3, None)
    local.take_dirty(finished=lambda _: False)  # the starting state: the stack had it already

    flushed: list[dict] = []
    stats = simulate(local, users, ["BENCHA"], 40, random.Random(1), flushed.extend)

    items = {(i["pk"], i["sk"]): i for i in map(from_item, flushed)}
    orders = [i for (pk, sk), i in items.items() if sk.startswith("ORDER#")]
    trades = [i for (pk, _), i in items.items() if pk == "TRADES#BENCHA"]
    fills = [i for (_, sk), i in items.items() if sk.startswith("FILL#")]
    assert stats["orders"] == len(orders) == 40 and stats["trades"] == len(trades) == 20
    assert {o["status"] for o in orders} == {"filled"}
    assert sorted(int(t["seq"]) for t in trades) == list(range(1, 21))
    assert len(fills) == 40 and all(f["gsi1pk"].startswith("FILLS#") for f in fills)
    book = items[("STOCK#BENCHA", "BOOK")]
    assert book["events"] == "[]" and int(book["next_seq"]) == 41
    assert int(items[("STOCK#BENCHA", "STOCK")]["trade_seq"]) == 20
    cash = [items[(f"USER#{u}", "CASH")] for u in users if (f"USER#{u}", "CASH") in items]
    assert sum(int(c["available"]) + int(c["reserved"]) for c in cash) == sum(
        10**9 + 10**8 for _ in cash
    )  # the cash of those who traded: moved between them, never made
    assert all(int(c["reserved"]) == 0 for c in cash)
    assert not any(k[1].startswith(("ORDER#", "FILL#")) for k in local.items)  # finished: gone
