#!/usr/bin/env python3
"""WebSocket fan-out on the local stack: events/s delivered to 10, 100, 1,000 subscribers of a stock.

Starts the local stack in this process; the WebSocket clients live in a separate process (one
asyncio loop, the ``websockets`` package), so they do not compete with the stack for its GIL. The
clients subscribe to one stock's channel (``--subscribers``: 10, then 90 more, then 900 more) and,
for every notifier setup of ``--setups`` the script (each is ``path:pool``; path ``http`` posts
over loopback HTTP to the gateway's @connections endpoint, as before this change, ``direct`` hands
the post to the gateway in-process as the local stack now does; pool 1 = the old notifier, one
post after another):

- *drain*: holds the notifier, makes ``--trades`` trades on the stock (default: about 2,000
  events per subscriber count) and lets the notifier go: the stream then hands it full batches, and
  it prints the events delivered per second (every client's every message) until the last client
  got the last trade;
- *latency*: makes ``--latency-trades`` trades one at a time on an idle notifier and prints the
  median time from the trade (its ``executed_at``) to the last client's receipt of it.

``--model-ms 30`` runs no stack: it posts 2 events to each of 10/100/1,000 connections through the
notifier's fan-out with a pusher that waits that long per post (the network wait of a post on AWS)
plus botocore's measured CPU per post, for each pool size: the shape of the AWS figures.

Local figures are bounded by one Python process posting through botocore into a gateway in the
same process (one GIL); compare the setups of one run, not runs with each other or with AWS.

    .venv/bin/python benchmarks/fanout.py    # 10/100/1000 subscribers; http:1 (old), direct:1, direct:16
    .venv/bin/python benchmarks/fanout.py --subscribers 100 --setups direct:1,direct:4,direct:32
    .venv/bin/python benchmarks/fanout.py --model-ms 30 --setups direct:1,direct:16,direct:64
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared")]

SYMBOL = "FANX"
PRICE = "100.00"


# ------------------------------------------------------------------ the clients' process
class _Client:
    def __init__(self, ws: Any, executed: dict[int, float]) -> None:
        self.ws, self.executed = ws, executed
        self.max_seq = 0
        self.msgs = 0
        self.seen: dict[int, float] = {}

    async def read(self) -> None:
        async for raw in self.ws:
            now = time.time()
            self.msgs += 1
            m = json.loads(raw)
            if m.get("type") == "TRADE_EXECUTED":
                seq = int(m["data"]["sequence"])
                self.seen[seq] = now
                self.max_seq = max(self.max_seq, seq)
                if seq not in self.executed:
                    self.executed[seq] = datetime.fromisoformat(m["data"]["executed_at"]).timestamp()


async def _clients(pipe: Connection, url: str, channel: str) -> None:
    import websockets

    loop = asyncio.get_running_loop()
    clients: list[_Client] = []
    tasks: list[asyncio.Task[None]] = []
    executed: dict[int, float] = {}
    while True:
        cmd, arg = await loop.run_in_executor(None, pipe.recv)
        if cmd == "connect":

            async def one(limit: asyncio.Semaphore) -> _Client:
                async with limit:
                    ws = await websockets.connect(url, open_timeout=120, max_queue=None, ping_interval=None)
                    await ws.send(json.dumps({"action": "subscribe", "channels": [channel]}))
                    while json.loads(await ws.recv()).get("type") != "subscribed":
                        pass
                    return _Client(ws, executed)

            limit = asyncio.Semaphore(32)
            new = await asyncio.gather(*(one(limit) for _ in range(int(arg))))
            tasks += [asyncio.create_task(c.read()) for c in new]
            clients += new
            pipe.send(len(clients))
        elif cmd == "reset":
            for c in clients:
                c.msgs = 0
            pipe.send(True)
        elif cmd == "expect":  # every client has trade `seq`: when did the last one get it?
            seq, timeout = arg
            deadline = time.monotonic() + timeout
            while any(c.max_seq < seq for c in clients) and time.monotonic() < deadline:
                await asyncio.sleep(0.002)
            got = [c.seen[seq] for c in clients if seq in c.seen]
            pipe.send(
                {
                    "complete": len(got) == len(clients),
                    "last": max(got, default=0.0),
                    "executed": executed.get(seq, 0.0),
                    "msgs": sum(c.msgs for c in clients),
                }
            )
        elif cmd == "close":
            for t in tasks:
                t.cancel()
            pipe.send(True)
            return


def clients_process(pipe: Connection, url: str, channel: str) -> None:
    asyncio.run(_clients(pipe, url, channel))


class Clients:
    def __init__(self, url: str, channel: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipe, child = ctx.Pipe()
        self.proc = ctx.Process(target=clients_process, args=(child, url, channel), daemon=True)
        self.proc.start()

    def call(self, cmd: str, arg: Any = None) -> Any:
        self.pipe.send((cmd, arg))
        return self.pipe.recv()


# ------------------------------------------------------------------ the stack's side
class Gate:
    """Holds the notifier's invocations while closed (records pile up in the stream)."""

    def __init__(self, fn: Any) -> None:
        self.open = threading.Event()
        self.open.set()
        self.fn, self.real = fn, fn.handler
        fn.handler = self.handler

    def handler(self, event: dict[str, Any], context: Any) -> Any:
        self.open.wait()
        return self.real(event, context)


