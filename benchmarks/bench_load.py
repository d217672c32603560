"""Load benchmark of the local stack end to end: N traders over real HTTP, each with a WebSocket
connected, on K stocks; crossing and resting limit orders and cancels (`make bench-load`).

Starts the local stack as a child process (`python -m local_stack`, no state folder, the AWS call
counter on: local_stack/call_counts.py) and drives it from this one asyncio process. Per stack:

1. paths: one order at a time (20 resting, 10 crossing with one fill each, 10 cancels), each waited
   for: the AWS calls per order on each path, by function and operation;
2. reads: the candles read and order-list / fills reads on the quiet stack (median of 10);
3. rate: an open-loop phase at --rate actions/s (sent on schedule, never waiting for replies);
4. saturation: a closed-loop phase, every trader as fast as it goes with at most --window unsettled
   orders in flight (bounded latency, the throughput it sustains).

Accepted = POST /orders answered 201/200 in the measured window (after --warmup); settled = orders
whose ORDER_ACCEPTED reached their trader's WebSocket in the window (the matcher commits the order's
leaving `pending` with its arrival fills or cancel: it is resting or final). Latencies: POST sent ->
its answer, -> its ORDER_ACCEPTED, -> its first taker ORDER_FILLED (the fill on arrival) at the client;
DELETE -> ORDER_CANCELLED. With --preload N, a second stack gets N orders and their trades stored
first (benchmarks/preload.py: the real use cases in-process, the items written to the stack's
moto), then the same steps; the ratios to the empty stack of the same invocation are printed.

    .venv/bin/python -m benchmarks.bench_load --traders 20 --stocks 4 --rate 50 --duration 20
    .venv/bin/python -m benchmarks.bench_load --preload 100000 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared")]

from benchmarks import bench_report as report  # noqa: E402
from benchmarks import proc_cpu  # noqa: E402
from benchmarks.bench_stack import StackProcess, relogin, setup_accounts  # noqa: E402
from benchmarks.load_traders import Load, Recorder, Trader, listen, wait_accepted  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench_load",
        description=(__doc__ or "").split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--traders", type=int, default=20, help="traders, each with a WebSocket (default 20)")
    p.add_argument("--stocks", type=int, default=4, help="stocks traded (default 4)")
    p.add_argument("--rate", type=float, default=50, help="open-loop phase: actions/s offered (default 50)")
    p.add_argument("--duration", type=float, default=20, help="seconds per load phase (default 20)")
    p.add_argument(
        "--warmup", type=float, default=2, help="seconds at a phase's start not measured (default 2)"
    )
    p.add_argument(
        "--window", type=int, default=4, help="saturation: unsettled orders per trader (default 4)"
    )
    p.add_argument("--cross-ratio", type=float, default=0.5, help="share of crossing orders (default 0.5)")
    p.add_argument(
        "--cancel-ratio", type=float, default=0.1, help="share of actions that cancel (default 0.1)"
    )
    p.add_argument("--preload", type=int, default=0, help="also measure a stack with N orders stored first")
    p.add_argument("--phases", default="paths,reads,rate,saturation", help="steps to run (comma list)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write every figure to this file")
    args = p.parse_args(argv)
    args.phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    unknown = set(args.phases) - {"paths", "reads", "rate", "saturation"}
    if unknown:
        p.error(f"unknown phases: {sorted(unknown)}")
    if args.warmup >= args.duration:
        p.error("--warmup must be shorter than --duration")
    return args


@dataclass
class StackRun:
    name: str
    phases: list[report.PhaseResult] = field(default_factory=list)
    paths: dict[str, tuple[dict[str, float], int]] = field(default_factory=dict)
    reads: dict[str, float] = field(default_factory=dict)
    preload: dict[str, Any] = field(default_factory=dict)
    invocations: dict[str, int] = field(default_factory=dict)


class Session:
    """One stack's run: its accounts, WebSockets and recorder."""

    def __init__(self, args: argparse.Namespace, stack: StackProcess, run: StackRun) -> None:
        self.args, self.stack, self.run = args, stack, run
        self.symbols = [f"BENCH{chr(65 + i)}" for i in range(args.stocks)]
        self.rec = Recorder()
        self.traders: list[Trader] = []
        self.listeners: list[asyncio.Task[None]] = []

    async def connect(self) -> None:
        for t in self.listeners:
            t.cancel()
        events = [asyncio.Event() for _ in self.traders]
        self.listeners = [
            asyncio.create_task(listen(self.stack.ws, t, self.rec, e))
            for t, e in zip(self.traders, events, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), 60)

    async def close(self) -> None:
        for t in self.listeners:
            t.cancel()
        await asyncio.gather(*self.listeners, return_exceptions=True)

    # ------------------------------------------------------------------ steps
    async def one(self, http: httpx.AsyncClient, n: int, body: dict[str, Any], timeout: float = 30) -> str:
        t = self.traders[n]
        r = await http.post("/orders", json=body, headers=t.headers)
        r.raise_for_status()
        order_id = str(r.json()["id"])
        if not await wait_accepted(self.rec, order_id, timeout):
            raise RuntimeError(f"order {order_id} was not accepted within {timeout:.0f} s")
        return order_id

    async def paths(self, http: httpx.AsyncClient) -> None:
        """Calls per order on each path, one order at a time (each its own matcher batch)."""
        sym = self.symbols[0]

        def limit(side: str, price: str) -> dict[str, Any]:
            return {"symbol": sym, "side": side, "type": "limit", "quantity": 1, "limit_price": price}

        async def measured(name: str, count: int, step: Any) -> list[str]:
            before = await self._quiet_counts()
            out = [await step(i) for i in range(count)]
            calls, _ = report.calls_between(before, await self._quiet_counts())
            self.run.paths[name] = (calls, count)
            return out

        resting = await measured("resting", 20, lambda i: self.one(http, 0, limit("sell", "100.10")))
        await measured("crossing 1 fill", 10, lambda i: self.one(http, 1, limit("buy", "100.10")))

        async def cancel(i: int) -> str:
            order_id = resting[10 + i]
            t0 = time.perf_counter()
            r = await http.delete(f"/orders/{order_id}", headers=self.traders[0].headers)
            r.raise_for_status()
            while not self.rec.seen[order_id].cancelled and time.perf_counter() - t0 < 30:
                await asyncio.sleep(0.02)
            return order_id

        await measured("cancel", 10, cancel)

    async def _quiet_counts(self) -> dict[str, Any]:
        await asyncio.sleep(1.2)  # the notifier's last records, then the counter file's next write
        return self.stack.counts()

    async def reads(self, http: httpx.AsyncClient) -> None:
        t = self.traders[0]
        targets = {
            "GET /stocks/{s}/candles?interval=1m": (f"/stocks/{self.symbols[0]}/candles?interval=1m", {}),
            "GET /stocks/{s}/trades?limit=20": (f"/stocks/{self.symbols[0]}/trades?limit=20", {}),
            "GET /orders?limit=20": ("/orders?limit=20", t.headers),
            "GET /orders?status=open&limit=20": ("/orders?status=open&limit=20", t.headers),
            "GET /portfolio/fills?limit=20": ("/portfolio/fills?limit=20", t.headers),
            "GET /stocks": ("/stocks", {}),
        }
        for name, (path, headers) in targets.items():
            times = []
            for _ in range(10):
                t0 = time.perf_counter()
                r = await http.get(path, headers=headers)
                times.append(time.perf_counter() - t0)
                r.raise_for_status()
            self.run.reads[name] = statistics.median(times) * 1000

    async def load(self, http: httpx.AsyncClient, mode: str) -> report.PhaseResult:
        a = self.args
        self.rec.traces = []
        load = Load(
            http, self.traders, self.symbols, self.rec,
            cross_ratio=a.cross_ratio, cancel_ratio=a.cancel_ratio, seed=a.seed + len(self.run.phases),
        )  # fmt: skip
        before = self.stack.counts()
        cpu_before = proc_cpu.stack_cpu(self.stack.pid)
        start = time.perf_counter()
        if mode == "open":
            await load.open_loop(a.rate, a.duration)
        else:
            await load.closed_loop(a.duration, a.window)
        end = start + a.duration
        unsettled = await load.drain(300)
        cpu_after = proc_cpu.stack_cpu(self.stack.pid)  # before the quiet wait: its idle polls apart
        calls, inv = report.calls_between(before, await self._quiet_counts())
        name = f"rate {a.rate:g}/s" if mode == "open" else f"saturation (window {a.window})"
        offered = a.rate if mode == "open" else None
        result = report.phase_result(
            name, mode, self.rec, start + a.warmup, end, offered, unsettled, calls, inv
        )
        result.cpu_ms_per_order = proc_cpu.per_order_ms(cpu_before, cpu_after, result.settled_total)
        return result


