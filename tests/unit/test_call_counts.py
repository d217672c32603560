"""The local stack's AWS call counter (LOCAL_CALL_COUNTS): by function, service and operation."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
from moto import mock_aws

from local_stack import call_counts, faults


def test_calls_are_counted_by_the_function_running_them(tmp_path: Path) -> None:
    session = boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    counts = call_counts.install(session.events)
    before = counts.snapshot()["calls"]
    with mock_aws():
        sqs = session.client("sqs")
        url = sqs.create_queue(QueueName="q")["QueueUrl"]  # under no function: the event sources
        with faults.running("ApiFunction"):
            sqs.send_message(QueueUrl=url, MessageBody="a")
            sqs.send_message(QueueUrl=url, MessageBody="b")
        with faults.running("MatcherFunction"):
            sqs.receive_message(QueueUrl=url)
    calls = {(f, s, o): n for f, s, o, n in counts.snapshot()["calls"]}
    old = {(f, s, o): n for f, s, o, n in before}
    new = {k: n - old.get(k, 0) for k, n in calls.items() if n != old.get(k, 0)}
    assert new == {
        (call_counts.EVENT_SOURCES, "sqs", "CreateQueue"): 1,
        ("ApiFunction", "sqs", "SendMessage"): 2,
        ("MatcherFunction", "sqs", "ReceiveMessage"): 1,
    }
    path = tmp_path / "counts.json"
    counts.write(path)
    assert ["ApiFunction", "sqs", "SendMessage", calls[("ApiFunction", "sqs", "SendMessage")]] in json.loads(
        path.read_text()
    )["calls"]


def test_nothing_is_installed_without_the_variable() -> None:
    assert call_counts.install_from_env({}) is None
