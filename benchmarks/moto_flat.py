"""Flat microbenchmarks: what a Query or a FIFO send/receive costs as the rest of the table or queue
grows, on plain moto and on the local stack's patched moto, in the same run.

Two moto servers in processes of their own (the patches are process-wide), called over HTTP as
the local stack calls its moto process. The "elsewhere" items and the queued messages are written
straight into each server's backend (the same state requests would leave, minutes faster).

    .venv/bin/python -m benchmarks.moto_flat                 # up to 10,000 (about a minute)
    .venv/bin/python -m benchmarks.moto_flat --items 10,1000,10000,50000 --queued 0,1000,10000

Query: 10 items of one partition, base table and a GSI, with N items in other partitions (and,
on the GSI, in other GSI partitions). FIFO: SendMessage, ReceiveMessage, DeleteMessage of one
message with N messages queued ahead of it in a group that is in flight (blocked), the worst case
for a receive, which must pass them by. Median ms per call; plain moto is sampled fewer times
where it is slow.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local_stack.stack import free_port

ROOT = Path(__file__).resolve().parents[1]
CREDS = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
_SERVER = """
import json, logging, sys
if sys.argv[2] == "patched":
    from local_stack import moto_fidelity
    moto_fidelity.install()
logging.getLogger("werkzeug").setLevel(logging.WARNING)
from moto.backends import get_backend
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
for line in sys.stdin:
    command = json.loads(line)
    if "items" in command:
        table, start, count = command["items"]
        backend = get_backend("dynamodb")["123456789012"]["us-east-1"]
        for i in range(start, start + count):
            item = {"pk": {"S": f"other-{i % 997}"}, "sk": {"N": str(i)}, "g": {"S": f"g-{i % 991}"}}
            item.update({"gr": {"N": str(i)}, "pad": {"S": "x" * 100}})
            backend.put_item(table, item)
    if "messages" in command:  # as SendMessage leaves them (sending 10,000 to plain moto takes hours)
        from moto.sqs.models import Message
        url, start, count = command["messages"]
        queue = get_backend("sqs")["123456789012"]["us-east-1"].get_queue(url.rsplit("/", 1)[1])
        for i in range(start, start + count):
            message = Message(f"backlog-{i}", f"backlog {i}")
            message.deduplication_id, message.group_id, message.sequence_number = f"b{i}", "backlog", str(i)
            message.mark_sent()
            queue._messages.append(message)
        if sys.argv[2] == "patched":
            from local_stack import moto_sqs
            moto_sqs.forget(queue)  # rebuilt from the queue's messages at the next call
    print("ok", flush=True)
