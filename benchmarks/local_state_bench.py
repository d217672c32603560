"""What a save of the local stack's state costs (local_stack/persistence.py), for N order-like items.

    .venv/bin/python benchmarks/local_state_bench.py 1000 10000 [--no-fork] [--delivered]

For each N: moto in this process with the template's ExchangeTable (its GSIs and stream) and the
orders FIFO queue; N items of ~20 attributes (each write also leaves a stream record, as in the
stack) and N/10 queued messages; then `save` three times (median) and one `restore`. `pause` is
how long every DynamoDB and SQS request waits (a fork; with --no-fork, the pickling) under the
locks; `write` is the rest (pickling in the forked child, the file write with fsync).
`--delivered`: the stream poller has delivered every record (a running stack's steady state), so
a forked save leaves the stream records out.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local_stack import persistence
from local_stack.stack import free_port
from local_stack.template import LocalTemplate

CREDS = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}


def _order(i: int) -> dict[str, Any]:
    n = {"N": str(i)}
    return {
        "pk": {"S": f"USER#{i % 50:04d}"},
        "sk": {"S": f"ORDER#{i:026d}"},
        "gsi1pk": {"S": f"ORDERS#{i % 50:04d}"},
        "gsi1sk": {"S": f"{i:026d}"},
        "book_symbol": {"S": "ACME"},
        "book_seq": n,
        "id": {"S": f"{i:026d}"},
        "user_id": {"S": f"{i % 50:04d}"},
        "symbol": {"S": "ACME"},
        "side": {"S": "buy" if i % 2 else "sell"},
        "type": {"S": "limit"},
        "tif": {"S": "gtc"},
        "quantity": {"N": "10"},
        "limit_price": {"N": "10000"},
        "filled_quantity": {"N": "0"},
        "remaining_quantity": {"N": "10"},
        "status": {"S": "open"},
        "reserved_cash": {"N": "100000"},
        "created_at": n,
        "updated_at": n,
    }


def _delivered() -> persistence.Checkpoints:
    """Checkpoints as a running stack's would be: every stream record delivered."""
    from moto.backends import get_backend

    table = get_backend("dynamodb")["123456789012"]["us-east-1"].tables["ExchangeTable"]  # type: ignore[index]
    shard = table.stream_shard
    last = shard.starting_sequence_number + len(shard.items) - 1
    return {persistence.stream_arn(table): {shard.id: str(last)}}


def main(sizes: list[int], fork: bool, delivered: bool) -> None:
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    persistence.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, **CREDS)
    sqs = boto3.client("sqs", endpoint_url=endpoint, **CREDS)
    ddb.create_table(**LocalTemplate().create_table_args()["ExchangeTable"])
    url = sqs.create_queue(QueueName="orders.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    written = 0
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "moto.pickle"
        print("items  stream  messages  size MB  pause ms  write ms  restore ms")
        for size in sorted(sizes):
            while written < size:
                batch = [{"PutRequest": {"Item": _order(i)}} for i in range(written, min(written + 25, size))]
                ddb.batch_write_item(RequestItems={"ExchangeTable": batch})
                if written % 250 == 0:
                    sqs.send_message_batch(
                        QueueUrl=url,
                        Entries=[
                            {
                                "Id": str(k),
                                "MessageBody": "{}",
                                "MessageGroupId": "ACME",
                                "MessageDeduplicationId": f"{written}-{k}",
                            }
                            for k in range(10)
                        ],
                    )
                written += len(batch)
            runs = [persistence.save(path, _delivered() if delivered else {}, fork=fork) for _ in range(3)]
            started = time.perf_counter()
            persistence.restore(path)
            restore_ms = (time.perf_counter() - started) * 1000
            s = runs[-1]
            print(
                f"{s.items:>5}  {s.stream_records:>6}  {s.messages:>8}  {s.size_bytes / 1e6:>7.1f}  "
                f"{statistics.median(r.pause_ms for r in runs):>8.0f}  "
                f"{statistics.median(r.write_ms for r in runs):>8.0f}  {restore_ms:>10.0f}"
            )
    server.stop()
    os._exit(0)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(
        [int(a) for a in args] or [1000, 10000],
        fork="--no-fork" not in sys.argv,
        delivered="--delivered" in sys.argv,
    )
