"""AWS cost per order, measured: the real handlers (api through Mangum, matcher on SQS batches,
notifier on stream batches) against moto in-process, every request they make metered with AWS's
billing rules from the real item sizes (benchmarks/aws_cost_meter.py), then priced.

    .venv/bin/python -m benchmarks.aws_cost [--watchers N] [--deep 100] [--ms-api 40 ...]

Four scenarios, each on a stock of its own, first on a shallow book (only the orders the scenario
needs) and then with ``--deep`` levels resting on each side: a resting limit order, a crossing
order with one fill, a 5-level sweep, a cancel. Each trader has one WebSocket connection
(subscribed to its user channel and the stock); ``--watchers`` more connections watch the stock.
Lambda GB-s = the template's MemorySize x an assumed duration per invocation (the flags).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared")]

ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "TABLE_NAME": "ExchangeTable",
    "CONNECTIONS_TABLE_NAME": "ConnectionsTable",
    "JWT_SECRET": "x" * 48,
    "WS_MANAGEMENT_ENDPOINT": "https://abc123.execute-api.us-east-1.amazonaws.com/dev",
    "ADMIN_EMAIL": "root@example.com",
    "ADMIN_PASSWORD": "root-password",
    "COOKIE_SECURE": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_SERVICE_NAME": "exchange",
    "POWERTOOLS_METRICS_NAMESPACE": "ExchangeSimulator",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}

# us-east-1 on-demand list prices, USD, free tiers ignored. Looked up 2026-12-01 (search tool):
PRICES = {
    # aws.amazon.com/dynamodb/pricing/on-demand/ (after the 2024-11-01 cut; airbyte.com, jusdb.com)
    "wru": 0.625e-6,
    "rru": 0.125e-6,
    # "You are not charged for GetRecords API calls invoked by AWS Lambda as part of DynamoDB triggers"
    "stream_read": 0.0,
    # aws.amazon.com/sqs/pricing: FIFO $0.50 per million requests, each 64 KB chunk one request
    "sqs_fifo": 0.50e-6,
    # aws.amazon.com/lambda/pricing: $0.20 per million requests, x86 $0.0000166667 per GB-s
    "lambda_request": 0.20e-6,
    "lambda_gb_s": 0.0000166667,
    # aws.amazon.com/api-gateway/pricing: REST $3.50 per million (first 333 M); WebSocket $1.00
    # per million messages (first 1 B), billed in 32 KB increments; connection minutes not per order
    "rest_request": 3.50e-6,
    "ws_message": 1.00e-6,
}
SOURCES = (
    "prices: us-east-1 on-demand list prices, free tiers ignored, as found 2026-12-01 with the search\n"
    "  tool: DynamoDB WRU $0.625/M, RRU $0.125/M (aws.amazon.com/dynamodb/pricing/on-demand, after the\n"
    "  2024-11-01 cut, as quoted by airbyte.com 2025); Streams GetRecords by Lambda free (DynamoDB\n"
    "  developer guide, CostOptimization_StreamsUsage); SQS FIFO $0.50/M per 64 KB chunk (cloudburn.io\n"
    "  2026-03); Lambda $0.20/M + $0.0000166667/GB-s x86 (AWS 'How AWS Pricing Works'); API Gateway\n"
    "  REST $3.50/M, WebSocket $1.00/M messages per 32 KB (amnic.com, awsforengineers.com 2025).\n"
    "  Third-party copies of AWS's pages: check aws.amazon.com/pricing before relying on them.\n"
    "  Not counted: CloudWatch Logs, X-Ray traces, data transfer out, WebSocket connection minutes."
)


def setup_aws() -> None:
    for k in [k for k in os.environ if k.startswith("AWS_ENDPOINT_URL")]:
        del os.environ[k]
    os.environ.update(ENV)


class Stack:
    """moto in-process with the template's tables (streams on) and queues, the template's functions."""

    def __init__(self, args: argparse.Namespace) -> None:
        import boto3

        from benchmarks.aws_cost_meter import Meter, Pusher
        from local_stack import moto_fidelity
        from local_stack.lambda_runtime import LocalFunction
        from local_stack.template import LocalTemplate

        moto_fidelity.install()
        self.meter = Meter()
        template = LocalTemplate()
        ddb = boto3.client("dynamodb")
        for kwargs in template.create_table_args().values():
            ddb.create_table(**kwargs)
        self.sqs = boto3.client("sqs")
        self.queue = self.sqs.create_queue(
            QueueName="orders.fifo",
            Attributes={
                "FifoQueue": "true",
                "DeduplicationScope": "messageGroup",
                "FifoThroughputLimit": "perMessageGroupId",
            },
        )["QueueUrl"]
        os.environ["ORDERS_QUEUE_URL"] = self.queue
        # mock_aws does not route the dynamodbstreams API: read the table's shard as GetRecords would
        from moto.dynamodb.models import dynamodb_backends

        self.shard = dynamodb_backends["123456789012"]["us-east-1"].get_table("ExchangeTable").stream_shard
        self.next_seq = self.shard.starting_sequence_number
        fns = template.functions()
        self.fns = {
            name: LocalFunction(fns[name]) for name in ("ApiFunction", "MatcherFunction", "NotifierFunction")
        }
        self.fns["NotifierFunction"].module.notifier.pusher = Pusher(lambda: self.meter.usage)
        from exchange.adapters.connections import ConnectionStore
        from exchange.adapters.exchange_store import ExchangeStore
        from exchange.usecases.admin import Admin

        self.store = ExchangeStore("ExchangeTable", boto3.client("dynamodb"))
        self.admin = Admin(self.store)
        self.connections = ConnectionStore("ConnectionsTable", boto3.client("dynamodb"))
        self.ms = {"api": args.ms_api, "matcher": args.ms_matcher, "notifier": args.ms_notifier}
        self.drain()

    # -------------------------------------------------------------- the paths
    def api(self, method: str, path: str, body: dict[str, Any] | None, token: str | None) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Host": "abc123.execute-api.us-east-1.amazonaws.com"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        event = {
            "resource": "/api/{proxy+}",
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "pathParameters": {"proxy": path.removeprefix("/api/")},
            "stageVariables": None,
            "requestContext": {
                "resourcePath": "/api/{proxy+}",
                "httpMethod": method,
                "path": f"/dev{path}",
                "stage": "dev",
                "accountId": "123456789012",
                "apiId": "abc123",
                "requestId": str(uuid.uuid4()),
                "identity": {"sourceIp": f"203.0.113.{uuid.uuid4().int % 250}", "userAgent": "bench"},
                "protocol": "HTTP/1.1",
                "requestTimeEpoch": 1764072000000,
            },
            "body": json.dumps(body) if body is not None else None,
            "isBase64Encoded": False,
        }
        u = self.meter.usage
        u.rest_requests += 1
        u.lambda_invocations["api"] += 1
        resp = self._invoke("ApiFunction", event)
        assert resp["statusCode"] < 300, resp
        return json.loads(resp["body"])  # type: ignore[no-any-return]

    def _invoke(self, name: str, event: dict[str, Any]) -> Any:
        try:
            return self.fns[name].invoke(event)
        finally:
            self.fns[name].module.metrics.clear_metrics()  # Powertools would print them every 100

    def drain(self) -> None:
        """What the two event source mappings do until nothing is left: SQS batches to the matcher,
        stream batches to the notifier."""
        while self._sqs_batch() + self._stream_batches():
            pass

    def _sqs_batch(self) -> int:
        msgs = self.sqs.receive_message(
            QueueUrl=self.queue,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        if not msgs:
            return 0
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:orders.fifo",
                "awsRegion": "us-east-1",
            }
            for m in msgs
        ]
        self.meter.usage.lambda_invocations["matcher"] += 1
        result = self._invoke("MatcherFunction", {"Records": records})
        assert not result["batchItemFailures"], result
        self.sqs.delete_message_batch(
            QueueUrl=self.queue,
            Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records)],
        )
        return len(records)

    def _stream_batches(self) -> int:
        records = [self._record(r) for r in self.shard.get(self.next_seq, 100)]
        if not records:
            return 0
        self.next_seq = max(int(r["dynamodb"]["SequenceNumber"]) for r in records) + 1
        u = self.meter.usage
        u.stream_reads += 1  # GetRecords by the event source mapping (free for Lambda triggers)
        u.lambda_invocations["notifier"] += 1
        result = self._invoke("NotifierFunction", {"Records": records})
        assert not result["batchItemFailures"], result
        return len(records)

    @staticmethod
    def _record(r: dict[str, Any]) -> dict[str, Any]:
        r, ddb = dict(r), dict(r["dynamodb"])
        created = ddb.get("ApproximateCreationDateTime")
        if created is not None and not isinstance(created, int | float):
            ddb["ApproximateCreationDateTime"] = int(created.timestamp())
        r["dynamodb"] = ddb
        return r

    # -------------------------------------------------------------- actors
    def trader(self, symbol: str, shares: int = 0) -> tuple[str, str]:
        email = f"t{uuid.uuid4().hex[:10]}@example.com"
        body = self.api("POST", "/api/auth/register", {"email": email, "password": "password123"}, None)
        user_id, token = body["user"]["id"], body["access_token"]
        if shares:
            self.admin.grant(user_id, symbol, shares)
        self.watch(symbol, user_id)
        return user_id, token

    def watch(self, symbol: str, user_id: str | None = None) -> None:
        conn = uuid.uuid4().hex[:12]
        self.connections.connect(conn, user_id, 1_764_072_000)
        channels = [f"user:{user_id}"] if user_id else [f"stock:{symbol}"]
        self.connections.subscribe(conn, channels, 1_764_072_000)

    def order(self, token: str, symbol: str, side: str, qty: int, price: int) -> dict[str, Any]:
        body = {
            "symbol": symbol,
            "side": side,
            "type": "limit",
            "quantity": qty,
            "limit_price": f"{price // 100}.{price % 100:02d}",
            "time_in_force": "gtc",
        }
        return self.api("POST", "/api/orders", body, token)


# ---------------------------------------------------------------------- scenarios
def scenario(stack: Stack, name: str, deep: int, watchers: int) -> Any:
    """Set the stock up (not metered), then meter the scenario's one order (or cancel) end to end."""
    symbol = "".join(chr(65 + b % 26) for b in uuid.uuid4().bytes[:5])
    stack.admin.list_stock(symbol, symbol, 10_000, 1)
    for _ in range(watchers):
        stack.watch(symbol)
    if deep:
        _, maker = stack.trader(symbol, shares=deep * 10)
        for i in range(deep):
            stack.order(maker, symbol, "buy", 1 + i % 7, 9_000 - i)
            stack.order(maker, symbol, "sell", 1 + i % 5, 10_100 + i)
    _, buyer = stack.trader(symbol)
    act: Any
    if name == "resting limit":

        def act() -> None:
            stack.order(buyer, symbol, "buy", 10, 9_500)
    elif name == "cross, 1 fill":
        _, seller = stack.trader(symbol, shares=10)
        stack.order(seller, symbol, "sell", 10, 10_000)

        def act() -> None:
            stack.order(buyer, symbol, "buy", 10, 10_000)
    elif name == "sweep, 5 levels":
        for i in range(5):
            _, seller = stack.trader(symbol, shares=2)
            stack.order(seller, symbol, "sell", 2, 10_000 + i)

        def act() -> None:
            stack.order(buyer, symbol, "buy", 10, 10_004)
    elif name == "10 resting, 1 batch":

        def act() -> None:
            for i in range(BATCH):
                stack.order(buyer, symbol, "buy", 1, 9_500 - i)
    else:  # cancel
        resting = stack.order(buyer, symbol, "buy", 10, 9_500)
        stack.drain()

        def act() -> None:
            stack.api("DELETE", f"/api/orders/{resting['id']}", None, buyer)

    stack.drain()
    stack.meter.reset()
    stack.meter.active = True
    act()
    stack.drain()
    stack.meter.active = False
    used = stack.meter.reset()
    return per_order(used, BATCH) if name.startswith(f"{BATCH} ") else used


