"""The moto process with a state folder (local_stack/persistence.py): what it saves and how it
restores: queued and in-flight messages, stream positions, saves every few seconds, one owner."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local_stack import restored
from local_stack.event_sources import StreamPoller
from local_stack.moto_process import MotoProcess
from local_stack.stack import free_port
from local_stack.state_dir import StateDir, StateDirBusy
from local_stack.template import ROOT
from tests.integration.conftest import CREDS


class Moto:
    """Start / stop / kill the moto process on one state folder, each time on a fresh port."""

    def __init__(self, state: StateDir) -> None:
        self.state = state
        self.process: MotoProcess | None = None

    def start(self) -> MotoProcess:
        self.port = free_port()
        self.process = MotoProcess(self.port, ROOT, self.state)
        return self.process

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=f"http://127.0.0.1:{self.port}", **CREDS)

    def stop(self) -> None:
        assert self.process is not None
        self.process.stop()

    def kill(self) -> None:
        """kill -9 of the moto process itself: no last save."""
        assert self.process is not None
        os.kill(self.process.process.pid, signal.SIGKILL)
        self.process.process.wait(timeout=10)


@pytest.fixture
def moto(tmp_path: Path) -> Iterator[Moto]:
    m = Moto(StateDir(tmp_path / "state"))
    yield m
    if m.process is not None and m.process.poll() is None:
        m.kill()


def _fifo(sqs: Any, visibility_s: int = 180) -> str:
    attrs = {"FifoQueue": "true", "VisibilityTimeout": str(visibility_s)}
    return str(sqs.create_queue(QueueName="orders.fifo", Attributes=attrs)["QueueUrl"])


def test_queued_and_in_flight_messages_survive_a_restart_and_come_back_at_once_in_order(moto: Moto) -> None:
    # Given a FIFO group of four messages, the first two received (in flight for 180 s) when it stops
    moto.start()
    sqs = moto.client("sqs")
    url = _fifo(sqs)
    for i in range(4):
        sqs.send_message(
            QueueUrl=url, MessageBody=f"m{i}", MessageGroupId="ACME", MessageDeduplicationId=f"d{i}"
        )
    taken = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    assert [m["Body"] for m in taken] == ["m0", "m1"]
    moto.stop()

    # When it starts again on the same state folder
    moto.start()
    sqs = moto.client("sqs")
    url = sqs.get_queue_url(QueueName="orders.fifo")["QueueUrl"]

    # Then all four are there, the in-flight ones visible at once, the group in its order
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m1", "m2", "m3"]
    # the receives before the restart still count towards a dead-letter queue's maxReceiveCount
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in got] == ["2", "2", "1", "1"]


def _stream_table(ddb: Any) -> str:
    return str(
        ddb.create_table(
            TableName="exchange",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )["TableDescription"]["LatestStreamArn"]
    )


def _poller(moto: Moto, process: MotoProcess, arn: str, seen: list[str]) -> StreamPoller:
    def notifier(event: dict[str, Any]) -> None:
        seen.extend(r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"])

    return StreamPoller(
        moto.client("dynamodbstreams"),
        arn,
        notifier,
        stop=threading.Event(),
        resume=process.checkpoints.get(arn, {}),
        checkpoint=process.checkpoint,
    )


def test_the_stream_poller_resumes_after_its_checkpoint_losing_and_repeating_nothing(
    moto: Moto,
) -> None:
    # Given a stream poller that delivered three records, then the stack stopped
    process = moto.start()
    ddb = moto.client("dynamodb")
    arn = _stream_table(ddb)
    seen: list[str] = []
    for pk in ("a", "b", "c"):
        ddb.put_item(TableName="exchange", Item={"pk": {"S": pk}})
    poller = _poller(moto, process, arn, seen)
    while poller.poll_once():
        pass
    assert seen == ["a", "b", "c"]
    sequence = moto.client("dynamodbstreams").get_records(
        ShardIterator=moto.client("dynamodbstreams").get_shard_iterator(
            StreamArn=arn, ShardId=next(iter(poller.iterators)), ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
    )["Records"][-1]["dynamodb"]["SequenceNumber"]
    moto.stop()

    # When it starts again, with a write before and one after the poller resumes
    process = moto.start()
    assert process.restored and list(process.checkpoints[arn].values()) == [sequence]
    ddb = moto.client("dynamodb")
    ddb.put_item(TableName="exchange", Item={"pk": {"S": "d"}})
    seen.clear()
    poller = _poller(moto, process, arn, seen)
    while poller.poll_once():
        pass
    ddb.put_item(TableName="exchange", Item={"pk": {"S": "e"}})
    while poller.poll_once():
        pass

    # Then it delivers only what it had not delivered, and sequence numbers carry on
    assert seen == ["d", "e"]
    streams = moto.client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    records = streams.get_records(
        ShardIterator=streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
    )["Records"]
    assert [int(r["dynamodb"]["SequenceNumber"]) for r in records] == [int(sequence) + 1, int(sequence) + 2]


def test_saved_every_few_seconds_so_a_kill_of_moto_itself_loses_only_the_last_writes(
    moto: Moto,
) -> None:
    # Given a write, then a few seconds of quiet, then a write just before moto itself is killed
    moto.start()
    ddb = moto.client("dynamodb")
    _stream_table(ddb)
    ddb.put_item(TableName="exchange", Item={"pk": {"S": "kept"}})
    time.sleep(3)  # more than the 2 s between saves
    ddb.put_item(TableName="exchange", Item={"pk": {"S": "at-risk"}})
    moto.kill()

    # When it starts again
    moto.start()
    ddb = moto.client("dynamodb")

    # Then the write that a periodic save caught is there
    assert "Item" in ddb.get_item(TableName="exchange", Key={"pk": {"S": "kept"}})


def test_one_moto_process_owns_a_state_folder_and_reset_waits_for_it_to_go(moto: Moto) -> None:
    # Given a running moto process on a state folder with a table in it
    moto.start()
    _stream_table(moto.client("dynamodb"))

    # Then reset is refused while it runs
    with pytest.raises(StateDirBusy):
        moto.state.reset()

    # And once it stopped, reset empties the folder (the signing key too) and a start is empty
    secret = moto.state.jwt_secret()
    assert moto.state.jwt_secret() == secret
    moto.stop()
    assert moto.state.snapshot.exists()
    moto.state.reset()
    assert not moto.state.snapshot.exists()
    assert moto.state.jwt_secret() != secret
    process = moto.start()
    assert not process.restored
    assert moto.client("dynamodb").list_tables()["TableNames"] == []


def test_a_restored_table_gets_the_templates_indexes_and_they_cover_old_items(moto: Moto) -> None:
    # Given a restored table whose one index is not the template's (the template changed meanwhile)
    moto.start()
    ddb = moto.client("dynamodb")
    attrs = [{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "a", "b")]
    ddb.create_table(
        TableName="T",
        AttributeDefinitions=attrs[:2],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by_x",
                "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "gone",
                "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    )
    ddb.put_item(TableName="T", Item={"pk": {"S": "1"}, "a": {"S": "x"}, "b": {"S": "y"}})
    template = {
        "AttributeDefinitions": attrs,
        "GlobalSecondaryIndexes": [
            {
                "IndexName": "by_x",
                "KeySchema": [{"AttributeName": "b", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "new",
                "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            },
        ],
    }

    # When the stack aligns it with the template
    restored.align_indexes(ddb, template, ddb.describe_table(TableName="T")["Table"])

    # Then it has exactly the template's indexes, and they find the item written before
    desc = ddb.describe_table(TableName="T")["Table"]
    assert {g["IndexName"]: g["KeySchema"][0]["AttributeName"] for g in desc["GlobalSecondaryIndexes"]} == {
        "by_x": "b",
        "new": "a",
    }
    for index, key, value in (("by_x", "b", "y"), ("new", "a", "x")):
        found = ddb.query(
            TableName="T",
            IndexName=index,
            KeyConditionExpression="#k = :v",
            ExpressionAttributeNames={"#k": key},
            ExpressionAttributeValues={":v": {"S": value}},
        )["Items"]
        assert [i["pk"]["S"] for i in found] == ["1"]


def test_a_sigterm_of_moto_itself_saves_before_it_exits(moto: Moto) -> None:
    # Given a write just now (no periodic save has caught it yet)
    moto.start()
    ddb = moto.client("dynamodb")
    _stream_table(ddb)
    ddb.put_item(TableName="exchange", Item={"pk": {"S": "last"}})

    # When moto alone is sent SIGTERM (a `kill` of it, or of the whole process group)
    assert moto.process is not None
    moto.process.process.terminate()
    moto.process.process.wait(timeout=30)

    # Then a restart finds that write
    moto.start()
    assert "Item" in moto.client("dynamodb").get_item(TableName="exchange", Key={"pk": {"S": "last"}})
