#!/usr/bin/env python3
"""Benchmark the project's matching engine against installable peers (`make bench-engine`).

Creates the peers' virtual environment ``benchmarks/.peers`` from
``../shared/bench/requirements-peers.txt`` if it is missing, runs ``bench_peers.py`` with our
adapter (``benchmarks/engine_adapter.py``) in one run beside ``ref``, ``liquibook``,
``lightmatchingengine`` and ``orderly-chaos``, and prints ops/s and each engine's ratio to ``ref``.

Usage (from anywhere):
    python benchmarks/run_engine_bench.py [--runs 3] [--ops 200000] [--only ref,exchange-engine] [--mypyc]
    python benchmarks/run_engine_bench.py --stops [--runs 3]
``--mypyc`` also compiles the engine module with mypyc into a temporary folder (needs a C compiler;
the source tree is not touched) and benchmarks it as the extra peer ``exchange-engine-mypyc``.
``--stops`` runs the stop-order micro-benchmarks instead (in this interpreter, no peers): the cost
of one trigger with n stops waiting (O(log n)), and the plain flow through ``Market.submit``
against ``OrderBook.submit`` (what the stop layer costs an order when it triggers nothing).
Other options are passed on to bench_peers.py.
Environment: ``BENCH_DIR`` overrides the harness folder (default ``<repo>/../shared/bench``),
``BENCH_PEERS_VENV`` the peers venv (default ``benchmarks/.peers``).
Exits non-zero if our engine's result is not exact.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BENCH_DIR = Path(os.environ.get("BENCH_DIR", REPO.parent / "shared" / "bench")).resolve()
PEERS_VENV = Path(os.environ.get("BENCH_PEERS_VENV", HERE / ".peers")).resolve()
OURS = "exchange-engine"
OURS_MYPYC = "exchange-engine-mypyc"
ENGINE_SRC = REPO / "layers" / "shared" / "exchange" / "domain" / "engine.py"

# The adapter for the compiled engine: the project's adapter, importing from the build folder.
MYPYC_ADAPTER = """\
import importlib.util
import sys

_spec = importlib.util.spec_from_file_location("engine_adapter_pure", {adapter!r})
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)


class MypycEngineAdapter(_base.ExchangeEngineAdapter):
    name = {name!r}

    def __init__(self):
        sys.path.insert(0, {build!r})
        super().__init__()
        import exchange.domain.engine as engine

        if not engine.__file__.endswith((".so", ".pyd")):
            raise RuntimeError("not the compiled engine: " + engine.__file__)


