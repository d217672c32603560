"""The local stack's moto answers exactly as plain moto where only speed was changed.

Random tables (with and without a range key, GSIs with and without one, sparse, every projection,
an LSI), random writes (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems, some
cancelled) with random Queries in between (base table and every index, key conditions with every
operator, Limit, ScanIndexForward, FilterExpression, ProjectionExpression, Select=COUNT, paged with
LastEvaluatedKey to the end) go to two moto servers: a plain one and one with the fidelity patches
(local_stack/moto_index.py's Query among them). Every answer, error or not, must be the same.
Likewise for SQS FIFO queues (local_stack/moto_sqs.py): sends with and without deduplication,
receives, deletes, visibility changes, the approximate counts.

Each server runs in a process of its own: the patches are process-wide.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from local_stack.stack import free_port
from tests.integration.conftest import CREDS

ROOT = Path(__file__).resolve().parents[2]
_SERVER = """
import sys
if sys.argv[2] == "patched":
    from local_stack import moto_fidelity
    moto_fidelity.install()
import logging
logging.getLogger("werkzeug").setLevel(logging.WARNING)
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
sys.stdin.read()
server.stop()
if sys.argv[2] == "patched":
    import json
    from local_stack import moto_index
    print(json.dumps(moto_index.COUNTS), flush=True)
"""


class Side:
    def __init__(self, patched: bool) -> None:
        port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(port), "patched" if patched else "plain"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}"
        config = Config(retries={"max_attempts": 1})
        self.ddb = boto3.client("dynamodb", endpoint_url=url, config=config, **CREDS)
        self.sqs = boto3.client("sqs", endpoint_url=url, config=config, **CREDS)

    def close(self) -> str:
        """Stops the server; what it printed last (the patched one: moto_index.COUNTS)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        try:
            said = self.process.stdout.read()
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            said = ""
        return said.strip()


@pytest.fixture(scope="module")
def sides() -> Iterator[tuple[Side, Side]]:
    plain, patched = Side(False), Side(True)
    yield plain, patched
    plain.close()
    counts = json.loads(patched.close())
    # the patched side answered most Queries over its index, never from a stale one
    assert counts["stale"] == 0
    if counts["windowed"] + counts["walked"]:
        assert counts["windowed"] > counts["walked"]


def call(client: Any, method: str, **kwargs: Any) -> Any:
    try:
        answer = getattr(client, method)(**kwargs)
    except ClientError as e:
        return ("error", e.response["Error"].get("Code"), e.response["Error"].get("Message"))
    answer.pop("ResponseMetadata", None)
    return answer


def both(sides: tuple[Side, Side], service: str, method: str, **kwargs: Any) -> Any:
    plain, patched = (call(getattr(side, service), method, **kwargs) for side in sides)
    assert patched == plain, f"{method} {kwargs}"
    return plain


def created(sides: tuple[Side, Side], **spec: Any) -> None:
    """Both create the table (their descriptions differ in timestamps)."""
    for side in sides:
        side.ddb.create_table(**spec)


# ---------------------------------------------------------------------------------------- DynamoDB
TYPES = {"pk": "S", "g0": "S", "g1": "N", "r0": "N", "r1": "S"}
GSI_KEYS = [("g0", None), ("g0", "r0"), ("g1", "r1"), ("g1", None), ("g0", "r1")]
PROJECTIONS = [
    {"ProjectionType": "ALL"},
    {"ProjectionType": "KEYS_ONLY"},
    {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]},
]
VALUES = {
    "pk": st.sampled_from(["p0", "p1"]),
    "skS": st.sampled_from(["s0", "s1", "s10", "s2", "t"]),
    "skN": st.sampled_from(["0", "1", "2", "5", "-1", "2.5"]),
    "g0": st.sampled_from(["x", "y"]),
    "g1": st.sampled_from(["1", "2"]),
    "r0": st.sampled_from(["0", "1", "2", "4"]),
    "r1": st.sampled_from(["a", "ab", "b", "ba", "c"]),
    "a": st.sampled_from(["1", "2", "3"]),
    "b": st.sampled_from(["u", "v"]),
}
_names = itertools.count()