BATCH = 10  # the matcher's SQS BatchSize: under load a batch carries up to 10 orders of a stock


def per_order(u: Any, n: int) -> Any:
    """One order's share of a scenario that placed ``n``."""
    for name in ("wru", "gsi_wru", "rru", "stream_reads", "sqs", "rest_requests", "ws_messages", "book_wru"):
        setattr(u, name, getattr(u, name) / n)
    for counter in (u.lambda_invocations, u.calls, u.by_item):
        for k in counter:
            counter[k] /= n
    u.orders = n
    return u


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--watchers", type=int, default=1, help="connections watching each stock channel")
    p.add_argument("--deep", type=int, default=100, help="levels a side of the deep-book runs (0: skip)")
    p.add_argument("--ms-api", type=float, default=40, help="assumed api invocation, ms")
    p.add_argument("--ms-matcher", type=float, default=80, help="assumed matcher invocation, ms")
    p.add_argument("--ms-notifier", type=float, default=40, help="assumed notifier invocation, ms")
    p.add_argument("--writes", action="store_true", help="list every item write of each scenario")
    args = p.parse_args()
    setup_aws()
    from moto import mock_aws

    from benchmarks.aws_cost_report import report

    with mock_aws():
        stack = Stack(args)
        results = []
        for deep in [0] + ([args.deep] if args.deep else []):
            for name in (
                "resting limit",
                "cross, 1 fill",
                "sweep, 5 levels",
                "cancel",
                f"{BATCH} resting, 1 batch",
            ):
                results.append((name, deep, scenario(stack, name, deep, args.watchers)))
        report(results, stack.ms, PRICES, SOURCES, args)


if __name__ == "__main__":
    main()