ADAPTER = MypycEngineAdapter
"""
DEFAULT_PEERS = f"ref,liquibook,lightmatchingengine,orderly-chaos,{OURS}"


def peers_python() -> str:
    """The peers venv's interpreter, created and filled on first use (a failed install of one peer
    only makes that peer FAILED in the table)."""
    py = PEERS_VENV / "bin" / "python"
    marker = PEERS_VENV / ".installed"
    if not marker.exists():
        if not py.exists():
            print(f"creating {PEERS_VENV} ...", flush=True)
            venv.EnvBuilder(with_pip=True).create(PEERS_VENV)
        req = BENCH_DIR / "requirements-peers.txt"
        print(f"installing peers from {req} ...", flush=True)
        rc = subprocess.call([str(py), "-m", "pip", "install", "-q", "-r", str(req)])
        if rc == 0:
            marker.touch()
        else:
            print("warning: some peers did not install; they will show as FAILED", flush=True)
    return str(py)


def build_mypyc(tmp: Path) -> Path:
    """Compile a copy of the engine module with mypyc; returns the adapter file that loads it."""
    build = tmp / "build"
    pkg = build / "exchange" / "domain"
    pkg.mkdir(parents=True)
    for init in (build / "exchange" / "__init__.py", pkg / "__init__.py"):
        init.touch()
    shutil.copy(ENGINE_SRC, pkg / "engine.py")
    print("compiling the engine with mypyc ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "mypyc", "exchange/domain/engine.py"],
        cwd=build, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    adapter_dir = tmp / "adapter"
    adapter_dir.mkdir()
    adapter = adapter_dir / "engine_adapter_mypyc.py"
    adapter.write_text(
        MYPYC_ADAPTER.format(adapter=str(HERE / "engine_adapter.py"), name=OURS_MYPYC, build=str(build))
    )
    return adapter


def bench_stops(runs: int) -> int:
    """The stop-order micro-benchmarks (see the module docstring); prints two tables. CPU time of
    this process (``process_time``), with the cyclic GC off while timing: on a shared machine wall
    time mostly measures the neighbours."""
    import gc
    import random
    import time

    sys.path.insert(0, str(REPO / "layers" / "shared"))
    from exchange.domain.engine import BUY, SELL, OrderBook
    from exchange.domain.market import Market

    k, trades = 100, 8  # each trade triggers k stops; 8 trades timed per run (n >= 1,000)
    base = 1_000_000
    print(f"one trade triggering {k} buy stop-limits (they rest far below: no cascade), {trades} trades;")
    print("a quiet trade triggers nothing (1,000 of them, best run):")
    head = f"{'n waiting':>10}  {'us per trigger (runs)':<40} {'quiet trade, us':>15} {'a scan of n, us':>16}"
    print(f"  {head}")
    for n in (1_000, 10_000, 100_000, 300_000):
        per_trigger, per_quiet = [], []
        for run in range(runs):
            rng = random.Random(run)
            market = Market("X", last_price=base)
            market.submit("ask", "seller", SELL, 10**9, base + 1, "gtc")
            stops = list(range(1, n + 1))
            rng.shuffle(stops)  # arrival order unrelated to the trigger order
            for i in stops:
                market.submit_stop(i, i, BUY, 1, base + 1 + (i - 1) // k, 1, "gtc", is_market=False)
            # the ask at base + 1 meets the first k stops; then raise the ask one tick per trade
            gc.collect()
            gc.disable()  # as timeit does: a collection walks every stop, which is not what we time
            t0 = time.process_time()
            for j in range(trades):
                market.submit(("t", j), "taker", BUY, 1, base + 1 + j, "ioc")
                market.cancel("ask")
                market.submit("ask", "seller", SELL, 10**9, base + 2 + j, "gtc")
            per_trigger.append((time.process_time() - t0) / (trades * k) * 1e6)
            market.cancel("ask")
            market.submit("ask", "seller", SELL, 10**9, base + trades, "gtc")
            t0 = time.process_time()
            for j in range(1000):  # trades at the last price: the stops there are gone already
                market.submit(("q", j), "taker", BUY, 1, base + trades, "ioc")
            per_quiet.append((time.process_time() - t0) / 1000 * 1e6)
            gc.enable()
            assert len(market.stops) == n - trades * k, len(market.stops)
        # for scale: what one look at every waiting stop per trade would cost (what is not done)
        waiting = market.stop_orders()
        t0 = time.process_time()
        hit = [st for st in waiting if st.stop_price <= base]
        scan = (time.process_time() - t0) * 1e6
        assert not hit
        shown = ", ".join(f"{x:.2f}" for x in per_trigger)
        print(f"  {n:>10,}  {shown:<40} {min(per_quiet):>15.2f} {scan:>16,.0f}")

    flow = []
    rng = random.Random(42)
    for oid in range(100_000):
        r = rng.random()
        if r < 0.3 and oid > 10:
            flow.append(("c", rng.randrange(oid)))
        else:
            side, price = rng.randint(0, 1), 1000 + rng.randint(-20, 20)
            flow.append(("m", oid, side, rng.randint(1, 50), price + (60 if side == BUY else -60))
                        if r > 0.9 else ("l", oid, side, rng.randint(1, 50), price))  # fmt: skip

    def run_flow(book: OrderBook | Market) -> float:
        submit, cancel = book.submit, book.cancel
        gc.collect()
        gc.disable()
        t0 = time.process_time()
        for op in flow:
            if op[0] == "c":
                cancel(op[1])
            elif op[0] == "l":
                submit(op[1], op[2] + 1, op[2], op[3], op[4], "gtc")
            else:
                submit(op[1], op[2] + 1, op[2], op[3], op[4], "ioc", True)
        elapsed = time.process_time() - t0
        gc.enable()
        return len(flow) / elapsed

    def far_stops() -> Market:
        market = Market("X", last_price=1000)
        for i in range(10_000):
            market.submit_stop(("s", i), "u", BUY, 1, 5000 + i, 6000, "gtc", is_market=True)
        return market

    print(f"\nthe plain flow ({len(flow):,} limit/market/cancel ops, no stop triggers), ops/s, interleaved:")
    rows: dict[str, list[float]] = {"OrderBook.submit": [], "Market.submit": [], "Market, 10k far stops": []}
    for _ in range(runs):
        rows["OrderBook.submit"].append(run_flow(OrderBook("X")))
        rows["Market.submit"].append(run_flow(Market("X")))
        rows["Market, 10k far stops"].append(run_flow(far_stops()))
    plain = max(rows["OrderBook.submit"])
    print(f"  {'':<24}{'best':>12}  {'x plain':>7}   runs")
    for name, values in rows.items():
        shown = ", ".join(f"{v:,.0f}" for v in values)
        print(f"  {name:<24}{max(values):>12,.0f}  {max(values) / plain:7.2f}   {shown}")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=DEFAULT_PEERS)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ops", type=int, default=200_000)
    ap.add_argument(
        "--mypyc", action="store_true", help=f"also benchmark the mypyc-compiled engine ({OURS_MYPYC})"
    )
    ap.add_argument("--stops", action="store_true", help="run the stop-order micro-benchmarks instead")
    args, extra = ap.parse_known_args()
    if args.stops:
        return bench_stops(args.runs)

    harness = BENCH_DIR / "bench_peers.py"
    if not harness.exists():
        print(f"bench harness not found at {harness} (set BENCH_DIR)", file=sys.stderr)
        return 2
    py = peers_python()
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.jsonl"
        only = args.only
        adapters = ["--adapter-file", str(HERE / "engine_adapter.py")]
        if args.mypyc:
            adapters += ["--adapter-file", str(build_mypyc(Path(tmp)))]
            only += f",{OURS_MYPYC}"
        cmd = [
            py, str(harness), "--only", only, "--runs", str(args.runs), "--ops", str(args.ops),
            *adapters, "--json", str(results), *extra,
        ]  # fmt: skip
        print("$", " ".join(cmd), flush=True)
        rc = subprocess.call(cmd, cwd=REPO)
        if rc != 0:
            return rc
        rows = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []

    by_name = {r["peer"]: r for r in rows}
    ref = by_name.get("ref")
    print(f"\nsummary (median of {args.runs} runs, {args.ops} ops, same run):")
    for r in rows:
        exact = "exact" if (r["fills_exact"] and r["depth_ok"]) else "NOT EXACT"
        ratio = f"{r['ops_per_s'] / ref['ops_per_s']:.2f}x ref" if ref else ""
        print(f"  {r['peer']:<22}{r['ops_per_s']:>12,.0f} ops/s  {ratio:>10}  {exact}")
    ok = True
    for name in (OURS, OURS_MYPYC) if args.mypyc else (OURS,):
        r = by_name.get(name)
        if r is None or not (r["fills_exact"] and r["depth_ok"]):
            print(f"{name}: did not run or not exact", file=sys.stderr)
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
