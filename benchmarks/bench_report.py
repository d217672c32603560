"""The load benchmark's figures: a phase's throughput and latencies from its traces, AWS calls per
order from the stack's call counts, and the tables printed."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.load_traders import Recorder

EVENT_SOURCES = "(event sources)"


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def summary_ms(values: list[float]) -> dict[str, float | None]:
    ms = [v * 1000 for v in values]
    return {"n": len(ms), "p50": pct(ms, 0.50), "p95": pct(ms, 0.95), "p99": pct(ms, 0.99)}


@dataclass
class PhaseResult:
    name: str
    mode: str  # open | closed
    window_s: float
    offered_per_s: float | None
    accepted_per_s: float
    settled_per_s: float
    settled_overall_per_s: float  # the whole phase and its drain (see phase_result)
    cancels_per_s: float
    latency: dict[str, dict[str, float | None]]
    statuses: dict[str, int]
    unsettled: int
    orders: int  # accepted (POST 2xx) in the whole phase: the divisor of the calls per order
    calls: dict[str, float] = field(default_factory=dict)  # "Function service.Operation" -> count
    invocations: dict[str, int] = field(default_factory=dict)
    ws_errors: int = 0
    settled_total: int = 0  # orders of the phase whose ORDER_ACCEPTED arrived (drain included)
    cpu_ms_per_order: dict[str, float] = field(default_factory=dict)  # process -> CPU ms / settled

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def phase_result(
    name: str,
    mode: str,
    rec: Recorder,
    start: float,
    end: float,
    offered: float | None,
    unsettled: int,
    calls: dict[str, float],
    invocations: dict[str, int],
) -> PhaseResult:
    """Figures over the window [start, end]: accepted = POST answered 2xx in it, settled = orders whose
    ORDER_ACCEPTED arrived in it; latencies of the requests sent in it."""
    window = end - start
    orders = [t for t in rec.traces if t.kind != "cancel"]
    ok = [t for t in orders if 200 <= t.status < 300]
    in_window = [t for t in ok if start <= t.sent <= end]
    settled = sum(1 for t in ok if start <= rec.seen.get(t.order_id, _NONE).accepted <= end)
    cancels = [t for t in rec.traces if t.kind == "cancel" and t.status == 202]
    lat_post = [t.answered - t.sent for t in orders if start <= t.sent <= end and t.status > 0]
    lat_acc, lat_fill, lat_cancel = [], [], []
    for t in in_window:
        s = rec.seen.get(t.order_id)
        if s and s.accepted:
            lat_acc.append(s.accepted - t.sent)
        if s and s.filled:
            lat_fill.append(s.filled - t.sent)
    for t in cancels:
        s = rec.seen.get(t.order_id)
        if start <= t.sent <= end and s and s.cancelled > t.sent:
            lat_cancel.append(s.cancelled - t.sent)
    # the whole phase, drain included: settled orders / (the last one's ORDER_ACCEPTED - the first POST)
    settled_at = [a for t in ok if (a := rec.seen.get(t.order_id, _NONE).accepted) > 0]
    first = min((t.sent for t in ok), default=0.0)
    overall = len(settled_at) / (max(settled_at) - first) if settled_at and max(settled_at) > first else 0.0
    statuses = Counter(f"{'DELETE' if t.kind == 'cancel' else 'POST'} {t.status}" for t in rec.traces)
    return PhaseResult(
        name=name,
        mode=mode,
        window_s=window,
        offered_per_s=offered,
        accepted_per_s=sum(1 for t in ok if start <= t.answered <= end) / window,
        settled_per_s=settled / window,
        settled_overall_per_s=overall,
        cancels_per_s=sum(1 for t in cancels if start <= t.answered <= end) / window,
        latency={
            "POST answer": summary_ms(lat_post),
            "POST -> ORDER_ACCEPTED": summary_ms(lat_acc),
            "POST -> ORDER_FILLED (taker)": summary_ms(lat_fill),
            "DELETE -> ORDER_CANCELLED": summary_ms(lat_cancel),
        },
        statuses=dict(sorted(statuses.items())),
        unsettled=unsettled,
        orders=len(ok),
        calls=calls,
        invocations=invocations,
        ws_errors=len(rec.ws_errors),
        settled_total=len(settled_at),
    )


class _Never:
    accepted = -1.0


_NONE = _Never()


def calls_between(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, float], dict[str, int]]:
    """The AWS calls (``"Function service.Operation"``) and invocations made between two counts."""

    def flat(counts: dict[str, Any]) -> Counter[str]:
        return Counter({f"{f} {s}.{o}": n for f, s, o, n in counts.get("calls", [])})

    calls = flat(after) - flat(before)
    inv = Counter(after.get("invocations", {})) - Counter(before.get("invocations", {}))
    return dict(calls), dict(inv)


# ---------------------------------------------------------------------- printing
def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def print_phases(title: str, results: list[PhaseResult]) -> None:
    print(f"\n== {title}")
    print(
        f"{'phase':<22} {'offered/s':>9} {'accepted/s':>10} {'settled/s':>9} {'to drain':>9} "
        f"{'cancels/s':>9} {'unsettled':>9}  statuses"
    )
    for r in results:
        offered = "-" if r.offered_per_s is None else f"{r.offered_per_s:.0f}"
        statuses = ", ".join(f"{k}: {v}" for k, v in r.statuses.items())
        print(
            f"{r.name:<22} {offered:>9} {r.accepted_per_s:>10.1f} {r.settled_per_s:>9.1f} "
            f"{r.settled_overall_per_s:>9.1f} {r.cancels_per_s:>9.1f} {r.unsettled:>9}  {statuses}"
            + (f"; ws errors {r.ws_errors}" if r.ws_errors else "")
        )
    print(f"{'latency (ms)':<22} {'what':<30} {'n':>6} {'p50':>7} {'p95':>7} {'p99':>7}")
    for r in results:
        for what, s in r.latency.items():
            cells = " ".join(f"{_ms(s[q]):>7}" for q in ("p50", "p95", "p99"))
            print(f"{r.name:<22} {what:<30} {s['n']:>6} {cells}")
    for r in results:
        if r.cpu_ms_per_order:
            cpu = ", ".join(f"{k} {v:.1f}" for k, v in r.cpu_ms_per_order.items())
            print(f"{r.name:<22} CPU ms per settled order ({r.settled_total} settled): {cpu}")


def print_calls(title: str, columns: dict[str, tuple[dict[str, float], int]]) -> None:
    """columns: name -> (calls over the column's run, orders in it): calls per order."""
    keys = sorted({k for calls, _ in columns.values() for k in calls}, key=lambda k: (k.startswith("("), k))
    width = max([len(k) for k in keys] + [40])
    print(f"\n== {title}: AWS calls per order (function service.Operation)")
    print(f"{'':<{width}} " + " ".join(f"{c:>12}" for c in columns))
    print(
        f"{'orders (or cancels) in the column':<{width}} " + " ".join(f"{n:>12}" for _, n in columns.values())
    )
    for k in keys:
        cells = [f"{calls.get(k, 0) / n:>12.2f}" if n else f"{'-':>12}" for calls, n in columns.values()]
        print(f"{k:<{width}} " + " ".join(cells))
    totals = []
    for calls, n in columns.values():
        fn_calls = sum(v for k, v in calls.items() if not k.startswith("("))
        totals.append(f"{fn_calls / n:>12.2f}" if n else f"{'-':>12}")
    print(f"{'total by the functions (event sources apart)':<{width}} " + " ".join(totals))


def print_reads(reads: dict[str, dict[str, float]]) -> None:
    """reads: stack name -> read name -> median ms."""
    names = list(reads)
    what = list(next(iter(reads.values())))
    print("\n== reads (median ms of 10, on a quiet stack)")
    print(f"{'read':<44} " + " ".join(f"{n:>12}" for n in names) + ("   ratio" if len(names) == 2 else ""))
    for w in what:
        cells = [reads[n].get(w) for n in names]
        line = f"{w:<44} " + " ".join(f"{c:>12.1f}" if c is not None else f"{'-':>12}" for c in cells)
        if len(names) == 2 and cells[0] and cells[1] is not None:
            line += f"   {cells[1] / cells[0]:.2f}x"
        print(line)


def print_ratios(empty: list[PhaseResult], loaded: list[PhaseResult], preload: int) -> None:
    print(f"\n== after --preload {preload}: ratio to the empty stack (same invocation)")
    print(
        f"{'phase':<22} {'settled/s':>10} {'to drain':>10} {'accepted/s':>10} {'p50 acc':>8} {'p99 acc':>8}"
    )
    for a, b in zip(empty, loaded, strict=True):
        la, lb = a.latency["POST -> ORDER_ACCEPTED"], b.latency["POST -> ORDER_ACCEPTED"]

        def ratio(x: float | None, y: float | None) -> str:
            return f"{y / x:.2f}x" if x and y is not None else "-"

        print(
            f"{a.name:<22} {ratio(a.settled_per_s, b.settled_per_s):>10} "
            f"{ratio(a.settled_overall_per_s, b.settled_overall_per_s):>10} "
            f"{ratio(a.accepted_per_s, b.accepted_per_s):>10} {ratio(la['p50'], lb['p50']):>8} "
            f"{ratio(la['p99'], lb['p99']):>8}"
        )
