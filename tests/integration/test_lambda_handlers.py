"""The Lambda entry points as AWS calls them, fed the sample events in events/: the api through
Mangum (an API Gateway REST proxy event), the matcher with an SQS FIFO batch, the notifier with a
stream record, the ws function with $connect, the scheduler with its schedule event."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_stack.lambda_runtime import LocalFunction
from local_stack.template import LocalTemplate
from tests.integration.conftest import Exchange

EVENTS = Path(__file__).resolve().parents[2] / "events"


def event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture(scope="module")
def functions(exchange: Exchange) -> Iterator[dict[str, LocalFunction]]:
    env = {
        "TABLE_NAME": "ExchangeTable",
        "CONNECTIONS_TABLE_NAME": "ConnectionsTable",
        "ORDERS_QUEUE_URL": exchange.queue.queue_url,
        "JWT_SECRET": "x" * 48,
        "WS_MANAGEMENT_ENDPOINT": "http://127.0.0.1:9/dev",
        "ADMIN_EMAIL": "root@example.com",
        "ADMIN_PASSWORD": "root-password",
        "COOKIE_SECURE": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_SERVICE_NAME": "exchange",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    exchange.admin.list_stock("ACME", "Acme", 10_000, 1)
    loaded = {name: LocalFunction(fn) for name, fn in LocalTemplate().functions().items()}
    yield loaded
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_api_through_mangum(functions: dict[str, LocalFunction], exchange: Exchange) -> None:
    # When API Gateway sends the register and get-stock proxy events
    registered = functions["ApiFunction"].invoke(event("api_register.json"))
    stock = functions["ApiFunction"].invoke(event("api_get_stock.json"))

    # Then the FastAPI app answered through Mangum with the contract's shapes and cookies
    assert registered["statusCode"] == 201, registered
    body = json.loads(registered["body"])
    assert body["user"]["email"] == "sam@example.com" and body["token_type"] == "bearer"
    cookies = registered["multiValueHeaders"]["set-cookie"]
    assert any(c.startswith("refresh_token=") and "HttpOnly" in c and "Secure" in c for c in cookies)
    assert exchange.store.cash(body["user"]["id"])["available"] == 10_000_000
    assert stock["statusCode"] == 200 and json.loads(stock["body"])["reference_price"] == "100.00"
    # and the first admin exists (created at cold start from configuration)
    admin_id = exchange.store.user_id_by_email("root@example.com")
    assert admin_id and exchange.store.profile(admin_id)["role"] == "admin"


def test_matcher_takes_an_sqs_batch(functions: dict[str, LocalFunction], exchange: Exchange) -> None:
    # Given an order placed through the use case, and the sample SQS batch pointing at it
    user = exchange.accounts.register("m@example.com", "password123", None)["id"]
    from exchange import book_codec
    from exchange.usecases.orders import OrderRequest

    order, _ = exchange.orders.place(user, OrderRequest("ACME", "buy", "limit", 2, 9_900, "gtc", None))
    batch = event("sqs_orders_batch.json")
    batch["Records"][0]["body"] = json.dumps(
        {"kind": "new", "symbol": "ACME", "order_id": order["id"], "user_id": user}
    )

    # When the matcher handler gets it
    result = functions["MatcherFunction"].invoke(batch)

    # Then nothing failed and the order rests in the book
    assert result == {"batchItemFailures": []}
    assert exchange.store.order(user, order["id"])["status"] == "open"
    assert book_codec.levels(exchange.store.book("ACME"))[0] == [[9_900, 2, 1]]


def test_matcher_reports_a_failing_stock_and_only_it(functions: dict[str, LocalFunction]) -> None:
    batch = event("sqs_orders_batch.json")
    batch["Records"][0]["attributes"]["MessageGroupId"] = "NOSUCH"
    batch["Records"][0]["body"] = json.dumps(
        {"kind": "new", "symbol": "NOSUCH", "order_id": "x", "user_id": "y"}
    )
    result = functions["MatcherFunction"].invoke(batch)
    assert result == {"batchItemFailures": [{"itemIdentifier": batch["Records"][0]["messageId"]}]}


def test_notifier_takes_a_stream_record(functions: dict[str, LocalFunction]) -> None:
    # no connection subscribes to this user: the record is handled, nothing to send
    assert functions["NotifierFunction"].invoke(event("dynamodb_stream_cash.json")) == {
        "batchItemFailures": []
    }


def test_notifier_reports_the_first_record_it_could_not_deliver(functions: dict[str, LocalFunction]) -> None:
    # Given a batch of three cash changes, of three users; only the second user has a connection,
    # and posting to it fails (nothing listens at the management endpoint, 127.0.0.1:9)
    from exchange.adapters.connections import ConnectionStore

    template = event("dynamodb_stream_cash.json")["Records"][0]
    records = []
    for n, user in enumerate(
        ["01JD0000000000000000000UA1", "01JD0000000000000000000UB1", "01JD0000000000000000000UC1"]
    ):
        r = json.loads(json.dumps(template).replace("01JD00000000000000000000U1", user))
        r["dynamodb"]["SequenceNumber"] = str(200 + n)
        records.append(r)
    ConnectionStore("ConnectionsTable").subscribe(
        "conn-b", ["user:01JD0000000000000000000UB1"], 1_764_072_000
    )
    # When the notifier takes the batch
    result = functions["NotifierFunction"].invoke({"Records": records})
    # Then the second record is reported (the stream retries from it, the third one with it)
    assert result == {"batchItemFailures": [{"itemIdentifier": "201"}]}


def test_ws_connect_refuses_a_bad_token_and_accepts_anonymous(
    functions: dict[str, LocalFunction], exchange: Exchange
) -> None:
    bad = event("ws_connect.json")
    assert functions["WsFunction"].invoke(bad)["statusCode"] == 401
    anonymous = event("ws_connect.json")
    anonymous["queryStringParameters"] = None
    assert functions["WsFunction"].invoke(anonymous)["statusCode"] == 200


def test_scheduler_runs_its_sweep(functions: dict[str, LocalFunction]) -> None:
    assert functions["SchedulerFunction"].invoke(event("schedule.json")) == {"expired": 0, "requeued": 0}


def _record(n: int, group: str, body: str) -> dict[str, Any]:
    r = event("sqs_orders_batch.json")["Records"][0]
    r = {**r, "messageId": f"m{n}", "body": body, "attributes": {**r["attributes"], "MessageGroupId": group}}
    return r


def test_a_poison_message_fails_only_its_own_stock(
    functions: dict[str, LocalFunction], exchange: Exchange
) -> None:
    # Given two stocks, a good order for each, and in the second stock's group a body that is not
    # JSON, followed by another good order of that stock
    from exchange.usecases.orders import OrderRequest

    user = exchange.accounts.register("poison@example.com", "password123", None)["id"]
    exchange.admin.list_stock("PSNB", "B", 10_000, 1)
    a, _ = exchange.orders.place(user, OrderRequest("ACME", "buy", "limit", 1, 9_700, "gtc", None))
    b1, _ = exchange.orders.place(user, OrderRequest("PSNB", "buy", "limit", 1, 9_700, "gtc", None))
    b2, _ = exchange.orders.place(user, OrderRequest("PSNB", "buy", "limit", 1, 9_600, "gtc", None))

    def body(o: dict[str, Any]) -> str:
        return json.dumps({"kind": "new", "symbol": o["symbol"], "order_id": o["id"], "user_id": user})

    batch = {
        "Records": [
            _record(1, "PSNB", body(b1)),
            _record(2, "PSNB", "{not json"),
            _record(3, "ACME", body(a)),
            _record(4, "PSNB", body(b2)),
        ]
    }
    # When the matcher handler gets the batch
    result = functions["MatcherFunction"].invoke(batch)
    # Then only the poison message and the later one of its stock fail (to be redelivered, in order)
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m4"}]}
    # the first stock's order and the second stock's earlier order were matched
    assert exchange.store.order(user, a["id"])["status"] == "open"
    assert exchange.store.order(user, b1["id"])["status"] == "open"
    assert exchange.store.order(user, b2["id"])["status"] == "pending"


def test_an_unknown_kind_is_poison_not_a_cancel(
    functions: dict[str, LocalFunction], exchange: Exchange
) -> None:
    # Given a resting order, and a message of a kind nobody sends naming it
    from exchange.usecases.orders import OrderRequest

    user = exchange.accounts.register("kind@example.com", "password123", None)["id"]
    order, _ = exchange.orders.place(user, OrderRequest("ACME", "buy", "limit", 1, 9_500, "gtc", None))
    new = json.dumps({"kind": "new", "symbol": "ACME", "order_id": order["id"], "user_id": user})
    assert functions["MatcherFunction"].invoke({"Records": [_record(1, "ACME", new)]}) == {
        "batchItemFailures": []
    }
    odd = json.dumps({"kind": "amend", "symbol": "ACME", "order_id": order["id"], "user_id": user})
    # When the matcher gets it
    result = functions["MatcherFunction"].invoke({"Records": [_record(2, "ACME", odd)]})
    # Then it fails (poison), and the order still rests with its reservation
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}]}
    stored = exchange.store.order(user, order["id"])
    assert (stored["status"], stored["cancel_requested"], stored["reserved_cash"]) == ("open", False, 9_500)