def model(counts: list[int], pools: list[int], wait_s: float, cpu_s: float) -> None:
    from exchange.usecases.fanout import post_in_order

    class WaitingPusher:  # a post: some CPU under the GIL (botocore), then a wait on the network
        def send(self, connection_id: str, data: bytes) -> None:
            end = time.thread_time() + cpu_s
            while time.thread_time() < end:
                pass
            time.sleep(wait_s)

    print(f"model: a post waits {wait_s * 1000:g} ms and burns {cpu_s * 1e6:g} us of CPU; 2 events each")
    print("| subscribers | pool | posts | seconds | posts/s |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for count in counts:
        sends = {f"c{i}": [(0, b"{}"), (0, b"{}")] for i in range(count)}
        for pool in pools:
            if pool == 1 and count * 2 * wait_s > 30:
                print(
                    f"| {count} | 1 | {count * 2} | {count * 2 * (wait_s + cpu_s):.1f} (computed) | "
                    f"{1 / (wait_s + cpu_s):,.0f} |"
                )
                continue
            t = time.perf_counter()
            out = post_in_order(WaitingPusher(), sends, lambda _c: None, workers=pool)
            took = time.perf_counter() - t
            print(f"| {count} | {pool} | {out.sent} | {took:.2f} | {out.sent / took:,.0f} |", flush=True)


class Meter:
    """The notifier's own view: posts made and seconds spent in its invocations."""

    def __init__(self, notifier: Any) -> None:
        self.sent, self.busy = 0, 0.0
        notify = type(notifier).notify.__get__(notifier)

        def timed(changes: Any) -> Any:
            t = time.perf_counter()
            out = notify(changes)
            self.busy += time.perf_counter() - t
            self.sent += out.sent
            return out

        notifier.notify = timed


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subscribers", default="10,100,1000", help="subscriber counts, ascending")
    p.add_argument("--setups", default="http:1,direct:1,direct:16", help="path:pool, path http or direct")
    p.add_argument("--trades", type=int, default=0, help="trades per drain (default: ~2,000 events / count)")
    p.add_argument("--latency-trades", type=int, default=3)
    p.add_argument("--model-ms", type=float, default=0.0, help="no stack: a post waits this long (AWS model)")
    p.add_argument(
        "--model-cpu-us", type=float, default=300.0, help="botocore's CPU per post, for --model-ms"
    )
    args = p.parse_args()
    counts = [int(n) for n in args.subscribers.split(",")]
    setups = [(path, int(pool)) for path, _, pool in (x.partition(":") for x in args.setups.split(","))]
    if args.model_ms:
        model(counts, sorted({pool for _, pool in setups}), args.model_ms / 1000, args.model_cpu_us / 1e6)
        return

    import boto3
    import httpx
    from botocore.config import Config

    from local_stack.stack import LocalStack, StackConfig, free_port

    stack = LocalStack(StackConfig(api_port=free_port(), ws_port=free_port(), schedule_seconds=3600)).start()
    logging.getLogger("exchange").setLevel(logging.WARNING)  # the functions' INFO lines
    clients: Clients | None = None
    try:
        base = stack.api_url
        http = httpx.Client(base_url=base, timeout=60)
        admin = http.post(
            "/auth/login", json={"email": stack.config.admin_email, "password": stack.config.admin_password}
        ).json()
        admin_h = {"Authorization": f"Bearer {admin['access_token']}"}
        http.post(
            "/admin/stocks",
            headers=admin_h,
            json={"symbol": SYMBOL, "name": SYMBOL, "reference_price": PRICE},
        ).raise_for_status()

        def trader(name: str) -> dict[str, str]:
            email = f"{name}-{time.time_ns()}@example.com"
            r = http.post(
                "/auth/register", json={"email": email, "password": "fan-out-bench-password"}
            ).json()
            return {"id": r["user"]["id"], "Authorization": f"Bearer {r['access_token']}"}

        seller, buyer = trader("seller"), trader("buyer")
        http.post(
            f"/admin/users/{seller['id']}/grant",
            headers=admin_h,
            json={"symbol": SYMBOL, "quantity": 100_000},
        ).raise_for_status()
        sell = {"symbol": SYMBOL, "side": "sell", "type": "limit", "quantity": 100_000, "limit_price": PRICE}
        http.post("/orders", headers=_auth(seller), json=sell).raise_for_status()
        buy = {"symbol": SYMBOL, "side": "buy", "type": "limit", "quantity": 1, "limit_price": PRICE}
        trades = 0  # = the stock's trade sequence so far: every buy is one trade of 1 share

        def place(n: int) -> None:
            nonlocal trades

            def one(_i: int) -> str:
                r = http.post("/orders", headers=_auth(buyer), json=buy)
                r.raise_for_status()
                return str(r.json()["id"])

            with ThreadPoolExecutor(4) as pool:
                ids = list(pool.map(one, range(n)))
            trades += n
            deadline = time.monotonic() + 120
            while http.get(f"/orders/{ids[-1]}", headers=_auth(buyer)).json()["status"] != "filled":
                if time.monotonic() > deadline:
                    raise RuntimeError("the buys did not fill")
                time.sleep(0.05)

        notifier_fn = stack.functions["NotifierFunction"]
        gate = Gate(notifier_fn)
        clients = Clients(stack.ws_url, f"stock:{SYMBOL}")
        from exchange.adapters.connections import ConnectionPusher

        endpoint = os.environ["WS_MANAGEMENT_ENDPOINT"]

        def http_client(pool: int) -> Any:  # a session without the local stack's in-process hand-over
            return boto3.session.Session().client(
                "apigatewaymanagementapi",
                endpoint_url=endpoint,
                config=Config(max_pool_connections=max(10, pool)),
            )

        def direct_client(pool: int) -> Any:  # the default session: the stack's hooks, as the notifier's own
            return boto3.client(
                "apigatewaymanagementapi",
                endpoint_url=endpoint,
                config=Config(max_pool_connections=max(10, pool)),
            )

        rows: list[tuple[int, str, int, int, float, float, float]] = []
        connected = 0
        for count in counts:
            t = time.perf_counter()
            connected = clients.call("connect", count - connected)
            print(f"{connected} subscribers connected ({time.perf_counter() - t:.1f} s)", flush=True)
            n_trades = args.trades or max(3, min(100, 2000 // count))
            for path, workers in setups:
                notifier = notifier_fn.module.notifier
                notifier.workers = workers
                notifier.pusher = ConnectionPusher(
                    endpoint, client=direct_client(workers) if path == "direct" else http_client(workers)
                )
                meter = Meter(notifier)
                # drain: the notifier held, n_trades trades, then let go
                gate.open.clear()
                place(n_trades)
                clients.call("reset")
                meter.sent, meter.busy = 0, 0.0
                released = time.time()
                gate.open.set()
                got = clients.call("expect", (trades, 300))
                drain = got["last"] - released
                posted, busy = meter.sent, meter.busy
                # latency: one trade at a time, the notifier idle
                lat = []
                for _ in range(args.latency_trades):
                    place(1)
                    one = clients.call("expect", (trades, 60))
                    lat.append(one["last"] - one["executed"])
                rate = got["msgs"] / drain if drain > 0 else 0.0
                rows.append(
                    (count, f"{path}:{workers}", n_trades, got["msgs"], drain, rate, statistics.median(lat))
                )
                flag = "" if got["complete"] else "  (INCOMPLETE: not every client got the last trade)"
                print(
                    f"  {path}:{workers:<3} {n_trades} trades -> {got['msgs']} messages in {drain:.2f} s = "
                    f"{rate:,.0f} events/s; trade -> last client {statistics.median(lat) * 1000:.0f} ms; "
                    f"notifier: {posted} posts in {busy:.2f} s invoked = {posted / max(busy, 1e-9):,.0f}/s"
                    + flag,
                    flush=True,
                )
        print()
        print("| subscribers | path:pool | trades | messages | drain s | events/s | to last client, median |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        base_rate: dict[int, float] = {}
        for count, setup, n, msgs, drain, rate, lat_s in rows:
            base_rate.setdefault(count, rate)
            ratio = f" ({rate / base_rate[count]:.1f}x)" if rate != base_rate[count] else ""
            cells = [str(count), setup, str(n), str(msgs), f"{drain:.2f}", f"{rate:,.0f}{ratio}"]
            print("| " + " | ".join([*cells, f"{lat_s * 1000:.0f} ms"]) + " |")
    finally:
        if clients is not None:  # the clients go without their $disconnect (it would not be measured)
            stack.gateway.invoke = lambda _event: {"statusCode": 200}
            clients.proc.terminate()
        stack.stop()


def _auth(user: dict[str, str]) -> dict[str, str]:
    return {"Authorization": user["Authorization"]}


if __name__ == "__main__":
    main()