async def run_stack(args: argparse.Namespace, name: str, preload: int) -> StackRun:
    run = StackRun(name)
    stack = StackProcess()
    print(f"[{name}] starting a local stack ...", flush=True)
    stack.start()
    print(f"[{name}] stack pid {stack.pid}, api {stack.api}, log {stack.log_path}", flush=True)
    s = Session(args, stack, run)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    try:
        async with httpx.AsyncClient(base_url=stack.api, timeout=60, limits=limits) as http:
            s.traders = await setup_accounts(http, args.traders, s.symbols, f"{random.randrange(10**9)}")
            if preload:
                from benchmarks.preload import preload_stack

                print(f"[{name}] preloading {preload} orders ...", flush=True)
                run.preload = await asyncio.to_thread(
                    preload_stack, stack.moto, [t.user_id for t in s.traders], s.symbols, preload, args.seed
                )
                print(f"[{name}] preload: {run.preload}", flush=True)
                await relogin(http, s.traders)
            before_ws = stack.counts()
            await s.connect()
            if preload:  # the stream's backlog: one order's event comes after all of it
                t0 = time.perf_counter()
                body = {
                    "symbol": s.symbols[0],
                    "side": "buy",
                    "type": "limit",
                    "quantity": 1,
                    "limit_price": "90.00",
                }
                await s.one(http, 0, body, timeout=1800)  # the notifier reads every preloaded record
                run.preload["stream_drained_s"] = round(time.perf_counter() - t0, 1)
            ws_calls, _ = report.calls_between(before_ws, await s._quiet_counts())
            run.paths["ws connect (per connection)"] = (
                {k: v for k, v in ws_calls.items() if k.startswith("WsFunction")},
                len(s.traders),
            )
            if "paths" in args.phases:
                print(f"[{name}] paths ...", flush=True)
                await s.paths(http)
            if "reads" in args.phases:
                await s.reads(http)
            if "rate" in args.phases:
                print(f"[{name}] open loop at {args.rate:g}/s for {args.duration:g} s ...", flush=True)
                run.phases.append(await s.load(http, "open"))
            if "saturation" in args.phases:
                print(f"[{name}] saturation for {args.duration:g} s ...", flush=True)
                run.phases.append(await s.load(http, "closed"))
            run.invocations = stack.counts().get("invocations", {})
            await s.close()
    finally:
        stack.stop()
    return run


