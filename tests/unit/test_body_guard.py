"""The api's body guard (api_app/main.py BodyGuard) on deeply nested JSON: refused before parsing
with 400 malformed_request in the envelope, on every JSON endpoint, with no login and no AWS call
(the guard answers before any route or dependency runs)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from mangum import Mangum

from api_app.main import _bad_string_at, create_app
from api_app.services import Services
from exchange.json_limits import MAX_DEPTH
from exchange.settings import ApiSettings
from local_stack.lambda_runtime import LambdaContext

EVENTS = Path(__file__).resolve().parents[2] / "events"

ENDPOINTS = [
    "/api/auth/login",
    "/api/auth/register",
    "/api/orders",
    "/api/admin/stocks",
    "/api/admin/users/u1/deposit",
    "/api/admin/users/u1/grant",
]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = ApiSettings(  # type: ignore[call-arg]
        TABLE_NAME="unused", ORDERS_QUEUE_URL="unused", JWT_SECRET="s" * 48
    )
    with TestClient(create_app(Services(settings)), raise_server_exceptions=False) as c:
        yield c


def _post(client: TestClient, path: str, body: str) -> tuple[int, dict[str, object]]:
    r = client.post(path, content=body, headers={"Content-Type": "application/json"})
    return r.status_code, r.json()


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 900, 1_000, 2_000])
def test_nesting_past_the_limit_is_400_malformed_request(client: TestClient, path: str, depth: int) -> None:
    # Given bodies nested past the limit: arrays, objects, and unclosed (1,000 levels was a 500)
    bodies = ["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth, "[" * depth]
    for body in bodies:
        # When it is posted with no token
        status, answer = _post(client, path, body)
        # Then it is refused as a body that cannot be parsed, in the envelope, with the limit
        assert status == 400, (path, depth, answer)
        assert answer == {
            "error": {
                "code": "malformed_request",
                "message": f"the body is nested deeper than {MAX_DEPTH} levels",
                "details": {"max_depth": MAX_DEPTH},
            }
        }


def test_over_the_size_limit_is_413_before_any_parsing(client: TestClient) -> None:
    # Given 100,000 nested levels (100 KB, over the 16 KiB body limit)
    status, answer = _post(client, "/api/auth/login", "[" * 100_000 + "]" * 100_000)
    # Then 413 in the envelope
    assert status == 413
    assert answer["error"]["code"] == "payload_too_large"  # type: ignore[index]


def test_at_the_limit_the_body_reaches_validation(client: TestClient) -> None:
    # Given a body nested exactly to the limit (the guard lets it through)
    body = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    # Then the route's own validation answers it: 422 validation_error, as for any wrong shape
    status, answer = _post(client, "/api/auth/login", body)
    assert status == 422
    assert answer["error"]["code"] == "validation_error"  # type: ignore[index]


def test_brackets_inside_a_string_are_not_nesting(client: TestClient) -> None:
    # Given a shallow body whose password is 100 "[" (text, not structure)
    status, answer = _post(client, "/api/auth/register", '{"email": "x", "password": "' + "[" * 100 + '"}')
    # Then it is not refused as nested: validation sees it (the email is invalid)
    assert status == 422
    assert [e["loc"] for e in answer["error"]["details"]] == [["body", "email"]]  # type: ignore[index]


def test_the_unicode_walk_needs_no_recursion() -> None:
    # Given a value 10,000 levels deep (deeper than Python's recursion limit) with a lone surrogate
    # at the bottom, after valid strings
    value: object = ["ok", "\ud800"]
    for _ in range(10_000):
        value = [value]
    # Then the walk finds its path without a RecursionError
    path = _bad_string_at(value, ["body"])
    assert path == ["body", *["0"] * 10_000, "1"]
    # and in document order: the first bad key or value, keys before their values
    assert _bad_string_at({"a": "fine", "\udc00": "\ud800"}, ["body"]) == ["body", "<key>"]
    assert _bad_string_at({"a": ["x", {"b": "\ud800"}], "c": "\ud801"}, ["body"]) == ["body", "a", "1", "b"]


@pytest.mark.parametrize("base64_encoded", [False, True], ids=["text", "base64"])
def test_through_mangum_as_api_gateway_sends_it(client: TestClient, base64_encoded: bool) -> None:
    # Given API Gateway's REST proxy event for register, its body 1,000 nested arrays
    event = json.loads((EVENTS / "api_register.json").read_text())
    body = b"[" * 1_000 + b"]" * 1_000
    event["body"] = base64.b64encode(body).decode() if base64_encoded else body.decode()
    event["isBase64Encoded"] = base64_encoded
    # When the app answers it through Mangum, as the api function does
    answer = Mangum(client.app, lifespan="off")(event, LambdaContext("ApiFunction", 15))  # type: ignore[arg-type]
    # Then 400 malformed_request in the envelope
    assert answer["statusCode"] == 400
    assert (
        json.loads(answer["body"])["error"]["message"] == f"the body is nested deeper than {MAX_DEPTH} levels"
    )


@pytest.mark.parametrize("literal", ["1.0000000000000000000000001", "101.2500000000000000001", "1e999"])
def test_a_number_a_float_cannot_hold_is_refused_not_rounded(client: TestClient, literal: str) -> None:
    # Given an order whose price would silently become 1.00 / 101.25 once read as a float
    body = '{"symbol":"ACME","side":"buy","type":"limit","quantity":1,"limit_price":' + literal + "}"
    response = client.post("/api/orders", content=body, headers={"content-type": "application/json"})
    # Then it is refused before any route runs (no token needed to see it), in the envelope
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["details"][0]["type"] == "number_inexact"


@pytest.mark.parametrize("literal", ["101.25", "0.1", "1e2", "101.5"])
def test_numbers_a_float_holds_pass_the_guard(client: TestClient, literal: str) -> None:
    body = '{"symbol":"ACME","side":"buy","type":"limit","quantity":1,"limit_price":' + literal + "}"
    response = client.post("/api/orders", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 401  # past the guard: the route wants a token