server.stop()
"""


class Server:
    def __init__(self, patched: bool) -> None:
        self.name = "patched" if patched else "plain"
        port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(port), self.name],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}"
        config = Config(retries={"max_attempts": 1})
        self.ddb = boto3.client("dynamodb", endpoint_url=url, config=config, **CREDS)
        self.sqs = boto3.client("sqs", endpoint_url=url, config=config, **CREDS)

    def command(self, **command: Any) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "ok"

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def medians_ms(fns: list[Callable[[], Any]], calls: list[int]) -> list[float]:
    """Median ms per call of each; the calls interleaved (the machine's noise hits all alike)."""
    times: list[list[float]] = [[] for _ in fns]
    for fn in fns:
        fn()  # warm (the patched side builds its index at the first Query)
    for round_ in range(max(calls)):
        for fn, n, spent in zip(fns, calls, times, strict=True):
            if round_ * n // max(calls) != (round_ + 1) * n // max(calls):  # n of the rounds, spread
                started = time.perf_counter()
                fn()
                spent.append((time.perf_counter() - started) * 1000)
    return [statistics.median(spent) for spent in times]


def _table(server: Server) -> None:
    server.ddb.create_table(
        TableName="flat",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "g", "AttributeType": "S"},
            {"AttributeName": "gr", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [
                    {"AttributeName": "g", "KeyType": "HASH"},
                    {"AttributeName": "gr", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for i in range(10):
        item = {"pk": {"S": "target"}, "sk": {"N": str(i)}, "g": {"S": "target"}, "gr": {"N": str(i)}}
        server.ddb.put_item(TableName="flat", Item=item)


def queries(servers: list[Server], sizes: list[int], calls: int) -> None:
    print("Query, 10 items of one partition: median ms per call (N items elsewhere)")
    print(f"{'N':>8} {'base plain':>11} {'base patched':>13} {'GSI plain':>10} {'GSI patched':>12}")
    for server in servers:
        _table(server)
    stored = 0
    for size in sizes:
        row = []
        for server in servers:
            server.command(items=["flat", stored, size - stored])
        stored = size
        for kind in ("base", "gsi"):
            kwargs: dict[str, Any] = {
                "TableName": "flat",
                "ExpressionAttributeValues": {":v": {"S": "target"}},
            }
            if kind == "base":
                kwargs["KeyConditionExpression"] = "pk = :v"
            else:
                kwargs.update(IndexName="by-g", KeyConditionExpression="g = :v")
            plain_calls = calls if size <= 1000 else max(3, calls * 1000 // size)

            def query(server: Server, kwargs: dict[str, Any] = kwargs) -> None:
                assert server.ddb.query(**kwargs)["Count"] == 10

            row += medians_ms([functools.partial(query, server) for server in servers], [plain_calls, calls])
        print(f"{size:>8} {row[0]:>11.1f} {row[1]:>13.1f} {row[2]:>10.1f} {row[3]:>12.1f}")


def fifo(servers: list[Server], depths: list[int], calls: int) -> None:
    print("FIFO queue: median ms per call (N messages queued ahead, their group in flight)")
    print(f"{'N':>8} {'send plain':>11} {'send patched':>13} {'recv plain':>11} {'recv patched':>13}"
          f" {'del plain':>10} {'del patched':>12}")  # fmt: skip
    urls = {}
    for server in servers:
        url = server.sqs.create_queue(QueueName="flat.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        server.sqs.send_message(
            QueueUrl=url, MessageBody="blocker", MessageGroupId="backlog", MessageDeduplicationId="x"
        )
        got = server.sqs.receive_message(QueueUrl=url, VisibilityTimeout=3600)["Messages"]
        assert got[0]["Body"] == "blocker"  # in flight for the whole run: the backlog group is blocked
        urls[server.name] = url
    queued = 0
    sequence = iter(range(10**9))
    for depth in depths:
        for server in servers:
            server.command(messages=[urls[server.name], queued, depth - queued])
        queued = depth
        figures: dict[str, list[float]] = {}
        for server in servers:
            url = urls[server.name]
            n = calls if server.name == "patched" or depth < 1000 else max(3, calls * 100 // depth)
            sends, receives, deletes = [], [], []
            for _ in range(n + 1):
                i = next(sequence)
                t0 = time.perf_counter()
                server.sqs.send_message(
                    QueueUrl=url,
                    MessageBody=f"probe {i}",
                    MessageGroupId=f"p{i}",
                    MessageDeduplicationId=f"p{i}",
                )
                t1 = time.perf_counter()
                got = server.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
                t2 = time.perf_counter()
                assert got[0]["Body"] == f"probe {i}"
                server.sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
                t3 = time.perf_counter()
                sends.append((t1 - t0) * 1000)
                receives.append((t2 - t1) * 1000)
                deletes.append((t3 - t2) * 1000)
            figures[server.name] = [statistics.median(x[1:]) for x in (sends, receives, deletes)]
        p, q = figures["plain"], figures["patched"]
        print(
            f"{depth:>8} {p[0]:>11.1f} {q[0]:>13.1f} {p[1]:>11.1f} {q[1]:>13.1f} {p[2]:>10.1f} {q[2]:>12.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", default="10,1000,10000", help="items elsewhere in the table, ascending")
    parser.add_argument("--queued", default="0,1000,10000", help="messages queued ahead, ascending")
    parser.add_argument("--calls", type=int, default=20, help="calls per figure (patched side)")
    args = parser.parse_args()
    servers = [Server(False), Server(True)]
    try:
        queries(servers, [int(n) for n in args.items.split(",")], args.calls)
        fifo(servers, [int(n) for n in args.queued.split(",")], args.calls)
    finally:
        for server in servers:
            server.close()


if __name__ == "__main__":
    main()