@st.composite
def schemas(draw: Any) -> dict[str, Any]:
    sk = draw(st.sampled_from([None, "S", "N"]))
    gsis = draw(st.lists(st.sampled_from(range(len(GSI_KEYS))), max_size=2, unique=True))
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = {"pk": "S"}
    if sk:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs["sk"] = sk
    indexes = []
    for n in gsis:
        hash_attr, range_attr = GSI_KEYS[n]
        schema = [{"AttributeName": hash_attr, "KeyType": "HASH"}]
        attrs[hash_attr] = TYPES[hash_attr]
        if range_attr:
            schema.append({"AttributeName": range_attr, "KeyType": "RANGE"})
            attrs[range_attr] = TYPES[range_attr]
        indexes.append(
            {"IndexName": f"gsi{n}", "KeySchema": schema, "Projection": draw(st.sampled_from(PROJECTIONS))}
        )
    spec: dict[str, Any] = {
        "TableName": f"t{next(_names)}",
        "KeySchema": keys,
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        spec["GlobalSecondaryIndexes"] = indexes
    if sk and draw(st.booleans()):
        attrs["r0"] = "N"
        spec["LocalSecondaryIndexes"] = [
            {
                "IndexName": "lsi",
                "KeySchema": [keys[0], {"AttributeName": "r0", "KeyType": "RANGE"}],
                "Projection": draw(st.sampled_from(PROJECTIONS)),
            }
        ]
    spec["AttributeDefinitions"] = [{"AttributeName": a, "AttributeType": t} for a, t in attrs.items()]
    return spec


def _av(attr: str, value: str, sk_type: str | None = None) -> dict[str, str]:
    kind = sk_type if attr == "sk" else ("N" if attr in ("g1", "r0", "a") else "S")
    return {kind: value}


@st.composite
def keys(draw: Any, sk_type: str | None) -> dict[str, Any]:
    key = {"pk": {"S": draw(VALUES["pk"])}}
    if sk_type:
        key["sk"] = {sk_type: draw(VALUES["sk" + sk_type])}
    return key


@st.composite
def items(draw: Any, sk_type: str | None) -> dict[str, Any]:
    item = draw(keys(sk_type))
    for attr in ("g0", "g1", "r0", "r1", "a", "b"):
        if draw(st.integers(0, 2)):  # a third of the items miss each attribute: sparse indexes
            item[attr] = _av(attr, draw(VALUES[attr]))
    return item


@st.composite
def updates(draw: Any, sk_type: str | None) -> dict[str, Any]:
    attr = draw(st.sampled_from(["g0", "g1", "r0", "r1", "a"]))
    if draw(st.booleans()):
        return {"Key": draw(keys(sk_type)), "UpdateExpression": f"REMOVE {attr}"}
    return {
        "Key": draw(keys(sk_type)),
        "UpdateExpression": f"SET {attr} = :v",
        "ExpressionAttributeValues": {":v": _av(attr, draw(VALUES[attr]))},
    }


def _condition(draw: Any, attr: str, kind: str, values: Any) -> tuple[str, dict[str, Any]]:
    op = draw(
        st.sampled_from(["=", "<", "<=", ">", ">=", "BETWEEN"] + (["begins_with"] if kind == "S" else []))
    )
    if op == "BETWEEN":
        low, high = draw(values), draw(values)
        return f"{attr} BETWEEN :lo AND :hi", {":lo": {kind: low}, ":hi": {kind: high}}
    if op == "begins_with":
        prefix = draw(values)[: draw(st.integers(1, 2))]
        return f"begins_with({attr}, :r)", {":r": {kind: prefix}}
    return f"{attr} {op} :r", {":r": {kind: draw(values)}}


@st.composite
def queries(draw: Any, spec: dict[str, Any]) -> dict[str, Any]:
    types = {a["AttributeName"]: a["AttributeType"] for a in spec["AttributeDefinitions"]}
    indexes = [None] + [
        i for i in spec.get("GlobalSecondaryIndexes", []) + spec.get("LocalSecondaryIndexes", [])
    ]
    index = draw(st.sampled_from(indexes))
    schema = spec["KeySchema"] if index is None else index["KeySchema"]
    hash_attr = schema[0]["AttributeName"]
    range_attr = schema[1]["AttributeName"] if len(schema) > 1 else None
    values_of = {**VALUES, "sk": VALUES["sk" + types.get("sk", "S")]}
    condition = f"{hash_attr} = :h"
    values = {":h": {types[hash_attr]: draw(values_of[hash_attr])}}
    if range_attr and draw(st.booleans()):
        text, more = _condition(draw, range_attr, types[range_attr], values_of[range_attr])
        condition += " AND " + text
        values.update(more)
    query: dict[str, Any] = {"TableName": spec["TableName"], "KeyConditionExpression": condition}
    if index is not None:
        query["IndexName"] = index["IndexName"]
    if draw(st.booleans()):
        query["Limit"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        query["ScanIndexForward"] = False
    extra = draw(st.sampled_from([None, "filter", "exists", "projection", "count"]))
    if extra == "filter":
        query["FilterExpression"] = "a >= :f"
        values[":f"] = {"N": "2"}
    elif extra == "exists":
        query["FilterExpression"] = "attribute_exists(b)"
    elif extra == "projection":
        query["ProjectionExpression"] = "pk, a, g0"
    elif extra == "count":
        query["Select"] = "COUNT"
    query["ExpressionAttributeValues"] = values
    return query


@st.composite
def scenarios(draw: Any) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    spec = draw(schemas())
    sk_type = spec["AttributeDefinitions"][1]["AttributeType"] if len(spec["KeySchema"]) > 1 else None
    name = spec["TableName"]
    ops: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(5, 30))):
        kind = draw(
            st.sampled_from(
                ["put", "put", "update", "update", "update", "delete", "batch", "transact", "query", "query"]
            )
        )
        if kind == "put":
            ops.append(("put_item", {"TableName": name, "Item": draw(items(sk_type))}))
        elif kind == "update":
            ops.append(("update_item", {"TableName": name, **draw(updates(sk_type))}))
        elif kind == "delete":
            ops.append(("delete_item", {"TableName": name, "Key": draw(keys(sk_type))}))
        elif kind == "batch":
            puts = draw(st.lists(items(sk_type), min_size=1, max_size=4, unique_by=lambda i: str(_key_of(i))))
            ops.append(
                ("batch_write_item", {"RequestItems": {name: [{"PutRequest": {"Item": i}} for i in puts]}})
            )
        elif kind == "transact":
            writes = draw(
                st.lists(items(sk_type), min_size=2, max_size=3, unique_by=lambda i: str(_key_of(i)))
            )
            entries: list[dict[str, Any]] = [{"Put": {"TableName": name, "Item": writes[0]}}]
            entries.append({"Delete": {"TableName": name, "Key": _key_of(writes[1])}})
            if len(writes) > 2:
                update = draw(updates(sk_type))
                update["Key"] = _key_of(writes[2])
                if draw(st.booleans()):  # cancels the whole transaction
                    update["ConditionExpression"] = "attribute_exists(never)"
                entries.append({"Update": {"TableName": name, **update}})
            ops.append(("transact_write_items", {"TransactItems": entries}))
        else:
            ops.append(("query", draw(queries(spec))))
    ops.extend(("query", draw(queries(spec))) for _ in range(draw(st.integers(1, 4))))
    return spec, ops


