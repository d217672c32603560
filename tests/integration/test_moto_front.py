"""The local stack's moto front (local_stack/moto_front.py) and speed patches
(local_stack/moto_speed.py) answer exactly what moto's own server answers.

Two moto processes side by side: moto's ThreadedMotoServer without the speed patches (the baseline,
LOCAL_MOTO_SERVER=werkzeug LOCAL_MOTO_SPEED=0) and the local stack's (front + speed patches), both
with the fidelity patches. The same real botocore requests - every operation the application, the
pollers and the tools use, and their errors - go to both; status, headers (in order) and body
(keys in order) must be equal, once what moto makes random or from the clock (request ids, message
ids, receipt handles, timestamps, stream labels, the CRC of a body that holds them) is masked.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from local_stack import moto_fidelity, moto_speed
from local_stack.moto_process import MotoProcess
from local_stack.stack import free_port
from tests.integration.conftest import CREDS
from tests.integration.moto_front_scripts import dynamodb_script, sqs_script

ROOT = Path(__file__).resolve().parents[2]
BASELINE = {"LOCAL_MOTO_SERVER": "werkzeug", "LOCAL_MOTO_SPEED": "0"}
# header names whose values are the clock's or random (or, for the CRC, of a body that holds such)
VOLATILE_HEADERS = {"date", "server", "connection", "x-amzn-requestid", "x-amz-crc32", "keep-alive"}
VOLATILE_KEYS = {
    "MessageId",
    "ReceiptHandle",
    "CreationDateTime",
    "LatestStreamLabel",
    "LatestStreamArn",
    "StreamArn",
    "StreamLabel",
    "ShardIterator",
    "NextShardIterator",
    "ApproximateCreationDateTime",
    "SentTimestamp",
    "ApproximateFirstReceiveTimestamp",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "eventID",
    "SequenceNumber",
    "StartingSequenceNumber",
    "EndingSequenceNumber",
    "ShardId",
    "LastEvaluatedShardId",
    "SequenceNumberForOrdering",
    "ProvisionedThroughput",
    "LastIncreaseDateTime",
    "LastDecreaseDateTime",
    "TableId",
    "CreationRequestDateTime",
    "SizeBytes",  # of a stream record: its size includes the volatile fields
}


def _start(env: dict[str, str]) -> tuple[MotoProcess, str]:
    # every baseline variable set or unset; the order of a string set's members the same in both
    overlay: dict[str, str | None] = {k: None for k in BASELINE}
    overlay.update(env, PYTHONHASHSEED="0")
    port = free_port()
    return MotoProcess(port, ROOT, None, env=overlay), f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str]]:
    baseline, baseline_url = _start(BASELINE)
    front, front_url = _start({})
    try:
        yield baseline_url, front_url
    finally:
        baseline.stop()
        front.stop()


class Recorder:
    """Clients of one server; every raw answer they get, in order."""

    def __init__(self, endpoint: str) -> None:
        self.answers: list[tuple[str, int, list[tuple[str, str]], Any]] = []
        self.endpoint = endpoint.encode()
        config = Config(retries={"max_attempts": 1})
        self.clients = {
            s: boto3.client(s, endpoint_url=endpoint, config=config, **CREDS)  # type: ignore[call-overload]
            for s in ("dynamodb", "dynamodbstreams", "sqs", "sts")
        }
        for client in self.clients.values():
            client.meta.events.register("before-parse", self._record)

    def _record(self, operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        body = response_dict["body"]
        headers = [(k, v) for k, v in response_dict["headers"].items() if k.lower() not in VOLATILE_HEADERS]
        # its value follows the volatile values' lengths: it must be the body's, on both servers
        assert int(response_dict["headers"]["content-length"]) == len(body)
        headers = [(k, "<length>" if k.lower() == "content-length" else v) for k, v in headers]
        try:
            parsed: Any = _mask(json.loads(body.replace(self.endpoint, b"<endpoint>")))
        except ValueError:
            parsed = re.sub(rb"<RequestId>[^<]*</RequestId>", b"<RequestId/>", body)
        self.answers.append((operation_model.name, response_dict["status_code"], headers, parsed))

    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self.clients[service], operation)(**kwargs))
        except ClientError as exc:
            return {"Error": exc.response["Error"]}


def _mask(value: Any) -> Any:
    if isinstance(value, dict):
        return [(k, "<volatile>" if k in VOLATILE_KEYS else _mask(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [_mask(v) for v in value]
    return value


@pytest.mark.parametrize("script", [dynamodb_script, sqs_script], ids=["dynamodb", "sqs"])
def test_the_front_answers_what_motos_server_answers(
    servers: tuple[str, str], script: Callable[[Recorder], None]
) -> None:
    # Given the same requests sent to moto's own server and to the local stack's
    baseline, front = Recorder(servers[0]), Recorder(servers[1])
    script(baseline)
    script(front)
    # Then every answer is the same, status, headers and body
    assert len(front.answers) == len(baseline.answers)
    for ours, theirs in zip(front.answers, baseline.answers, strict=True):
        assert ours == theirs, _first_difference(ours, theirs)


def _first_difference(ours: Any, theirs: Any, path: str = "") -> str:
    if isinstance(ours, list | tuple) and isinstance(theirs, list | tuple) and len(ours) == len(theirs):
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{i}]")
    return f"at {path}: front {ours!r} != moto {theirs!r}"


def test_a_long_poll_is_answered_by_a_later_send_and_blocks_nobody(servers: tuple[str, str]) -> None:
    # Given a long poll waiting on an empty queue
    sqs = boto3.client("sqs", endpoint_url=servers[1], **CREDS)
    ddb = boto3.client("dynamodb", endpoint_url=servers[1], **CREDS)
    url = sqs.create_queue(QueueName="wakes")["QueueUrl"]
    answer: dict[str, Any] = {}

    def poll() -> None:
        started = time.monotonic()
        answer["messages"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
        answer["after_s"] = time.monotonic() - started

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.3)
    # When other requests are served meanwhile, and a message is sent
    assert "TableNames" in ddb.list_tables()
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    waiter.join(timeout=5)
    # Then the poll answers with it, long before its wait is over
    assert [m["Body"] for m in answer["messages"]] == ["hello"]
    assert answer["after_s"] < 5


def test_a_long_poll_that_finds_nothing_answers_when_its_wait_is_over(servers: tuple[str, str]) -> None:
    sqs = boto3.client("sqs", endpoint_url=servers[1], **CREDS)
    url = sqs.create_queue(QueueName="stays-empty", Attributes={"ReceiveMessageWaitTimeSeconds": "1"})[
        "QueueUrl"
    ]
    started = time.monotonic()
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []  # the queue's own wait: 1 s
    assert 0.9 < time.monotonic() - started < 3


# ------------------------------------------------------------------ moto_speed, in this process
_SCALAR = st.text(max_size=5)


def _or_none(inner: Any) -> Any:
    return st.one_of(inner, st.none())


_ATTRIBUTE_VALUES = st.recursive(
    st.one_of(
        st.builds(lambda v: {"S": v}, _SCALAR),
        st.builds(lambda v: {"N": v}, st.integers().map(str)),
        st.builds(lambda v: {"B": v}, st.binary(max_size=5)),
        st.builds(lambda v: {"BOOL": v}, st.booleans()),
        st.just({"NULL": True}),
        st.builds(lambda v: {"SS": v}, st.lists(_SCALAR, max_size=3)),
        st.builds(lambda v: {"NS": v}, st.lists(st.integers().map(str), max_size=3)),
        st.builds(lambda v: {"BS": v}, st.lists(st.binary(max_size=3), max_size=3)),
        st.builds(lambda v: {"S": v}, st.integers()),  # not a str: the generic walk's str()
        st.just({"S": "a", "N": "1"}),  # two types: the generic walk
        st.just({"NULL": None}),
    ),
    lambda inner: st.one_of(
        st.builds(
            lambda v: {"M": v}, st.dictionaries(st.text(max_size=3), st.one_of(inner, st.none()), max_size=3)
        ),
        st.builds(lambda v: {"L": v}, st.lists(_or_none(inner), max_size=3)),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(item=st.dictionaries(st.text(min_size=1, max_size=3), _ATTRIBUTE_VALUES, max_size=4))
def test_attribute_values_serialize_as_the_generic_walk_does(item: dict[str, Any]) -> None:
    from moto.core.serialize import JSONSerializer, XFormedAttributePicker
    from moto.core.utils import get_service_model

    moto_fidelity.install()  # with moto_speed: what the local stack's moto process serves

    class Walked(JSONSerializer):
        _serialize_type_structure = moto_speed.GENERIC_SERIALIZE_STRUCTURE

    operation = get_service_model("dynamodb").operation_model("GetItem")
    answers = [
        cls(operation_model=operation, value_picker=XFormedAttributePicker()).serialize({"Item": item})
        for cls in (JSONSerializer, Walked)
    ]
    assert answers[0] == answers[1]


@pytest.mark.parametrize(
    "expression",
    [
        "ADD v :one SET #n = :n",
        "SET cash = cash - :c, v = v + :one",
        "SET #n = #n - :c, z = if_not_exists(z, :c) REMOVE gpk",
        "SET a = list_append(a, :l), b[1].c = :x DELETE s :s",
        "REMOVE a, b.c[2]",
    ],
)
def test_a_parsed_update_tree_is_cloned_as_deepcopy_copies_it(expression: str) -> None:
    from moto.dynamodb.parsing.ast_nodes import Node
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    tree = UpdateExpressionParser.make(expression)
    clone = moto_speed._clone(tree, None, None, Node, set())
    assert _shape(clone) == _shape(copy.deepcopy(tree))
    assert _links_ok(clone) and not _shares_a_node(clone, tree)
    # a node reached twice is no plain tree: deepcopy's job
    tree.children.append(tree.children[0])
    with pytest.raises(moto_speed._NotPlain):
        moto_speed._clone(tree, None, None, Node, set())
    tree.children.pop()


def _shape(node: Any) -> Any:
    if isinstance(node, list):
        return [_shape(n) for n in node]
    if hasattr(node, "__dict__"):
        return type(node), {k: _shape(v) for k, v in vars(node).items() if k != "parent"}
    return node


def _links_ok(node: Any) -> bool:
    children = [c for c in (getattr(node, "children", None) or []) if hasattr(c, "children")]
    return all(c.parent is node and _links_ok(c) for c in children)


def _shares_a_node(a: Any, b: Any) -> bool:
    if a is b and hasattr(a, "__dict__"):
        return True
    kids = zip(getattr(a, "children", None) or [], getattr(b, "children", None) or [], strict=False)
    return any(_shares_a_node(x, y) for x, y in kids)


def test_concurrent_requests_through_the_front_keep_every_committed_write(servers: tuple[str, str]) -> None:
    # Given a counter and clients that increment it while others run transactions that are cancelled
    config = Config(retries={"max_attempts": 1}, max_pool_connections=10)
    ddb = boto3.client("dynamodb", endpoint_url=servers[1], config=config, **CREDS)
    ddb.create_table(
        TableName="isolation",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    ddb.put_item(TableName="isolation", Item={"pk": {"S": "counter"}, "n": {"N": "0"}})
    acknowledged: list[int] = []

    def increment() -> None:
        for _ in range(40):
            ddb.update_item(
                TableName="isolation",
                Key={"pk": {"S": "counter"}},
                UpdateExpression="ADD n :one",
                ExpressionAttributeValues={":one": {"N": "1"}},
            )
            acknowledged.append(1)

    def cancelled() -> None:
        for _ in range(20):
            with pytest.raises(ClientError):
                ddb.transact_write_items(
                    TransactItems=[
                        {"Update": {"TableName": "isolation", "Key": {"pk": {"S": "counter"}},
                                    "UpdateExpression": "ADD n :big",
                                    "ExpressionAttributeValues": {":big": {"N": "1000"}}}},
                        {"ConditionCheck": {"TableName": "isolation", "Key": {"pk": {"S": "absent"}},
                                            "ConditionExpression": "attribute_exists(pk)"}},
                    ]
                )  # fmt: skip

    threads = [threading.Thread(target=f) for f in (increment, increment, increment, cancelled, cancelled)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then the counter holds every acknowledged increment and nothing of the cancelled transactions
    item = ddb.get_item(TableName="isolation", Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]
    assert int(item["n"]["N"]) == len(acknowledged) == 120
