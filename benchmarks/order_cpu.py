"""CPU per order of the functions and of moto, without the load benchmark's noise: the real handlers
(api through Mangum, matcher on SQS batches, notifier on stream batches) against moto in-process
(benchmarks/aws_cost.py's Stack: the template's tables and queues, the fidelity and speed patches),
one process, no polling. A fixed flow - `--traders` on `--stocks`, limit orders around 100.00, half
of them crossing, `--batch` orders per stock placed before the event sources drain - and the process
CPU seconds (``time.process_time``) per order, split into moto's part (its botocore stub: request
parsing, the backend, the response) and the rest (the handlers, botocore's client side).

On a machine shared with other work the CPU time per order still moves less than orders/s do;
compare two trees run by turns (`--root` another checkout), several times.

    .venv/bin/python benchmarks/order_cpu.py --orders 600
    .venv/bin/python benchmarks/order_cpu.py --orders 600 --root /path/to/other/checkout
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=600)
    p.add_argument("--traders", type=int, default=20)
    p.add_argument("--stocks", type=int, default=4)
    p.add_argument("--batch", type=int, default=3, help="orders per stock between drains")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1])
    args = p.parse_args()
    root = args.root.resolve()
    sys.path[:0] = [str(root), str(root / "layers" / "shared")]
    from benchmarks import aws_cost

    aws_cost.setup_aws()
    from moto import mock_aws
    from moto.core.botocore_stubber import BotocoreStubber

    in_moto = [0.0]
    call = BotocoreStubber.__call__

    def timed(self: BotocoreStubber, *a: object, **k: object) -> object:
        t = time.process_time()
        try:
            return call(self, *a, **k)
        finally:
            in_moto[0] += time.process_time() - t

    BotocoreStubber.__call__ = timed  # type: ignore[method-assign]
    ns = argparse.Namespace(ms_api=40, ms_matcher=80, ms_notifier=40)
    rng = random.Random(args.seed)
    with mock_aws():
        stack = aws_cost.Stack(ns)
        symbols = [f"CPU{chr(65 + i)}" for i in range(args.stocks)]
        for s in symbols:
            stack.admin.list_stock(s, s, 10_000, 1)
        traders = []
        for i in range(args.traders):
            sym = symbols[i % len(symbols)]
            _, token = stack.trader(sym, shares=0)
            traders.append(token)
        for uid in [u["id"] for u in _users(stack)]:
            for s in symbols:
                stack.admin.grant(uid, s, 100_000)
        stack.drain()

        def run(n: int) -> None:
            for i in range(n):
                sym = symbols[(i // args.batch) % len(symbols)]
                side = rng.choice(["buy", "sell"])
                cross = rng.random() < 0.5
                offset = rng.randint(1, 5) * 10
                price = 10_000 + (offset if (side == "buy") == cross else -offset)
                stack.order(rng.choice(traders), sym, side, 1, price)
                if i % args.batch == args.batch - 1:
                    stack.drain()
            stack.drain()

        run(min(60, args.orders))  # warm: caches, books, first candles
        in_moto[0] = 0.0
        t0, w0 = time.process_time(), time.perf_counter()
        run(args.orders)
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    n = args.orders
    print(
        f"order_cpu {root}: {n} orders, CPU ms per order: total {cpu * 1000 / n:.2f}, "
        f"moto {in_moto[0] * 1000 / n:.2f}, functions and botocore {(cpu - in_moto[0]) * 1000 / n:.2f} "
        f"(wall {wall * 1000 / n:.1f} ms per order)"
    )


def _users(stack: object) -> list[dict[str, str]]:
    """Every registered user's id (the traders): the PROFILE items."""
    table = stack.store.table  # type: ignore[attr-defined]
    items = table.client.scan(
        TableName=table.name, FilterExpression="sk = :p", ExpressionAttributeValues={":p": {"S": "PROFILE"}}
    )["Items"]
    return [{"id": i["id"]["S"]} for i in items]


if __name__ == "__main__":
    main()
