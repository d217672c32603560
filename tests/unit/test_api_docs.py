"""The api's OpenAPI document and /docs page, in process (no AWS: every request here is answered
before a use case runs): money schemas that say what the api accepts, documented errors with
example envelopes, Swagger UI served from the package, and the edge's refusals of item 8."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api_app.main import create_app
from api_app.schemas import DepositIn, OrderIn, StockIn
from api_app.services import Services
from exchange.settings import ApiSettings
from tests.openapi_conformance import Conformance

SECRET = "unit-test-secret-unit-test-secret-0123456789"


@pytest.fixture(scope="module")
def services() -> Services:
    return Services(ApiSettings(TABLE_NAME="unused", ORDERS_QUEUE_URL="unused", JWT_SECRET=SECRET))


@pytest.fixture(scope="module")
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    return r.json()


@pytest.fixture(scope="module")
def conformance(document: dict[str, Any]) -> Conformance:
    return Conformance(document)


def _auth(services: Services, role: str = "trader") -> dict[str, str]:
    return {"Authorization": f"Bearer {services.tokens.issue('U1', role)}"}


ORDER = {"symbol": "ACME", "side": "buy", "type": "limit", "quantity": 5}
MONEY_BODIES = [
    ("POST", "/api/orders", lambda price: {**ORDER, "limit_price": price}),
    ("POST", "/api/admin/users/{user_id}/deposit", lambda price: {"amount": price}),
    (
        "POST",
        "/api/admin/stocks",
        lambda price: {"symbol": "ACME", "name": "Acme", "reference_price": price, "tick_size": price},
    ),
]


# ---------------------------------------------------------------- item 2: money in the document
@pytest.mark.parametrize("method,path,body", MONEY_BODIES)
@pytest.mark.parametrize("price", ["101.00", "0.01", "9999999999999.99", "101.5", "101", "0.5", 101.25, 3])
def test_the_documents_money_fields_take_the_contracts_own_money(
    conformance: Conformance, method: str, path: str, body: Any, price: object
) -> None:
    # Given a request the contract calls valid (a decimal string with two decimals, or a number)
    # Then the served document accepts it too
    assert conformance.request_errors(method, path, body(price)) == []


@pytest.mark.parametrize("method,path,body", MONEY_BODIES)
@pytest.mark.parametrize("price", [" 1.00 ", "1.001", "01.5", "1.", "1e2", "-1.00", "abc", "", True, 0, -2.5])
def test_the_documents_money_fields_refuse_what_the_api_refuses(
    conformance: Conformance, method: str, path: str, body: Any, price: object
) -> None:
    assert conformance.request_errors(method, path, body(price)) != []


@pytest.mark.parametrize("price", [" 1.00 ", "1.001", "01.5", "1.", "1e2", "-1.00", "abc", "", True, 0, -2.5])
def test_the_api_refuses_the_money_the_document_refuses(price: object) -> None:
    # the other half of "the schema says exactly what the api accepts"
    with pytest.raises(ValidationError):
        OrderIn.model_validate({**ORDER, "limit_price": price})
    with pytest.raises(ValidationError):
        DepositIn.model_validate({"amount": price})


def test_money_outputs_and_defaults_are_documented_as_they_are(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    tick_in = schemas["StockIn"]["properties"]["tick_size"]
    assert tick_in["default"] == "0.01"
    assert (
        StockIn.model_validate({"symbol": "ACME", "name": "Acme", "reference_price": "1.00"}).tick_size == 1
    )
    tick_out = schemas["StockOut"]["properties"]["tick_size"]
    assert tick_out["examples"] == ["0.01"]
    for name, schema in schemas.items():
        for prop, sub in schema.get("properties", {}).items():
            assert sub.get("type") != "integer" or "anyOf" not in sub, f"{name}.{prop}: integer and anyOf"


# ---------------------------------------------------------------- item 4: every operation described
def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, op in item.items():
            yield method.upper(), path, op


def test_every_operation_has_a_summary_a_description_and_example_errors(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        assert op.get("summary") and len(op.get("description", "")) > 40, f"{method} {path}"
        for status, response in op["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            examples = response["content"]["application/json"]["examples"]
            assert examples, f"{method} {path} {status}"
            for example in examples.values():
                error = example["value"]["error"]
                assert set(error) == {"code", "message", "details"}, f"{method} {path} {status}: {example}"
                assert re.fullmatch(r"[a-z_]+", error["code"])


def _codes(document: dict[str, Any], method: str, path: str) -> dict[str, set[str]]:
    op = document["paths"][path][method.lower()]
    return {
        status: {e["value"]["error"]["code"] for e in r["content"]["application/json"]["examples"].values()}
        for status, r in op["responses"].items()
        if status.startswith(("4", "5"))
    }


def test_the_business_errors_are_documented_where_they_happen(document: dict[str, Any]) -> None:
    place = _codes(document, "POST", "/api/orders")
    assert {"insufficient_funds", "insufficient_shares", "no_liquidity", "validation_error"} <= place["422"]
    assert place["404"] == {"unknown_symbol"}
    assert place["409"] == {"duplicate_client_order_id", "stock_halted"}
    assert "409" not in _codes(document, "GET", "/api/orders")
    assert _codes(document, "DELETE", "/api/orders/{order_id}")["409"] == {"order_not_cancellable"}
    assert _codes(document, "POST", "/api/auth/register")["409"] == {"email_taken"}
    assert _codes(document, "POST", "/api/auth/login")["401"] == {"invalid_credentials"}
    assert _codes(document, "POST", "/api/auth/refresh")["403"] == {"csrf_failed"}
    assert _codes(document, "POST", "/api/admin/stocks")["409"] == {"stock_exists"}
    assert _codes(document, "GET", "/api/stocks/{symbol}") == {"404": {"unknown_symbol"}}  # nothing to be 422
    assert set(_codes(document, "GET", "/api/orders/{order_id}")) == {"401", "404"}
    place_op = document["paths"]["/api/orders"]["post"]
    assert "pending" in place_op["description"] and "asynchronous" in place_op["description"]
    assert document["paths"]["/api/admin/stocks"]["post"]["summary"] != "List Stock"


# ---------------------------------------------------------------- item 4: /docs offline
def test_docs_page_and_every_asset_it_references_come_from_the_app(client: TestClient) -> None:
    # When the docs page is fetched
    page = client.get("/docs")
    # Then it is served, refers to no other host, and each asset it names is served by the app
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "http://" not in html and "https://" not in html and "//cdn" not in html, html
    refs = re.findall(r'(?:src|href)="([^"]+)"', html) + re.findall(r"url: '([^']+)'", html)
    assert len(refs) == 4, refs  # the css, the favicon, the script, the document
    inline = [r for r in refs if r.startswith("data:image/png;base64,")]
    assert len(inline) == 1  # the favicon: no request at all
    for ref in set(refs) - set(inline):
        assert not ref.startswith("/") and ":" not in ref, f"{ref}: relative, for the stage prefix"
        asset = client.get(f"/{ref}")  # as a browser resolves it against /docs
        assert asset.status_code == 200, ref
        assert len(asset.content) > 100, ref
    css = client.get("/docs/swagger-ui.css")
    assert css.headers["content-type"].startswith("text/css")
    js = client.get("/docs/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith(("application/javascript", "text/javascript"))
    assert b"SwaggerUIBundle" in js.content
    assert "validatorUrl" in html  # no badge fetched from the validator service


# ---------------------------------------------------------------- item 8: the edge's refusals
def _detail_msgs(body: dict[str, Any]) -> list[str]:
    return [d["msg"] for d in body["error"]["details"]]


def test_a_price_with_spaces_is_refused(client: TestClient, services: Services) -> None:
    r = client.post("/api/orders", headers=_auth(services), json={**ORDER, "limit_price": " 1.00 "})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    assert r.json()["error"]["details"][0]["loc"] == ["body", "limit_price"]


def test_a_tick_size_below_a_cent_is_named_as_such(client: TestClient, services: Services) -> None:
    body = {"symbol": "ACME", "name": "Acme", "reference_price": "1.00", "tick_size": "0.001"}
    r = client.post("/api/admin/stocks", headers=_auth(services, "admin"), json=body)
    assert r.status_code == 422, r.text
    (msg,) = _detail_msgs(r.json())
    assert "than the tick allows" not in msg, msg  # it is the tick itself that is too fine
    assert "whole number of cents" in msg and '"0.01"' in msg, msg


def test_every_validation_detail_has_loc_msg_and_type(client: TestClient, services: Services) -> None:
    for r in (
        client.post("/api/orders", headers=_auth(services), json={**ORDER, "limit_price": "1.001"}),
        client.get("/api/stocks/ACME/candles", params={"from": "yesterday"}),
        client.get(
            "/api/stocks/ACME/candles", params={"from": "2026-12-01T10:00:00Z", "to": "2026-12-01T09:00:00Z"}
        ),
    ):
        assert r.status_code == 422, r.text
        for detail in r.json()["error"]["details"]:
            assert set(detail) == {"loc", "msg", "type"} and all(detail.values()), detail


def test_candles_from_after_to_is_a_validation_error(client: TestClient) -> None:
    # When from is after to
    r = client.get(
        "/api/stocks/ACME/candles",
        params={"from": "2026-12-01T10:00:00.000Z", "to": "2026-12-01T09:59:59.999Z"},
    )
    # Then 422 naming from (before any read: the stock is not even looked up)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["loc"] == ["query", "from"]
