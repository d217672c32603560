#!/usr/bin/env python3
"""Per-call cost of the local stack's moto process: the old server against the new, in one run.

Starts two moto processes side by side (local_stack/moto_process.py): "old" is moto's own
ThreadedMotoServer without local_stack/moto_speed.py (LOCAL_MOTO_SERVER=werkzeug,
LOCAL_MOTO_SPEED=0: what main served before issue 8), "new" is local_stack/moto_front.py with the
speed patches. Both have the fidelity patches. The same calls go to each, alternating by block;
prints the median ms per call and the ratio, then calls/s of 4 threads of GetItem.

    .venv/bin/python benchmarks/moto_calls.py --calls 200
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from local_stack.moto_process import MotoProcess  # noqa: E402
from local_stack.stack import free_port  # noqa: E402

CREDS = {"region_name": "us-east-1", "aws_access_key_id": "local", "aws_secret_access_key": "local"}
OLD_ENV = {"LOCAL_MOTO_SERVER": "werkzeug", "LOCAL_MOTO_SPEED": "0"}


def start(env: dict[str, str]) -> tuple[MotoProcess, str]:
    port = free_port()
    return MotoProcess(port, ROOT, None, env=env), f"http://127.0.0.1:{port}"


class Target:
    def __init__(self, endpoint: str) -> None:
        config = Config(retries={"max_attempts": 1}, max_pool_connections=8)
        self.ddb = boto3.client("dynamodb", endpoint_url=endpoint, config=config, **CREDS)
        self.sqs = boto3.client("sqs", endpoint_url=endpoint, config=config, **CREDS)
        self.ddb.create_table(
            TableName="bench",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        for i in range(10):
            self.ddb.put_item(TableName="bench", Item=self.item("P", f"{i:03}"))
        for i in range(10):
            self.ddb.put_item(TableName="bench", Item=self.item("T", f"{i:03}"))
        self.queue = self.sqs.create_queue(QueueName="bench.fifo", Attributes={"FifoQueue": "true"})[
            "QueueUrl"
        ]
        self.sent = 0

    @staticmethod
    def item(pk: str, sk: str) -> dict[str, Any]:
        return {
            "pk": {"S": pk},
            "sk": {"S": sk},
            "cash": {"N": "1000000"},
            "name": {"S": "x" * 40},
            "v": {"N": "1"},
        }

    def get(self) -> None:
        self.ddb.get_item(TableName="bench", Key={"pk": {"S": "P"}, "sk": {"S": "001"}}, ConsistentRead=True)

    def update(self) -> None:
        self.ddb.update_item(
            TableName="bench",
            Key={"pk": {"S": "P"}, "sk": {"S": "002"}},
            UpdateExpression="ADD v :one SET #n = :n",
            ConditionExpression="attribute_exists(pk) AND cash >= :zero",
            ExpressionAttributeNames={"#n": "name"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":n": {"S": "y" * 40}, ":zero": {"N": "0"}},
        )

    def transact(self, n: int) -> None:
        self.ddb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "bench",
                        "Key": {"pk": {"S": "T"}, "sk": {"S": f"{i:03}"}},
                        "UpdateExpression": "SET cash = cash - :c, v = v + :one",
                        "ConditionExpression": "cash >= :c",
                        "ExpressionAttributeValues": {":c": {"N": "1"}, ":one": {"N": "1"}},
                    }
                }
                for i in range(n)
            ]
        )

    def query(self) -> None:
        self.ddb.query(
            TableName="bench",
            KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
            ExpressionAttributeValues={":p": {"S": "P"}, ":s": {"S": "0"}},
        )

    def send(self) -> None:
        self.sent += 1
        self.sqs.send_message(
            QueueUrl=self.queue,
            MessageBody='{"order": 1}',
            MessageGroupId=f"g{self.sent % 4}",
            MessageDeduplicationId=str(self.sent),
        )

    def receive(self) -> None:
        got = self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=1, WaitTimeSeconds=0)
        for m in got.get("Messages", []):
            self.sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])


def paired_medians_ms(
    call: Callable[[Target], None], old: Target, new: Target, calls: int
) -> tuple[float, float]:
    """Old and new in turns, call by call: a load that comes and goes (other work on the machine)
    falls on both alike."""
    times: dict[int, list[float]] = {0: [], 1: []}
    for i in range(2 * calls):
        which = i % 2
        t = time.perf_counter()
        call(new if which else old)
        times[which].append((time.perf_counter() - t) * 1000)
    return statistics.median(times[0]), statistics.median(times[1])


def threaded_rate(fn: Callable[[], None], threads: int, seconds: float) -> float:
    done = [0] * threads
    stop = time.monotonic() + seconds

    def worker(i: int) -> None:
        while time.monotonic() < stop:
            fn()
            done[i] += 1

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / seconds


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=200)
    p.add_argument("--seconds", type=float, default=3.0, help="of the 4-thread GetItem run, per server")
    args = p.parse_args()
    processes = []
    try:
        old_process, old_url = start(OLD_ENV)
        processes.append(old_process)
        new_process, new_url = start({})
        processes.append(new_process)
        old, new = Target(old_url), Target(new_url)
        rows: list[tuple[str, Callable[[Target], None]]] = [
            ("GetItem", Target.get),
            ("UpdateItem (ADD, condition)", Target.update),
            ("TransactWriteItems, 2 updates", lambda t: t.transact(2)),
            ("TransactWriteItems, 10 updates", lambda t: t.transact(10)),
            ("Query, 10 items", Target.query),
            ("SQS FIFO SendMessage", Target.send),
            ("SQS ReceiveMessage + DeleteMessage", Target.receive),
        ]
        print(f"{'median ms per call':36} {'old':>8} {'new':>8} {'old/new':>8}")
        for name, call in rows:
            for target in (old, new):  # warm up: connections, moto's lazy imports
                for _ in range(5):
                    call(target)
            o, n = paired_medians_ms(call, old, new, args.calls)
            print(f"{name:36} {o:8.2f} {n:8.2f} {o / n:8.1f}")
        rates: dict[int, list[float]] = {0: [], 1: []}
        for i in range(6):  # in turns, for the same reason as above
            rates[i % 2].append(threaded_rate((new if i % 2 else old).get, 4, args.seconds / 3))
        o, n = statistics.mean(rates[0]), statistics.mean(rates[1])
        print(f"{'4 threads of GetItem, calls/s':36} {o:8.0f} {n:8.0f} {n / o:8.1f}x")
    finally:
        for process in processes:
            process.stop()


if __name__ == "__main__":
    main()
