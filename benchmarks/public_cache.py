"""The api's in-memory public cache (api_app/caching.py), measured: the real api handler (Mangum,
the FastAPI app, the use cases) against moto in-process (benchmarks/aws_cost.py's Stack), one stock
with a book of ``--levels`` price levels a side, then ``--requests`` GETs of each public market-data
path, first with the memo off (every request reads DynamoDB), then on (PUBLIC_MEMO_SECONDS=1: a
request within a second of the last read is answered from memory). Per path: ms per request
(median, and mean) and DynamoDB calls per request, each way; then a steady load of ``--rate``
requests/s for ``--seconds`` on the order book, memo on, to show the reads saved at a realistic
arrival rate (at most one read set per second per container and query).

moto answers in microseconds where DynamoDB answers in a few ms: the ms saved here are the handler's
and moto's CPU, a floor; on AWS each saved read is also a network round trip (~2-5 ms each).

    .venv/bin/python benchmarks/public_cache.py
    .venv/bin/python benchmarks/public_cache.py --requests 500 --levels 50
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def event(path: str, query: dict[str, str] | None = None) -> dict[str, Any]:
    headers = {"Host": "abc123.execute-api.us-east-1.amazonaws.com"}
    return {
        "resource": "/api/{proxy+}",
        "path": path,
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": {"proxy": path.removeprefix("/api/")},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/api/{proxy+}",
            "httpMethod": "GET",
            "path": f"/dev{path}",
            "stage": "dev",
            "accountId": "123456789012",
            "apiId": "abc123",
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "bench"},
            "protocol": "HTTP/1.1",
            "requestTimeEpoch": 1764072000000,
        },
        "body": None,
        "isBase64Encoded": False,
    }


def find_cache(app: Any) -> Any:
    from api_app.caching import PublicCache

    layer = app.middleware_stack
    while layer is not None and not isinstance(layer, PublicCache):
        layer = getattr(layer, "app", None)
    if layer is None:
        raise SystemExit("no PublicCache in the api's middleware stack")
    return layer


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=300, help="GETs of each path, each way")
    p.add_argument("--levels", type=int, default=20, help="price levels a side in the book")
    p.add_argument("--rate", type=float, default=50.0, help="requests/s of the steady load")
    p.add_argument("--seconds", type=float, default=5.0, help="length of the steady load")
    args = p.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared"), str(ROOT / "functions" / "api")]
    from benchmarks import aws_cost

    aws_cost.setup_aws()
    from moto import mock_aws
    from moto.core.botocore_stubber import BotocoreStubber

    calls: list[str] = []
    stub = BotocoreStubber.__call__

    def counted(self: BotocoreStubber, event_name: str, request: Any, **kw: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        if target.startswith("DynamoDB_"):
            calls.append(target.split(".", 1)[1])
        return stub(self, event_name, request, **kw)

    BotocoreStubber.__call__ = counted  # type: ignore[method-assign]
    with mock_aws():
        stack = aws_cost.Stack(argparse.Namespace(ms_api=40, ms_matcher=80, ms_notifier=40))
        for s in ("BENCHA", "BENCHB", "BENCHC"):
            stack.admin.list_stock(s, s, 10_000, 1)
        symbol = "BENCHA"
        _, seller = stack.trader(symbol, shares=1_000_000)
        _, buyer = stack.trader(symbol)
        for i in range(args.levels):
            stack.order(seller, symbol, "sell", 10, 10_100 + 5 * i)
            stack.order(buyer, symbol, "buy", 10, 9_900 - 5 * i)
        stack.order(buyer, symbol, "buy", 5, 10_100)  # a trade, so trades and candles have one
        stack.drain()
        fn = stack.fns["ApiFunction"]
        app = fn.module.app if hasattr(fn.module, "app") else None

        def get(path: str, query: dict[str, str] | None = None) -> tuple[float, int]:
            before = len(calls)
            t = time.perf_counter()
            resp = fn.invoke(event(path, query))
            elapsed = (time.perf_counter() - t) * 1000
            fn.module.metrics.clear_metrics()
            assert resp["statusCode"] == 200, resp
            json.loads(resp["body"])
            return elapsed, len(calls) - before

        get("/api/stocks")  # the cold start and the first reads, not measured
        api_app = app or _find_app(fn.module)
        cache = find_cache(api_app)
        paths = [
            ("/api/stocks", None),
            (f"/api/stocks/{symbol}", None),
            (f"/api/stocks/{symbol}/orderbook", {"depth": "10"}),
            (f"/api/stocks/{symbol}/trades", {"limit": "50"}),
            (f"/api/stocks/{symbol}/candles", {"interval": "1m"}),
        ]
        print(f"{args.requests} GETs of each path; book {args.levels} levels a side; moto in-process")
        print(f"{'path':44} {'memo off: ms med/mean, reads':>30} {'memo on: ms med/mean, reads':>30}")
        off_reads: dict[str, float] = {}
        for path, query in paths:
            row = []
            for memo in (0.0, 1.0):
                cache.memo_seconds = memo
                cache.memo.clear()
                ms, reads = zip(*(get(path, query) for _ in range(args.requests)), strict=True)
                per = sum(reads) / len(reads)
                off_reads.setdefault(path, per)
                row.append(f"{statistics.median(ms):7.2f} / {statistics.mean(ms):6.2f}, {per:5.2f}")
            label = path + (f"?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else "")
            print(f"{label:44} {row[0]:>30} {row[1]:>30}")

        cache.memo_seconds = 1.0
        cache.memo.clear()
        n = int(args.rate * args.seconds)
        start, reads_total, hits_before = time.monotonic(), 0, cache.hits
        for i in range(n):
            wait = start + i / args.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            reads_total += get(f"/api/stocks/{symbol}/orderbook", {"depth": "10"})[1]
        print(
            f"steady load, memo on: {n} order-book GETs at {args.rate:g}/s for {args.seconds:g} s -> "
            f"{cache.hits - hits_before} from memory, {reads_total} DynamoDB calls "
            f"(memo off: {n * off_reads[paths[2][0]]:.0f})"
        )


def _find_app(module: Any) -> Any:
    from fastapi import FastAPI

    for value in vars(module).values():
        if isinstance(value, FastAPI):
            return value
        inner = getattr(value, "app", None)
        if isinstance(inner, FastAPI):
            return inner
    raise SystemExit("the api module holds no FastAPI app")


if __name__ == "__main__":
    main()
