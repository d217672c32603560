"""The deploy rehearsal (tools/deploy_rehearsal.py): template.yaml translated by samtranslator and created
in moto's CloudFormation (in-process). Asserts the design's concrete values on the created resources, so a
change to the template that breaks the design (batch size, redrive, visibility, handlers, ...) fails here."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.deploy_rehearsal import (
    DEFAULT_TEMPLATE,
    REPO_ROOT,
    RehearsalReport,
    main,
    rehearse,
    strip_unsupported,
)

HANDLERS = {
    "ApiFunction": "api_handler.lambda_handler",
    "MatcherFunction": "matcher_handler.lambda_handler",
    "NotifierFunction": "notifier_handler.lambda_handler",
    "SchedulerFunction": "scheduler_handler.lambda_handler",
    "WsFunction": "ws_handler.lambda_handler",
}


@pytest.fixture(scope="module")
def report() -> RehearsalReport:
    return rehearse()


def test_stack_reaches_create_complete_without_problems(report: RehearsalReport) -> None:
    assert report.problems == []
    assert report.stack_status == "CREATE_COMPLETE"
    assert report.ok


def test_created_and_skipped_resources_per_type(report: RehearsalReport) -> None:
    created = report.created
    assert created["AWS::Lambda::Function"] == 5
    assert created["AWS::IAM::Role"] == 5
    assert created["AWS::Lambda::LayerVersion"] == 1
    assert created["AWS::DynamoDB::Table"] == 2
    assert created["AWS::SQS::Queue"] == 3
    assert created["AWS::Lambda::EventSourceMapping"] == 2
    assert created["AWS::Events::Rule"] == 1
    assert created["AWS::ApiGateway::RestApi"] == 1
    assert created["AWS::Lambda::Permission"] >= 2  # REST api -> ApiFunction, schedule -> SchedulerFunction
    # moto's CloudFormation cannot create these: removed before creation, references replaced
    assert report.skipped["AWS::ApiGatewayV2::Api"] == 1
    assert report.skipped["AWS::ApiGatewayV2::Route"] == 4  # $connect, $disconnect, $default, subscribe
    assert report.skipped["AWS::ApiGatewayV2::Stage"] == 1
    assert set(report.skipped).isdisjoint(created)


def test_exchange_table_indexes_and_stream(report: RehearsalReport) -> None:
    table = report.facts["tables"]["ExchangeTable"]
    assert table["key_schema"] == {"HASH": "pk", "RANGE": "sk"}
    assert table["gsis"] == {
        "gsi1": {"keys": {"HASH": "gsi1pk", "RANGE": "gsi1sk"}, "projection": "ALL"},
        "open_orders": {"keys": {"HASH": "book_symbol", "RANGE": "book_seq"}, "projection": "ALL"},
        "pending_orders": {
            "keys": {"HASH": "pending_shard", "RANGE": "pending_since"},
            "projection": "KEYS_ONLY",
        },
        "user_open_orders": {"keys": {"HASH": "open_user", "RANGE": "sk"}, "projection": "ALL"},
    }
    assert table["stream"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table["stream_arn"]
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert report.facts["tables"]["ConnectionsTable"]["key_schema"] == {"HASH": "pk", "RANGE": "sk"}


def test_orders_queue_fifo_with_redrive_and_visibility(report: RehearsalReport) -> None:
    queues = report.facts["queues"]
    orders, dlq = queues["OrdersQueue"], queues["OrdersDeadLetterQueue"]
    assert orders["fifo"] and dlq["fifo"]
    assert orders["redrive"] == {"deadLetterTargetArn": dlq["arn"], "maxReceiveCount": 5}
    assert report.facts["functions"]["MatcherFunction"]["timeout"] == 30
    assert orders["visibility_timeout"] == 180 == 6 * report.facts["functions"]["MatcherFunction"]["timeout"]
    assert queues["NotifierFailureQueue"]["fifo"] is False


def _mapping(report: RehearsalReport, function: str) -> dict:
    found = [m for m in report.facts["mappings"] if m["function"] == function]
    assert len(found) == 1, report.facts["mappings"]
    return found[0]


def test_matcher_sqs_mapping(report: RehearsalReport) -> None:
    m = _mapping(report, "MatcherFunction")
    assert m["source"] == "OrdersQueue"
    assert m["batch_size"] == 10
    assert m["function_response_types"] == ["ReportBatchItemFailures"]


def test_notifier_stream_mapping(report: RehearsalReport) -> None:
    m = _mapping(report, "NotifierFunction")
    assert m["source"] == "ExchangeTable"
    assert m["starting_position"] == "TRIM_HORIZON"
    assert m["bisect_on_error"] is True
    assert m["maximum_retry_attempts"] == 5
    assert m["on_failure"] == "NotifierFailureQueue"
    assert m["function_response_types"] == ["ReportBatchItemFailures"]


def test_functions_handlers_and_environment(report: RehearsalReport) -> None:
    functions = report.facts["functions"]
    assert {lid: f["handler"] for lid, f in functions.items()} == HANDLERS
    table = report.facts["tables"]["ExchangeTable"]["name"]
    connections = report.facts["tables"]["ConnectionsTable"]["name"]
    queue_url = report.facts["queues"]["OrdersQueue"]["url"]
    for lid, f in functions.items():
        assert f["runtime"] == "python3.12", lid
        assert f["env"]["TABLE_NAME"] == table, lid
        # each function its own service name (its logs, its metrics dimension)
        assert f["env"]["POWERTOOLS_SERVICE_NAME"] == "exchange-" + lid.removesuffix("Function").lower(), lid
        assert f["env"]["POWERTOOLS_LOG_LEVEL"] == "INFO", lid
        assert f["env"]["STAGE"] == "dev", lid
        assert f["layers_declared"], lid
    for lid in ("ApiFunction", "SchedulerFunction"):
        assert functions[lid]["env"]["ORDERS_QUEUE_URL"] == queue_url
    for lid in ("WsFunction", "NotifierFunction"):
        assert functions[lid]["env"]["CONNECTIONS_TABLE_NAME"] == connections
        assert functions[lid]["env"]["WS_MANAGEMENT_ENDPOINT"].startswith("https://")
    assert {"JWT_SECRET_ARN", "ADMIN_EMAIL", "ADMIN_PASSWORD_SECRET_ARN", "STARTING_CASH"} <= set(
        functions["ApiFunction"]["env"]
    )


def test_schedule_targets_the_scheduler(report: RehearsalReport) -> None:
    (rule,) = report.facts["rules"].values()
    assert rule["schedule"] == "rate(1 minute)"
    assert rule["state"] == "ENABLED"
    assert rule["targets"] == ["SchedulerFunction"]


def test_main_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "stack CREATE_COMPLETE" in out
    assert "skipped" in out


def _mutated(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_TEMPLATE.read_text()
    assert text.count(old) == 1, old
    path = tmp_path / "template.yaml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("            BatchSize: 10\n", "            BatchSize: 5\n", "matcher BatchSize 5 != 10"),
        (
            "      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt OrdersDeadLetterQueue.Arn\n"
            "        maxReceiveCount: 5\n",
            "",
            "OrdersQueue redrive does not target OrdersDeadLetterQueue",
        ),
        ("      VisibilityTimeout: 180", "      VisibilityTimeout: 30", "VisibilityTimeout 30 != 6 x"),
    ],
    ids=["batch-size-5", "no-redrive", "short-visibility"],
)
def test_rehearsal_catches_a_broken_design(tmp_path: Path, old: str, new: str, expected: str) -> None:
    broken = rehearse(_mutated(tmp_path, old, new), code_root=REPO_ROOT)
    assert not broken.ok
    assert any(expected in p for p in broken.problems), broken.problems


def test_strip_unsupported_replaces_every_reference() -> None:
    cfn = {
        "Resources": {
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {}},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "DependsOn": ["Api", "Role"],
                "Properties": {
                    "A": {"Ref": "Api"},
                    "B": {"Fn::GetAtt": ["Api", "ApiEndpoint"]},
                    "C": {"Fn::Sub": "https://${Api}.x/${Stage}/${Api.ApiId}"},
                    "D": {"Fn::Sub": ["${Api}-${Other}", {"Other": {"Ref": "Api"}}]},
                    "E": {"Ref": "Role"},
                },
            },
            "Role": {"Type": "AWS::IAM::Role", "Properties": {}},
        },
        "Outputs": {"Url": {"Value": {"Fn::Sub": "wss://${Api}"}}},
    }
    out, skipped = strip_unsupported(cfn, {"AWS::Lambda::Function", "AWS::IAM::Role"})
    assert skipped == ["Api"]
    fn = out["Resources"]["Fn"]
    assert fn["DependsOn"] == ["Role"]
    assert fn["Properties"] == {
        "A": "skipped-Api",
        "B": "skipped-Api-ApiEndpoint",
        "C": {"Fn::Sub": "https://skipped-Api.x/${Stage}/skipped-Api-ApiId"},
        "D": {"Fn::Sub": ["skipped-Api-${Other}", {"Other": "skipped-Api"}]},
        "E": {"Ref": "Role"},
    }
    assert out["Outputs"]["Url"]["Value"] == {"Fn::Sub": "wss://skipped-Api"}
    assert "Api" in cfn["Resources"]  # the input is not modified