def _key_of(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k in ("pk", "sk")}


@settings(max_examples=40)
@given(scenario=scenarios())
def test_queries_answer_as_plain_moto(sides: tuple[Side, Side], scenario: Any) -> None:
    spec, ops = scenario
    created(sides, **spec)
    for method, kwargs in ops:
        if method != "query":
            both(sides, "ddb", method, **kwargs)
            continue
        page = dict(kwargs)
        for _ in range(60):  # every page to the end
            answer = both(sides, "ddb", "query", **page)
            if not isinstance(answer, dict) or "LastEvaluatedKey" not in answer:
                break
            page["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def test_a_start_key_of_another_partition_or_incomplete_answers_as_plain_moto(
    sides: tuple[Side, Side],
) -> None:
    created(
        sides,
        TableName="odd-start",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    for pk, sk in itertools.product(["a", "b", "c"], range(4)):
        both(sides, "ddb", "put_item", TableName="odd-start", Item={"pk": {"S": pk}, "sk": {"N": str(sk)}})
    for start, forward in itertools.product(
        [
            {"pk": {"S": "a"}, "sk": {"N": "1"}},
            {"pk": {"S": "c"}, "sk": {"N": "1"}},
            {"pk": {"S": "b"}, "sk": {"N": "9"}},
        ],
        [True, False],
    ):
        both(
            sides,
            "ddb",
            "query",
            TableName="odd-start",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "b"}},
            ExclusiveStartKey=start,
            ScanIndexForward=forward,
        )