def print_run(run: StackRun) -> None:
    if run.phases:
        report.print_phases(f"{run.name} stack", run.phases)
    columns = dict(run.paths)
    for p in run.phases:
        columns[p.name.split(" (")[0]] = (p.calls, p.orders)
    if columns:
        report.print_calls(f"{run.name} stack", columns)
    print(f"invocations over the whole run: {run.invocations}")


async def main_async(args: argparse.Namespace) -> list[StackRun]:
    runs = [await run_stack(args, "empty", 0)]
    if args.preload:
        runs.append(await run_stack(args, f"preloaded {args.preload}", args.preload))
    print(
        f"\nbench_load: {args.traders} traders on {args.stocks} stocks, {args.duration:g} s per phase "
        f"({args.warmup:g} s warm-up), cross {args.cross_ratio:g}, cancel {args.cancel_ratio:g}"
    )
    for run in runs:
        print_run(run)
    if any(r.reads for r in runs):
        report.print_reads({r.name: r.reads for r in runs if r.reads})
    if len(runs) == 2 and runs[0].phases and runs[1].phases:
        print(f"preload: {runs[1].preload}")
        report.print_ratios(runs[0].phases, runs[1].phases, args.preload)
    return runs


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    runs = asyncio.run(main_async(args))
    if args.json:
        out = {
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "runs": [
                {
                    "name": r.name,
                    "phases": [p.as_json() for p in r.phases],
                    "paths": {k: {"calls": c, "orders": n} for k, (c, n) in r.paths.items()},
                    "reads_ms": r.reads,
                    "preload": r.preload,
                    "invocations": r.invocations,
                }
                for r in runs
            ],
        }
        args.json.write_text(json.dumps(out, indent=2))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
