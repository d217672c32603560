"""Deploy rehearsal: template.yaml -> CloudFormation (samtranslator) -> a stack in moto's CloudFormation.

Stronger than lint: the SAM template is translated exactly as the SAM transform would do it, every
code artifact is an object in (moto's) S3, and the stack must reach CREATE_COMPLETE. Resource types
moto's CloudFormation cannot create (API Gateway v2, Secrets Manager, ...) are removed first and every
reference to them is replaced by a placeholder string; they are reported as skipped. Then the key facts
of the deployment are read back from the created resources with boto3 (tables, queues, event-source
mappings, functions, the schedule) and checked.

Usage: python tools/deploy_rehearsal.py [--template template.yaml] [--json]
Exit status 0 when the stack was created and every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import logging
import os
import re
import sys
import time
import warnings
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
REGION = "us-east-1"
STACK_NAME = "exchange-sim-rehearsal"
ARTIFACT_BUCKET = "exchange-sim-rehearsal-artifacts"
PLACEHOLDER_PREFIX = "skipped-"

# The design's fixed points (the "Deliver" item 2); the logical ids are the template's.
MATCHER_BATCH_SIZE = 10
VISIBILITY_TO_TIMEOUT_RATIO = 6
# Types moto's CloudFormation knows but cannot create from a SAM translation, and why.
MOTO_CANNOT_CREATE = {
    "AWS::ApiGateway::Deployment": "moto ignores the RestApi's OpenAPI Body: no method to deploy",
}
SKIP_IN_ZIP = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


class RehearsalError(Exception):
    """The rehearsal could not get as far as a created stack."""


@dataclass
class RehearsalReport:
    stack_status: str = "NOT_CREATED"
    created: dict[str, int] = field(default_factory=dict)  # resource type -> count (CREATE_COMPLETE)
    skipped: dict[str, int] = field(default_factory=dict)  # resource type -> count (removed before create)
    skipped_ids: list[str] = field(default_factory=list)
    physical_ids: dict[str, str] = field(default_factory=dict)  # logical id -> physical id
    facts: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.stack_status == "CREATE_COMPLETE" and not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "stack_status": self.stack_status,
            "created": self.created,
            "skipped": self.skipped,
            "skipped_ids": self.skipped_ids,
            "physical_ids": self.physical_ids,
            "facts": self.facts,
            "problems": self.problems,
            "seconds": round(self.seconds, 2),
        }


# ----------------------------------------------------------------------------------------------- env
@contextlib.contextmanager
def isolated_aws_env(region: str = REGION) -> Iterator[None]:
    """Fake credentials, a region, and no endpoint redirection (mock_aws does not intercept otherwise)."""
    saved = dict(os.environ)
    try:
        for name in list(os.environ):
            if name.startswith("AWS_ENDPOINT_URL") or name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
                del os.environ[name]
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SECURITY_TOKEN": "testing",
                "AWS_DEFAULT_REGION": region,
                "AWS_REGION": region,
                "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true",
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            }
        )
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


# ------------------------------------------------------------------------------------------ template
def load_sam_template(path: Path) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse

    return yaml_parse(path.read_text(encoding="utf-8"))


def rewrite_code_uris(template: dict[str, Any], bucket: str, code_root: Path) -> dict[str, Path]:
    """Point every local CodeUri/ContentUri at s3://bucket/<key>; return key -> local folder to zip.
    Local paths are relative to code_root (the template's folder, as for sam build)."""
    artifacts: dict[str, Path] = {}

    def rewrite(props: dict[str, Any], prop: str, logical_id: str) -> None:
        uri = props.get(prop)
        if not isinstance(uri, str) or uri.startswith("s3://"):
            return
        local = (code_root / uri).resolve()
        key = f"artifacts/{logical_id}.zip"
        artifacts[key] = local
        props[prop] = f"s3://{bucket}/{key}"

    glob_fn = template.get("Globals", {}).get("Function", {})
    if isinstance(glob_fn, dict):
        rewrite(glob_fn, "CodeUri", "GlobalsFunction")
    for logical_id, res in template.get("Resources", {}).items():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Function":
            rewrite(props, "CodeUri", logical_id)
        elif res.get("Type") == "AWS::Serverless::LayerVersion":
            rewrite(props, "ContentUri", logical_id)
    return artifacts


def translate(sam_template: dict[str, Any], parameter_values: dict[str, Any] | None = None) -> dict[str, Any]:
    """SAM -> CloudFormation, as the AWS::Serverless transform does (no IAM call: no managed policies)."""
    from samtranslator.translator.transform import transform

    # "Feature '...' not available in Feature Toggle Config": no toggle config = the defaults, as in sam build
    logging.getLogger("samtranslator.feature_toggle").setLevel(logging.ERROR)

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    return transform(copy.deepcopy(sam_template), dict(parameter_values or {}), NoManagedPolicies())  # type: ignore[arg-type]


def check_translated_code_locations(cfn: dict[str, Any], bucket: str, keys: set[str]) -> list[str]:
    problems = []
    for logical_id, res in cfn["Resources"].items():
        prop = {"AWS::Lambda::Function": "Code", "AWS::Lambda::LayerVersion": "Content"}.get(res["Type"])
        if not prop:
            continue
        loc = res["Properties"].get(prop, {})
        if loc.get("S3Bucket") != bucket or loc.get("S3Key") not in keys:
            problems.append(f"{logical_id}.{prop} does not point at an uploaded artifact: {loc!r}")
    return problems


def moto_supported_types() -> set[str]:
    from moto.cloudformation.parsing import NULL_MODELS, get_model_map

    return (set(get_model_map()) | set(NULL_MODELS)) - set(MOTO_CANNOT_CREATE)


_SUB_VAR = re.compile(r"\$\{([A-Za-z0-9]+)((?:\.[A-Za-z0-9]+)*)\}")


def strip_unsupported(cfn: dict[str, Any], supported: set[str]) -> tuple[dict[str, Any], list[str]]:
    """Remove resources moto cannot create; replace every reference to them with a placeholder string."""
    cfn = copy.deepcopy(cfn)
    resources = cfn["Resources"]
    skipped = sorted(
        lid
        for lid, res in resources.items()
        if res["Type"] not in supported and not res["Type"].startswith("Custom::")
    )
    gone = set(skipped)
    for lid in skipped:
        del resources[lid]

    def placeholder(lid: str, attr: str = "") -> str:
        return f"{PLACEHOLDER_PREFIX}{lid}{'-' + attr.replace('.', '-') if attr else ''}"

    def sub_text(text: str, local_vars: set[str]) -> str:
        def repl(m: re.Match[str]) -> str:
            name, attr = m.group(1), m.group(2).lstrip(".")
            if name in gone and name not in local_vars:
                return placeholder(name, attr)
            return m.group(0)

        return _SUB_VAR.sub(repl, text)

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(x) for x in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref" and value in gone:
                return placeholder(value)
            if key == "Fn::GetAtt":
                parts = value.split(".", 1) if isinstance(value, str) else list(value)
                if parts and parts[0] in gone:
                    return placeholder(parts[0], ".".join(str(p) for p in parts[1:]))
            if key == "Fn::Sub":
                if isinstance(value, str):
                    return {key: sub_text(value, set())}
                if isinstance(value, list) and value and isinstance(value[0], str):
                    local_vars = set(value[1]) if len(value) > 1 and isinstance(value[1], dict) else set()
                    return {key: [sub_text(value[0], local_vars), *walk(value[1:])]}
        return {k: walk(v) for k, v in node.items()}

    for res in resources.values():
        deps = res.get("DependsOn")
        if isinstance(deps, str):
            deps = [deps]
        if deps is not None:
            kept = [d for d in deps if d not in gone]
            if kept:
                res["DependsOn"] = kept
            else:
                res.pop("DependsOn")
    for section in ("Resources", "Outputs", "Conditions"):
        if section in cfn:
            cfn[section] = walk(cfn[section])
    return cfn, skipped


def emulate_cloudformation_defaults(cfn: dict[str, Any], stack_name: str) -> list[str]:
    """Fill in what AWS CloudFormation derives itself but moto's requires; return what was filled in.

    - an unnamed FIFO queue: AWS names it `<stack>-<LogicalId>-<suffix>.fifo`; moto forgets `.fifo`.
    - a REST API imported from a Body (SAM's AWS::Serverless::Api): AWS takes its name from the
      OpenAPI title; moto requires `Name`.
    """
    filled = []
    for lid, res in cfn["Resources"].items():
        props = res.setdefault("Properties", {})
        if (
            res["Type"] == "AWS::SQS::Queue"
            and props.get("FifoQueue") in (True, "true")
            and "QueueName" not in props
        ):
            props["QueueName"] = f"{stack_name}-{lid}"[:70] + "-rh.fifo"
            filled.append(f"{lid}.QueueName")
        elif res["Type"] == "AWS::ApiGateway::RestApi" and "Name" not in props:
            title = (props.get("Body") or {}).get("info", {}).get("title")
            props["Name"] = title if title else f"{stack_name}-{lid}"
            filled.append(f"{lid}.Name")
    return filled


def zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                rel = path.relative_to(folder)
                if path.is_file() and not SKIP_IN_ZIP.intersection(rel.parts) and path.suffix != ".pyc":
                    zf.write(path, rel.as_posix())
        else:  # the code may not be written yet: the rehearsal only needs an object to exist
            zf.writestr("MISSING", f"{folder} did not exist at rehearsal time\n")
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ deploy
def _wait_for_stack(cfn_client: Any, stack_name: str, timeout: float = 120.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = cfn_client.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
        if not status.endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def _failed_events(cfn_client: Any, stack_name: str) -> list[str]:
    events = cfn_client.describe_stack_events(StackName=stack_name)["StackEvents"]
    return [
        f"{e['LogicalResourceId']} ({e['ResourceType']}): {e['ResourceStatus']} "
        f"{e.get('ResourceStatusReason', '')}"
        for e in events
        if e["ResourceStatus"].endswith("FAILED") or "ROLLBACK" in e["ResourceStatus"]
    ]


def rehearse(
    template_path: Path = DEFAULT_TEMPLATE,
    parameter_values: dict[str, str] | None = None,
    stack_name: str = STACK_NAME,
    region: str = REGION,
    code_root: Path | None = None,
) -> RehearsalReport:
    """Translate, create in moto's CloudFormation, read back and check. Never raises for a failed deploy:
    the report's `problems` says what went wrong."""
    started = time.monotonic()
    report = RehearsalReport()
    with isolated_aws_env(region):
        import boto3
        from moto import mock_aws

        sam = load_sam_template(template_path)
        artifacts = rewrite_code_uris(sam, ARTIFACT_BUCKET, code_root or template_path.resolve().parent)
        try:
            cfn = translate(sam, parameter_values)
        except Exception as exc:  # samtranslator's InvalidDocumentException lists every error
            report.problems.append(f"SAM translation failed: {exc}")
            report.seconds = time.monotonic() - started
            return report
        report.problems += check_translated_code_locations(cfn, ARTIFACT_BUCKET, set(artifacts))

        supported = moto_supported_types()
        types = {lid: res["Type"] for lid, res in cfn["Resources"].items()}
        deployable, skipped = strip_unsupported(cfn, supported)
        report.skipped = dict(sorted(Counter(types[lid] for lid in skipped).items()))
        report.skipped_ids = skipped
        report.facts["emulated_defaults"] = emulate_cloudformation_defaults(deployable, stack_name)

        with mock_aws(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s3 = boto3.client("s3", region_name=region)
            s3.create_bucket(Bucket=ARTIFACT_BUCKET)
            for key, folder in artifacts.items():
                s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=zip_folder(folder))

            cf = boto3.client("cloudformation", region_name=region)
            params = [
                {"ParameterKey": k, "ParameterValue": str(v)} for k, v in (parameter_values or {}).items()
            ]
            try:
                cf.create_stack(
                    StackName=stack_name,
                    TemplateBody=json.dumps(deployable),
                    Parameters=params,
                    Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
                )
            except Exception as exc:
                report.problems.append(f"create_stack failed: {exc}")
                report.seconds = time.monotonic() - started
                return report
            report.stack_status = _wait_for_stack(cf, stack_name)
            if report.stack_status != "CREATE_COMPLETE":
                report.problems.append(f"stack status {report.stack_status}")
            report.problems += _failed_events(cf, stack_name)

            summaries = cf.get_paginator("list_stack_resources").paginate(StackName=stack_name)
            rows = [r for page in summaries for r in page["StackResourceSummaries"]]
            complete = [r for r in rows if r["ResourceStatus"] == "CREATE_COMPLETE"]
            report.created = dict(sorted(Counter(r["ResourceType"] for r in complete).items()))
            report.physical_ids = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in complete}
            missing = sorted(set(deployable["Resources"]) - set(report.physical_ids))
            if missing:
                report.problems.append(f"resources not created: {', '.join(missing)}")

            collect_facts(report, sam, deployable, region)
            if report.stack_status == "CREATE_COMPLETE":
                report.problems += check_facts(report, sam)
    report.seconds = time.monotonic() - started
    return report


# ------------------------------------------------------------------------------------------- facts
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


# -------------------------------------------------------------------------------------------- main
def print_report(report: RehearsalReport) -> None:
    created = sum(report.created.values())
    skipped = sum(report.skipped.values())
    print(
        f"rehearsal: stack {report.stack_status}: {created} resources created, {skipped} skipped "
        f"({report.seconds:.1f} s)"
    )
    for rtype, count in report.created.items():
        print(f"  created  {count:3d}  {rtype}")
    for rtype, count in report.skipped.items():
        why = MOTO_CANNOT_CREATE.get(rtype, "moto's CloudFormation does not support it")
        print(f"  skipped  {count:3d}  {rtype}  ({why})")
    for m in report.facts.get("mappings", []):
        print(
            f"  mapping  {m['source']} -> {m['function']}: BatchSize {m['batch_size']}, "
            f"FunctionResponseTypes {m['function_response_types']}"
        )
    for problem in report.problems:
        print(f"  PROBLEM: {problem}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a template parameter override (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    args = parser.parse_args(argv)
    params = dict(p.split("=", 1) for p in args.parameter)
    report = rehearse(args.template, params)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=str))
    else:
        print_report(report)
    if not report.ok:
        print("rehearsal FAILED: see PROBLEM lines above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
