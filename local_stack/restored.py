"""What the stack does differently when the moto process restored a state folder: reuse the
tables and queues it holds (the template's indexes applied), and re-enqueue pending orders."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def create_or_reuse_table(ddb: Any, kwargs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """(its description, created): a restored table is kept, with the template's GSIs."""
    try:
        return ddb.create_table(**kwargs)["TableDescription"], True
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceInUseException":
            raise
    desc = ddb.describe_table(TableName=kwargs["TableName"])["Table"]
    align_indexes(ddb, kwargs, desc)
    if any(g["IndexName"] == "user_open_orders" for g in kwargs.get("GlobalSecondaryIndexes", [])):
        filled = backfill_open_user(ddb, kwargs["TableName"])
        if filled:
            print(f"restored state: {filled} non-final orders joined user_open_orders", flush=True)
    return desc, False


def align_indexes(ddb: Any, props: dict[str, Any], desc: dict[str, Any]) -> None:
    """A restored table gets the template's GSIs (moto indexes at query time: nothing to backfill)."""
    wanted = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
    have = {g["IndexName"]: g["KeySchema"] for g in desc.get("GlobalSecondaryIndexes", [])}
    updates: list[dict[str, Any]] = [
        {"Delete": {"IndexName": name}}
        for name, keys in have.items()
        if name not in wanted or wanted[name]["KeySchema"] != keys
    ]
    updates += [{"Create": g} for name, g in wanted.items() if have.get(name) != g["KeySchema"]]
    if updates:
        print(f"restored state: {desc['TableName']} indexes changed to the template's: {updates}", flush=True)
        ddb.update_table(
            TableName=desc["TableName"],
            AttributeDefinitions=props["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=updates,
        )


_NON_FINAL = ("pending", "open", "partially_filled")


def backfill_open_user(ddb: Any, table: str) -> int:
    """Orders stored before the sparse ``user_open_orders`` index get its ``open_user`` (the order's
    user) if not final. Every non-final order is in ``open_orders`` (resting) or ``pending_orders``
    (pending, or a cancel requested), both sparse: this reads only non-final orders, not history.
    Conditional: an order already carrying it, or final meanwhile, is left alone."""
    filled = 0
    for index in ("open_orders", "pending_orders"):
        kwargs: dict[str, Any] = {"TableName": table, "IndexName": index, "ProjectionExpression": "pk, sk"}
        while True:
            page = ddb.scan(**kwargs)
            for key in page.get("Items", []):
                try:
                    ddb.update_item(
                        TableName=table,
                        Key={"pk": key["pk"], "sk": key["sk"]},
                        UpdateExpression="SET open_user = user_id",
                        ConditionExpression="attribute_exists(pk) AND attribute_not_exists(open_user) "
                        "AND #st IN (:a, :b, :c)",
                        ExpressionAttributeNames={"#st": "status"},
                        ExpressionAttributeValues={
                            f":{k}": {"S": v} for k, v in zip("abc", _NON_FINAL, strict=True)
                        },
                    )
                    filled += 1
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                        raise
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return filled


def existing_queue(sqs: Any, name: str) -> str | None:
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as exc:
        if "NonExistentQueue" not in exc.response["Error"]["Code"]:
            raise
        return None


def requeue_pending(scheduler_module: Any) -> None:
    """No request outlives a restart, so an order still `pending` (or with a cancel requested) may
    have lost its message: the api died between its write and SendMessage. The sweep re-sends them
    now rather than after its grace; a duplicate of a queued message is a no-op for the matcher."""
    from exchange.ids import now_ms

    sweeper = scheduler_module.sweeper
    try:
        requeued = sweeper.requeue_pending(now=now_ms() + sweeper.pending_grace_ms)
    except Exception as exc:  # the scheduled sweep will do it, after its grace
        print(f"restored state: re-enqueueing pending orders failed ({exc!r}); the sweep will", flush=True)
        return
    if requeued:
        print(f"restored state: re-enqueued {requeued} messages of pending orders", flush=True)
