"""The requests tests/integration/test_moto_front.py sends to moto's own server and to the local
stack's: every operation the application, the pollers and the tools use, and their errors. Each
script reads what it needs (ARNs, receipt handles) from its own server's earlier answers."""

from __future__ import annotations

import json
from typing import Any, Protocol


class Calls(Protocol):
    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]: ...


def _s(v: str) -> dict[str, str]:
    return {"S": v}


def dynamodb_script(r: Calls) -> None:
    ddb = "dynamodb"
    r.call(
        ddb,
        "create_table",
        TableName="tbl",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "gpk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gix",
                "KeySchema": [
                    {"AttributeName": "gpk", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    r.call(
        ddb,
        "create_table",
        TableName="tbl",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    r.call(ddb, "describe_table", TableName="tbl")
    r.call(
        ddb,
        "update_time_to_live",
        TableName="tbl",
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"},
    )
    r.call(ddb, "describe_time_to_live", TableName="tbl")
    r.call(ddb, "list_tables")
    for i in range(12):
        item = {
            "pk": _s("A"),
            "sk": _s(f"{i:03}"),
            "n": {"N": str(i)},
            "gpk": _s("G" if i % 2 else "H"),
            "m": {"M": {"x": {"L": [{"N": "1"}, _s("y"), {"BOOL": True}, {"NULL": True}]}}},
            "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2.5"]},
            "b": {"B": b"\x00\x01"},
        }
        r.call(ddb, "put_item", TableName="tbl", Item=item)
    r.call(
        ddb,
        "put_item",
        TableName="tbl",
        Item={"pk": _s("A"), "sk": _s("000")},
        ConditionExpression="attribute_not_exists(pk)",
    )
    r.call(
        ddb,
        "put_item",
        TableName="tbl",
        Item={"pk": _s("A"), "sk": _s("000")},
        ConditionExpression="attribute_not_exists(pk)",
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    r.call(ddb, "get_item", TableName="tbl", Key={"pk": _s("A"), "sk": _s("001")})
    r.call(
        ddb,
        "get_item",
        TableName="tbl",
        Key={"pk": _s("A"), "sk": _s("001")},
        ConsistentRead=True,
        ProjectionExpression="#n, m.x[1], ss",
        ExpressionAttributeNames={"#n": "n"},
    )
    r.call(ddb, "get_item", TableName="tbl", Key={"pk": _s("A"), "sk": _s("nope")})
    r.call(ddb, "get_item", TableName="missing", Key={"pk": _s("A"), "sk": _s("001")})
    r.call(ddb, "get_item", TableName="tbl", Key={"pk": _s("A")})
    update = {"TableName": "tbl", "Key": {"pk": _s("A"), "sk": _s("002")}}
    r.call(
        ddb,
        "update_item",
        **update,
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
    r.call(
        ddb,
        "update_item",
        **update,
        UpdateExpression="SET #n = #n - :c, z = if_not_exists(z, :c) REMOVE gpk",
        ConditionExpression="#n >= :c AND attribute_exists(pk)",
        ExpressionAttributeNames={"#n": "n"},
        ExpressionAttributeValues={":c": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    r.call(
        ddb,
        "update_item",
        **update,
        UpdateExpression="SET n = :c",
        ConditionExpression="n > :big",
        ExpressionAttributeValues={":c": {"N": "1"}, ":big": {"N": "100"}},
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    r.call(
        ddb,
        "update_item",
        **update,
        UpdateExpression="SET n = :c ADD",
        ExpressionAttributeValues={":c": {"N": "1"}},
    )
    r.call(ddb, "update_item", **update, UpdateExpression="SET n = :missing")
    r.call(
        ddb,
        "update_item",
        **update,
        UpdateExpression="SET n = :c, n = :c",
        ExpressionAttributeValues={":c": {"N": "1"}},
    )
    r.call(
        ddb,
        "update_item",
        TableName="tbl",
        Key={"pk": _s("B"), "sk": _s("new")},
        UpdateExpression="ADD n :one",
        ExpressionAttributeValues={":one": {"N": "1E+2"}},
        ReturnValues="ALL_NEW",
    )
    r.call(
        ddb,
        "update_item",
        **update,
        UpdateExpression="SET ss = :s",
        ExpressionAttributeValues={":s": {"S": ""}},
        ReturnValues="ALL_OLD",
    )
    r.call(ddb, "delete_item", TableName="tbl", Key={"pk": _s("A"), "sk": _s("011")}, ReturnValues="ALL_OLD")
    r.call(
        ddb,
        "delete_item",
        TableName="tbl",
        Key={"pk": _s("A"), "sk": _s("010")},
        ConditionExpression="n = :x",
        ExpressionAttributeValues={":x": {"N": "3"}},
    )
    query = {"TableName": "tbl", "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b"}
    values = {":p": _s("A"), ":a": _s("001"), ":b": _s("009")}
    r.call(ddb, "query", **query, ExpressionAttributeValues=values)
    page = r.call(ddb, "query", **query, ExpressionAttributeValues=values, Limit=3, ScanIndexForward=False)
    r.call(
        ddb,
        "query",
        **query,
        ExpressionAttributeValues=values,
        Limit=3,
        ExclusiveStartKey=page.get("LastEvaluatedKey"),
    )
    r.call(
        ddb,
        "query",
        **query,
        ExpressionAttributeValues={**values, ":min": {"N": "4"}},
        FilterExpression="n >= :min",
        ProjectionExpression="sk, n",
    )
    r.call(
        ddb,
        "query",
        TableName="tbl",
        IndexName="gix",
        KeyConditionExpression="gpk = :g",
        ExpressionAttributeValues={":g": _s("G")},
        Select="COUNT",
    )
    r.call(
        ddb,
        "query",
        TableName="tbl",
        KeyConditionExpression="pk = :p AND begins_with(sk, :s)",
        ExpressionAttributeValues={":p": _s("A"), ":s": _s("00")},
    )
    r.call(
        ddb,
        "query",
        TableName="tbl",
        KeyConditionExpression="nope = :p",
        ExpressionAttributeValues={":p": _s("A")},
    )
    r.call(ddb, "scan", TableName="tbl", Limit=4)
    r.call(
        ddb,
        "batch_get_item",
        RequestItems={"tbl": {"Keys": [{"pk": _s("A"), "sk": _s(f"{i:03}")} for i in (1, 3, 99)]}},
    )
    r.call(
        ddb,
        "batch_write_item",
        RequestItems={
            "tbl": [
                {"PutRequest": {"Item": {"pk": _s("C"), "sk": _s(f"{i}"), "n": {"N": "0"}}}} for i in range(3)
            ]
            + [{"DeleteRequest": {"Key": {"pk": _s("A"), "sk": _s("009")}}}]
        },
    )
    transact = [
        {
            "Update": {
                "TableName": "tbl",
                "Key": {"pk": _s("C"), "sk": _s("0")},
                "UpdateExpression": "SET n = n + :one",
                "ConditionExpression": "n >= :zero",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
            }
        },
        {
            "Put": {
                "TableName": "tbl",
                "Item": {"pk": _s("C"), "sk": _s("9")},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
        {
            "ConditionCheck": {
                "TableName": "tbl",
                "Key": {"pk": _s("C"), "sk": _s("1")},
                "ConditionExpression": "n = :zero",
                "ExpressionAttributeValues": {":zero": {"N": "0"}},
            }
        },
        {"Delete": {"TableName": "tbl", "Key": {"pk": _s("C"), "sk": _s("2")}}},
    ]
    r.call(ddb, "transact_write_items", TransactItems=transact, ClientRequestToken="one")
    r.call(ddb, "transact_write_items", TransactItems=transact)  # the Put's and the Delete's condition fail
    r.call(
        ddb,
        "transact_write_items",
        TransactItems=[
            {
                **transact[0],
                "Update": {
                    **transact[0]["Update"],
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    "ConditionExpression": "n > :zero AND n < :zero",
                },
            },
            transact[3],
        ],
    )
    r.call(ddb, "transact_write_items", TransactItems=[transact[0], transact[0]])
    r.call(
        ddb,
        "transact_get_items",
        TransactItems=[
            {"Get": {"TableName": "tbl", "Key": {"pk": _s("C"), "sk": _s("0")}}},
            {
                "Get": {
                    "TableName": "tbl",
                    "Key": {"pk": _s("A"), "sk": _s("001")},
                    "ProjectionExpression": "n",
                }
            },
        ],
    )
    # the stream of everything above
    arn = r.call(ddb, "describe_table", TableName="tbl")["Table"]["LatestStreamArn"]
    r.call("dynamodbstreams", "list_streams", TableName="tbl")
    shard = r.call("dynamodbstreams", "describe_stream", StreamArn=arn)["StreamDescription"]["Shards"][0][
        "ShardId"
    ]
    iterator = r.call(
        "dynamodbstreams",
        "get_shard_iterator",
        StreamArn=arn,
        ShardId=shard,
        ShardIteratorType="TRIM_HORIZON",
    )["ShardIterator"]
    r.call("dynamodbstreams", "get_records", ShardIterator=iterator, Limit=100)
    r.call(
        "dynamodbstreams",
        "get_shard_iterator",
        StreamArn=arn,
        ShardId="shardId-00000000000000000000-nope",
        ShardIteratorType="LATEST",
    )
    r.call(ddb, "delete_table", TableName="tbl")
    r.call(ddb, "describe_table", TableName="tbl")


def sqs_script(r: Calls) -> None:
    sqs = "sqs"
    fifo = r.call(
        sqs, "create_queue", QueueName="q.fifo", Attributes={"FifoQueue": "true", "VisibilityTimeout": "30"}
    )["QueueUrl"]
    dlq = r.call(sqs, "create_queue", QueueName="dlq")["QueueUrl"]
    arn = r.call(sqs, "get_queue_attributes", QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    plain = r.call(
        sqs,
        "create_queue",
        QueueName="plain",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 1})},
    )["QueueUrl"]
    r.call(sqs, "get_queue_url", QueueName="q.fifo")
    r.call(sqs, "get_queue_url", QueueName="nope")
    r.call(sqs, "list_queues")
    r.call(
        sqs,
        "send_message",
        QueueUrl=fifo,
        MessageBody="one",
        MessageGroupId="g",
        MessageDeduplicationId="1",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )
    r.call(
        sqs,
        "send_message",
        QueueUrl=fifo,
        MessageBody="one again",
        MessageGroupId="g",
        MessageDeduplicationId="1",
    )
    r.call(sqs, "send_message", QueueUrl=fifo, MessageBody="no group")
    r.call(
        sqs,
        "send_message_batch",
        QueueUrl=fifo,
        Entries=[
            {
                "Id": str(i),
                "MessageBody": f"m{i}",
                "MessageGroupId": f"g{i % 2}",
                "MessageDeduplicationId": f"b{i}",
            }
            for i in range(4)
        ],
    )
    r.call(sqs, "get_queue_attributes", QueueUrl=fifo, AttributeNames=["All"])
    got = r.call(
        sqs,
        "receive_message",
        QueueUrl=fifo,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=0,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    handles = [m["ReceiptHandle"] for m in got.get("Messages", [])]
    r.call(sqs, "change_message_visibility", QueueUrl=fifo, ReceiptHandle=handles[0], VisibilityTimeout=0)
    r.call(sqs, "change_message_visibility", QueueUrl=fifo, ReceiptHandle="bogus", VisibilityTimeout=0)
    r.call(sqs, "delete_message", QueueUrl=fifo, ReceiptHandle=handles[1])
    r.call(
        sqs,
        "delete_message_batch",
        QueueUrl=fifo,
        Entries=[{"Id": "a", "ReceiptHandle": h} for h in handles[2:]],
    )
    r.call(
        sqs, "receive_message", QueueUrl=fifo, MaxNumberOfMessages=10, WaitTimeSeconds=1
    )  # the released one
    r.call(sqs, "receive_message", QueueUrl=fifo, MaxNumberOfMessages=11)
    r.call(sqs, "receive_message", QueueUrl=plain, WaitTimeSeconds=1)  # a long poll that finds nothing
    r.call(sqs, "send_message", QueueUrl=plain, MessageBody="to the dlq", DelaySeconds=0)
    r.call(sqs, "receive_message", QueueUrl=plain, VisibilityTimeout=0)
    r.call(sqs, "receive_message", QueueUrl=plain, WaitTimeSeconds=1)  # over maxReceiveCount: to the DLQ
    r.call(sqs, "receive_message", QueueUrl=dlq, WaitTimeSeconds=1)
    r.call(sqs, "receive_message", QueueUrl=fifo.replace("q.fifo", "gone.fifo"), WaitTimeSeconds=1)
    r.call(sqs, "purge_queue", QueueUrl=plain)
    r.call(sqs, "delete_queue", QueueUrl=plain)
    r.call("sts", "get_caller_identity")  # not served by the front: moto's own app answers it
