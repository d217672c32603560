"""The deploy rehearsal's read-back: what the created resources say (tables, queues, event-source
mappings, functions, the schedule), and the checks of those facts against what the code expects
(``tools/deploy_rehearsal.py`` creates the stack; this reads it)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.deploy_rehearsal import RehearsalReport

# what the matcher's event source must look like (template.yaml; DESIGN.md)
MATCHER_BATCH_SIZE = 10
VISIBILITY_TO_TIMEOUT_RATIO = 6


def collect_facts(report: RehearsalReport, sam: dict[str, Any], cfn: dict[str, Any], region: str) -> None:
    import boto3

    ddb = boto3.client("dynamodb", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    lam = boto3.client("lambda", region_name=region)
    events = boto3.client("events", region_name=region)
    pid = report.physical_ids
    facts: dict[str, Any] = {
        **report.facts,
        "tables": {},
        "queues": {},
        "functions": {},
        "mappings": [],
        "rules": {},
    }

    for lid, res in cfn["Resources"].items():
        rtype = res["Type"]
        if lid not in pid:
            continue
        if rtype == "AWS::DynamoDB::Table":
            t = ddb.describe_table(TableName=pid[lid])["Table"]
            ttl = ddb.describe_time_to_live(TableName=pid[lid])["TimeToLiveDescription"]
            facts["tables"][lid] = {
                "name": t["TableName"],
                "key_schema": {k["KeyType"]: k["AttributeName"] for k in t["KeySchema"]},
                "gsis": {
                    g["IndexName"]: {
                        "keys": {k["KeyType"]: k["AttributeName"] for k in g["KeySchema"]},
                        "projection": g["Projection"]["ProjectionType"],
                    }
                    for g in t.get("GlobalSecondaryIndexes", [])
                },
                "stream": t.get("StreamSpecification", {}),
                "stream_arn": t.get("LatestStreamArn"),
                "billing_mode": t.get("BillingModeSummary", {}).get("BillingMode"),
                "ttl": ttl,
            }
        elif rtype == "AWS::SQS::Queue":
            url = (
                pid[lid] if pid[lid].startswith("http") else sqs.get_queue_url(QueueName=pid[lid])["QueueUrl"]
            )
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            redrive = json.loads(attrs["RedrivePolicy"]) if "RedrivePolicy" in attrs else None
            if redrive:
                redrive["maxReceiveCount"] = int(redrive["maxReceiveCount"])
            facts["queues"][lid] = {
                "url": url,
                "arn": attrs["QueueArn"],
                "fifo": attrs.get("FifoQueue") == "true",
                "content_based_dedup": attrs.get("ContentBasedDeduplication") == "true",
                "visibility_timeout": int(attrs["VisibilityTimeout"]),
                "retention": int(attrs["MessageRetentionPeriod"]),
                "redrive": redrive,
            }
        elif rtype == "AWS::Lambda::Function":
            c = lam.get_function_configuration(FunctionName=pid[lid])
            facts["functions"][lid] = {
                "name": c["FunctionName"],
                "arn": c["FunctionArn"],
                "handler": c.get("Handler"),
                "runtime": c.get("Runtime"),
                "timeout": c.get("Timeout"),
                "memory": c.get("MemorySize"),
                "env": c.get("Environment", {}).get("Variables", {}),
                # moto's CloudFormation drops Layers/Tracing/Architectures: read them from the translation
                "layers_declared": res["Properties"].get("Layers", []),
            }
        elif rtype == "AWS::Events::Rule":
            name = pid[lid].split("|")[-1]
            rule = events.describe_rule(Name=name)
            targets = events.list_targets_by_rule(Rule=name)["Targets"]
            facts["rules"][lid] = {
                "name": rule.get("Name"),
                "schedule": rule.get("ScheduleExpression"),
                "state": rule.get("State"),
                "target_arns": [t["Arn"] for t in targets],
            }

    fn_by_arn = {f["arn"]: lid for lid, f in facts["functions"].items()}
    for rule in facts["rules"].values():
        rule["targets"] = [fn_by_arn.get(arn, arn) for arn in rule.pop("target_arns")]
    source_by_arn = {q["arn"]: lid for lid, q in facts["queues"].items()}
    source_by_arn.update({t["stream_arn"]: lid for lid, t in facts["tables"].items() if t["stream_arn"]})
    for page in lam.get_paginator("list_event_source_mappings").paginate():
        for m in page["EventSourceMappings"]:
            facts["mappings"].append(
                {
                    "function": fn_by_arn.get(m["FunctionArn"], m["FunctionArn"]),
                    "source": source_by_arn.get(m["EventSourceArn"], m["EventSourceArn"]),
                    "batch_size": m.get("BatchSize"),
                    "function_response_types": m.get("FunctionResponseTypes"),
                    "starting_position": m.get("StartingPosition"),
                    "maximum_retry_attempts": m.get("MaximumRetryAttempts"),
                    "bisect_on_error": m.get("BisectBatchOnFunctionError"),
                    "on_failure": _resolve_arn(
                        m.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination"), source_by_arn
                    ),
                    "state": m.get("State"),
                }
            )
    report.facts = facts


def _resolve_arn(arn: str | None, names: dict[str, str]) -> str | None:
    return names.get(arn, arn) if arn else None


def _declared_env(sam: dict[str, Any], lid: str) -> set[str]:
    glob = sam.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = sam["Resources"][lid].get("Properties", {}).get("Environment", {}).get("Variables", {})
    return set(glob) | set(own)


def check_facts(report: RehearsalReport, sam: dict[str, Any]) -> list[str]:
    """What AWS would have created must be what the design says."""
    f = report.facts
    problems: list[str] = []
    res = sam["Resources"]

    # tables: every declared index and stream exists
    for lid, spec in res.items():
        if spec["Type"] != "AWS::DynamoDB::Table":
            continue
        table = f["tables"].get(lid)
        if table is None:
            problems.append(f"table {lid} was not created")
            continue
        props = spec["Properties"]
        declared_gsis = {g["IndexName"] for g in props.get("GlobalSecondaryIndexes", [])}
        if set(table["gsis"]) != declared_gsis:
            problems.append(
                f"table {lid}: indexes {sorted(table['gsis'])} != declared {sorted(declared_gsis)}"
            )
        view = props.get("StreamSpecification", {}).get("StreamViewType")
        if view and (table["stream"].get("StreamViewType") != view or not table["stream_arn"]):
            problems.append(f"table {lid}: stream {table['stream']} != declared {view}")

    # the order queue: FIFO, redrive to a FIFO DLQ, visibility 6x the matcher's timeout
    orders, dlq = f["queues"].get("OrdersQueue"), f["queues"].get("OrdersDeadLetterQueue")
    matcher = f["functions"].get("MatcherFunction")
    if not (orders and dlq and matcher):
        problems.append("OrdersQueue, OrdersDeadLetterQueue or MatcherFunction missing")
    else:
        if not (orders["fifo"] and dlq["fifo"]):
            problems.append("OrdersQueue and its DLQ must both be FIFO")
        redrive = orders["redrive"] or {}
        if redrive.get("deadLetterTargetArn") != dlq["arn"]:
            problems.append(f"OrdersQueue redrive does not target OrdersDeadLetterQueue: {orders['redrive']}")
        elif not redrive.get("maxReceiveCount", 0) >= 1:
            problems.append(f"OrdersQueue redrive has no maxReceiveCount: {redrive}")
        if orders["visibility_timeout"] != VISIBILITY_TO_TIMEOUT_RATIO * matcher["timeout"]:
            problems.append(
                f"OrdersQueue VisibilityTimeout {orders['visibility_timeout']} != "
                f"{VISIBILITY_TO_TIMEOUT_RATIO} x MatcherFunction Timeout {matcher['timeout']}"
            )

    # event-source mappings
    def mapping(function: str, source: str) -> dict[str, Any] | None:
        found = [m for m in f["mappings"] if m["function"] == function and m["source"] == source]
        return found[0] if len(found) == 1 else None

    m = mapping("MatcherFunction", "OrdersQueue")
    if m is None:
        problems.append("no single SQS event-source mapping OrdersQueue -> MatcherFunction")
    else:
        if m["batch_size"] != MATCHER_BATCH_SIZE:
            problems.append(f"matcher BatchSize {m['batch_size']} != {MATCHER_BATCH_SIZE}")
        if "ReportBatchItemFailures" not in (m["function_response_types"] or []):
            problems.append(
                f"matcher FunctionResponseTypes {m['function_response_types']} lacks ReportBatchItemFailures"
            )
    n = mapping("NotifierFunction", "ExchangeTable")
    if n is None:
        problems.append("no single DynamoDB stream mapping ExchangeTable -> NotifierFunction")
    else:
        if not n["bisect_on_error"]:
            problems.append("notifier mapping: BisectBatchOnFunctionError is not true")
        if not n["maximum_retry_attempts"] or n["maximum_retry_attempts"] < 0:
            problems.append(
                f"notifier mapping: MaximumRetryAttempts {n['maximum_retry_attempts']} (must be bounded)"
            )
        if n["on_failure"] != "NotifierFailureQueue":
            problems.append(
                f"notifier mapping: on-failure destination {n['on_failure']} != NotifierFailureQueue"
            )

    # the schedule
    if not any(
        "SchedulerFunction" in r["targets"] and r["schedule"] and r["state"] == "ENABLED"
        for r in f["rules"].values()
    ):
        problems.append(f"no enabled schedule rule targets SchedulerFunction: {f['rules']}")

    # functions: handler and environment as declared, references resolved to the created resources
    exchange = f["tables"].get("ExchangeTable", {}).get("name")
    connections = f["tables"].get("ConnectionsTable", {}).get("name")
    orders_url = (orders or {}).get("url")
    for lid, spec in res.items():
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        fn = f["functions"].get(lid)
        if fn is None:
            problems.append(f"function {lid} was not created")
            continue
        if fn["handler"] != spec["Properties"].get("Handler"):
            problems.append(f"{lid}: Handler {fn['handler']} != declared {spec['Properties'].get('Handler')}")
        missing = sorted(_declared_env(sam, lid) - set(fn["env"]))
        if missing:
            problems.append(f"{lid}: environment lacks {missing}")
        expected = {
            "TABLE_NAME": exchange,
            "CONNECTIONS_TABLE_NAME": connections,
            "ORDERS_QUEUE_URL": orders_url,
        }
        for var, value in expected.items():
            if var in fn["env"] and fn["env"][var] != value:
                problems.append(f"{lid}: {var}={fn['env'][var]!r}, expected the created resource {value!r}")
        if not fn["layers_declared"]:
            problems.append(f"{lid}: no layer (the shared code) attached")
    return problems


def print_report(report: RehearsalReport, skip_reasons: dict[str, str]) -> None:
    created = sum(report.created.values())
    skipped = sum(report.skipped.values())
    print(
        f"rehearsal: stack {report.stack_status}: {created} resources created, {skipped} skipped "
        f"({report.seconds:.1f} s)"
    )
    for rtype, count in report.created.items():
        print(f"  created  {count:3d}  {rtype}")
    for rtype, count in report.skipped.items():
        why = skip_reasons.get(rtype, "moto's CloudFormation does not support it")
        print(f"  skipped  {count:3d}  {rtype}  ({why})")
    for m in report.facts.get("mappings", []):
        print(
            f"  mapping  {m['source']} -> {m['function']}: BatchSize {m['batch_size']}, "
            f"FunctionResponseTypes {m['function_response_types']}"
        )
    for problem in report.problems:
        print(f"  PROBLEM: {problem}")
