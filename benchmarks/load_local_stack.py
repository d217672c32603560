#!/usr/bin/env python3
"""End-to-end order flow through the local stack: REST -> FIFO -> matcher -> DynamoDB -> stream.

Starts the local stack in this process, lists --symbols stocks, registers traders (half granted
shares), then places --orders crossing limit orders from --clients threads over real HTTP and waits
until every order has left `pending`. Prints orders/s (placement and settled), matcher batches and
the DynamoDB writes per order and per trade (from the matcher's committed transactions) — the
figures behind the README's capacity model. Local figures are bounded by moto (one lock around
every DynamoDB request), not by AWS: compare runs of this script, not with AWS.

    .venv/bin/python benchmarks/load_local_stack.py --orders 600 --symbols 3 --clients 8
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared")]

from local_stack.stack import LocalStack, StackConfig, free_port  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=600)
    p.add_argument("--symbols", type=int, default=3)
    p.add_argument("--clients", type=int, default=8)
    args = p.parse_args()

    stack = LocalStack(StackConfig(api_port=free_port(), ws_port=free_port(), schedule_seconds=3600)).start()
    from exchange.adapters.matcher_store import DynamoMatcherStore

    commits: list[tuple[int, int]] = []  # (operations, trades) per matcher transaction
    real_commit = DynamoMatcherStore.commit

    def counting_commit(self: DynamoMatcherStore, c) -> None:  # type: ignore[no-untyped-def]
        real_commit(self, c)
        commits.append((c.op_count(), len(c.trades)))

    DynamoMatcherStore.commit = counting_commit  # type: ignore[method-assign]
    try:
        base = stack.api_url
        admin = httpx.post(
            f"{base}/auth/login",
            json={"email": stack.config.admin_email, "password": stack.config.admin_password},
        ).json()
        admin_h = {"Authorization": f"Bearer {admin['access_token']}"}
        symbols = [f"LOAD{chr(65 + i)}" for i in range(args.symbols)]
        for s in symbols:
            httpx.post(
                f"{base}/admin/stocks",
                headers=admin_h,
                json={"symbol": s, "name": s, "reference_price": "100.00"},
            ).raise_for_status()
        traders = []
        for i in range(args.clients):
            r = httpx.post(
                f"{base}/auth/register",
                json={
                    "email": f"load{i}-{random.randrange(10**9)}@example.com",
                    "password": "load-test-password",
                },
            ).json()
            for s in symbols:
                httpx.post(
                    f"{base}/admin/users/{r['user']['id']}/grant",
                    headers=admin_h,
                    json={"symbol": s, "quantity": 1_000_000},
                ).raise_for_status()
            traders.append({"Authorization": f"Bearer {r['access_token']}"})

        placed: list[tuple[dict[str, str], str]] = []
        lock = threading.Lock()
        per_client = args.orders // args.clients

        def client(n: int) -> None:
            rng = random.Random(n)
            with httpx.Client(base_url=base, headers=traders[n], timeout=30) as http:
                for _ in range(per_client):
                    side = rng.choice(["buy", "sell"])
                    price = f"{100 + rng.randint(-3, 3) * 0.01 * (1 if side == 'buy' else -1):.2f}"
                    r = http.post(
                        "/orders",
                        json={
                            "symbol": rng.choice(symbols),
                            "side": side,
                            "type": "limit",
                            "quantity": rng.randint(1, 20),
                            "limit_price": price,
                        },
                    )
                    r.raise_for_status()
                    with lock:
                        placed.append((traders[n], r.json()["id"]))

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        t_placed = time.perf_counter() - t0
        # settled = the orders queue is empty and nothing is in flight; then check every order once
        queue_url = stack.template.refs["OrdersQueue"]
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        while any(
            v != "0"
            for v in stack.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)[
                "Attributes"
            ].values()
        ):
            time.sleep(0.05)
        t_settled = time.perf_counter() - t0
        with httpx.Client(base_url=base, timeout=30) as http:
            pending = [
                o for h, o in placed if http.get(f"/orders/{o}", headers=h).json()["status"] == "pending"
            ]
        assert not pending, f"{len(pending)} orders still pending"
        ops = sum(c[0] for c in commits)
        trades = sum(c[1] for c in commits)
        n = len(placed)
        print(f"orders placed: {n} by {args.clients} clients on {args.symbols} stocks")
        print(f"placement: {n / t_placed:,.0f} orders/s over HTTP (reservation transaction + SQS send)")
        print(f"settled:   {n / t_settled:,.0f} orders/s end to end (none pending after {t_settled:.1f} s)")
        print(
            f"matcher:   {len(commits)} transactions, {n / max(len(commits), 1):.1f} orders each; "
            f"{trades} trades"
        )
        print(
            f"writes:    {ops} items in matcher transactions = {ops / n:.2f} per order, "
            f"{(ops - 2 * len(commits) - n) / max(trades, 1):.2f} per trade beyond the order's own"
        )
    finally:
        DynamoMatcherStore.commit = real_commit  # type: ignore[method-assign]
        stack.stop()


if __name__ == "__main__":
    main()
