"""Deploy rehearsal: template.yaml -> CloudFormation (samtranslator) -> a stack in moto's CloudFormation.

Stronger than lint: the SAM template is translated exactly as the SAM transform would do it, every
code artifact is an object in (moto's) S3, and the stack must reach CREATE_COMPLETE. Resource types
moto's CloudFormation cannot create (API Gateway v2, Secrets Manager, ...) are removed first and every
reference to them is replaced by a placeholder string; they are reported as skipped. Then the key facts
of the deployment are read back from the created resources with boto3 (tables, queues, event-source
mappings, functions, the schedule) and checked.

Usage: python -m tools.deploy_rehearsal [--template template.yaml] [--json]
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

from tools.rehearsal_facts import check_facts, collect_facts, print_report

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TEMPLATE = REPO_ROOT / "template.yaml"
REGION = "us-east-1"
STACK_NAME = "exchange-sim-rehearsal"
ARTIFACT_BUCKET = "exchange-sim-rehearsal-artifacts"
PLACEHOLDER_PREFIX = "skipped-"

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


# -------------------------------------------------------------------------------------------- main
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
        print_report(report, MOTO_CANNOT_CREATE)
    if not report.ok:
        print("rehearsal FAILED: see PROBLEM lines above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