# ------------------------------------------------------------------------------ conditional writes
# (local_stack/moto_speed_writes.py: the item size check, the update validator's static walks once
# per expression, one condition parse per transaction operation)
_W_NAMES = [None, {"#n": "a"}, {"#n": "pk"}, {"#n": "b"}]
_W_UPDATES = [  # valid ones, and ones moto refuses for what the skipped walks check
    "SET a = a + :d",
    "SET #n = :v",
    "ADD a :d",
    "SET a = :d, b = :v",
    "SET a = :d, a = :v",  # overlapping paths
    "SET pk = :v",  # a key attribute
    "SET a = :d REMOVE a",  # overlapping paths across clauses
    "SET a = :d SET b = :v",  # two SET clauses
    "REMOVE b, #n",
]
_W_CONDITIONS = [None, "attribute_not_exists(pk)", "attribute_exists(pk)", "a >= :d", "a < :d", "#n = :v"]
_W_SIZES = [0, 404_900, 405_100]  # around moto's item size limit


def _w_expression_args(draw: Any, expression: str | None, condition: str | None) -> dict[str, Any]:
    text = " ".join(filter(None, [expression, condition]))
    out: dict[str, Any] = {}
    names = draw(st.sampled_from(_W_NAMES)) if "#n" in text else None
    if "#n" in text:
        out["ExpressionAttributeNames"] = names or {"#n": "a"}
    values = {}
    if ":d" in text:
        values[":d"] = {"N": draw(st.sampled_from(["1", "2", "5"]))}
    if ":v" in text:
        numeric = names is not None and names["#n"] == "a"
        values[":v"] = {"N": "3"} if numeric else {"S": draw(st.sampled_from(["u", "w"]))}
    if values:
        out["ExpressionAttributeValues"] = values
    return out


@st.composite
def _w_put(draw: Any, table: str) -> dict[str, Any]:
    item = {"pk": {"S": draw(st.sampled_from(["k0", "k1"]))}, "a": {"N": draw(st.sampled_from(["1", "4"]))}}
    size = draw(st.sampled_from(_W_SIZES))
    if size:
        item["big"] = {"S": "x" * size}
    for n in range(draw(st.integers(0, 25))):
        item[f"f{n}"] = {"S": "v" * n}
    condition = draw(st.sampled_from(_W_CONDITIONS))
    op = {"TableName": table, "Item": item, **_w_expression_args(draw, None, condition)}
    if condition:
        op["ConditionExpression"] = condition
    return op


@st.composite
def _w_update(draw: Any, table: str) -> dict[str, Any]:
    expression = draw(st.sampled_from(_W_UPDATES))
    condition = draw(st.sampled_from(_W_CONDITIONS[0:1] + _W_CONDITIONS[2:]))
    op = {
        "TableName": table,
        "Key": {"pk": {"S": draw(st.sampled_from(["k0", "k1"]))}},
        "UpdateExpression": expression,
        **_w_expression_args(draw, expression, condition),
    }
    if condition:
        op["ConditionExpression"] = condition
    return op


@st.composite
def _w_ops(draw: Any, table: str) -> list[tuple[str, Any]]:
    ops: list[tuple[str, Any]] = []
    for _ in range(draw(st.integers(4, 20))):
        kind = draw(st.sampled_from(["put", "update", "update", "transact", "transact"]))
        if kind == "put":
            ops.append(("put_item", draw(_w_put(table))))
        elif kind == "update":
            ops.append(("update_item", draw(_w_update(table))))
        else:
            first = draw(st.sampled_from(["Put", "Update"]))
            entry = draw(_w_put(table)) if first == "Put" else draw(_w_update(table))
            entries = [{first: entry}]
            key = entry["Item"]["pk"] if first == "Put" else entry["Key"]["pk"]
            other = {"pk": {"S": "k1" if key["S"] == "k0" else "k0"}}
            second = draw(st.sampled_from(["Update", "Delete", "ConditionCheck"]))
            if second == "Update":
                entries.append({"Update": {**draw(_w_update(table)), "Key": other}})
            else:
                condition = draw(st.sampled_from(_W_CONDITIONS[1:]))
                entries.append(
                    {
                        second: {
                            "TableName": table,
                            "Key": other,
                            "ConditionExpression": condition,
                            **_w_expression_args(draw, None, condition),
                        }
                    }
                )
            ops.append(("transact_write_items", {"TransactItems": entries}))
    return ops


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_conditional_writes_answer_as_plain_moto(sides: tuple[Side, Side], data: Any) -> None:
    table = f"w{next(_names)}"
    created(
        sides,
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    for method, kwargs in data.draw(_w_ops(table)):
        both(sides, "ddb", method, **kwargs)
        for key in ("k0", "k1"):  # what each write left, or did not
            both(sides, "ddb", "get_item", TableName=table, Key={"pk": {"S": key}}, ConsistentRead=True)


# --------------------------------------------------------------------------------------------- SQS
_queues = itertools.count()
SQS_OPS = st.one_of(
    st.tuples(
        st.just("send"),
        st.sampled_from(["g0", "g1", None]),
        st.sampled_from(["b0", "b1", "b2", "b3"]),
        st.sampled_from([None, "d0", "d1", "d2"]),
    ),
    st.tuples(st.just("receive"), st.integers(1, 10), st.sampled_from([0, 60])),
    st.tuples(st.just("delete"), st.integers(0, 30)),
    st.tuples(st.just("visibility"), st.integers(0, 30), st.sampled_from([0, 60])),
    st.tuples(st.just("counts")),
)


def _received(answer: Any) -> Any:
    """What two servers' answers share (ids, receipt handles and timestamps are random)."""
    if not isinstance(answer, dict):
        return answer
    return [
        (
            m["Body"],
            m["MD5OfBody"],
            {k: v for k, v in m["Attributes"].items() if "Timestamp" not in k and k != "SequenceNumber"},
        )
        for m in answer.get("Messages", [])
    ]


@settings(max_examples=30)
@given(content_based=st.booleans(), ops=st.lists(SQS_OPS, min_size=5, max_size=30))
def test_fifo_queues_answer_as_plain_moto(
    sides: tuple[Side, Side], content_based: bool, ops: list[Any]
) -> None:
    name = f"q{next(_queues)}.fifo"
    attributes = {"FifoQueue": "true", "ContentBasedDeduplication": str(content_based).lower()}
    urls = [side.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"] for side in sides]
    handles: list[list[str]] = [[], []]  # per side, every receipt handle received, in order

    def each(method: str, **kwargs: Any) -> list[Any]:
        return [
            call(
                side.sqs,
                method,
                QueueUrl=url,
                **{k: (v[i] if isinstance(v, tuple) else v) for k, v in kwargs.items()},
            )
            for i, (side, url) in enumerate(zip(sides, urls, strict=True))
        ]

    for op in ops:
        if op[0] == "send":
            _, group, body, dedup = op
            extra = {"MessageGroupId": group} if group else {}
            if dedup:
                extra["MessageDeduplicationId"] = dedup
            plain, patched = each("send_message", MessageBody=body, **extra)
            shape = [a if not isinstance(a, dict) else a.get("MD5OfMessageBody") for a in (plain, patched)]
            assert shape[0] == shape[1], op
        elif op[0] == "receive":
            answers = each(
                "receive_message", MaxNumberOfMessages=op[1], VisibilityTimeout=op[2], AttributeNames=["All"]
            )
            assert _received(answers[0]) == _received(answers[1]), op
            for i, answer in enumerate(answers):
                handles[i].extend(m["ReceiptHandle"] for m in answer.get("Messages", []))
        elif op[0] in ("delete", "visibility") and handles[0]:
            which = tuple(h[op[1] % len(h)] for h in handles)  # a tuple: one value per side
            if op[0] == "delete":
                plain, patched = each("delete_message", ReceiptHandle=which)
            else:
                plain, patched = each(
                    "change_message_visibility", ReceiptHandle=which, VisibilityTimeout=op[2]
                )
            assert plain == patched, op
        elif op[0] == "counts":
            names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            plain, patched = each("get_queue_attributes", AttributeNames=names)
            assert plain == patched, op
    plain, patched = each("receive_message", MaxNumberOfMessages=10, AttributeNames=["All"])
    assert _received(plain) == _received(patched)
