"""schemathesis against the served OpenAPI document, over real HTTP to the local stack.

Every operation, positive and negative data, a bounded number of examples each; authenticated as
a fresh trader (admin operations as the admin). Asserted for every response: no status >= 500,
every error body is the contract's envelope, and the response conforms to the document (declared
status code, content type, body schema).

The fuzzer speaks from its own loopback address: the login operation fails on purpose and must not
throttle the address other tests log in from.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from requests.adapters import HTTPAdapter
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from api_app.main import create_app
from api_app.services import Services
from exchange.settings import ApiSettings
from tests.security.conftest import ADMIN, PASSWORD, fresh_loopback

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
MAX_EXAMPLES = 25


class _FromAddress(HTTPAdapter):
    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture(scope="session")
def fuzz_session() -> Iterator[requests.Session]:
    session = requests.Session()
    session.mount("http://", _FromAddress(fresh_loopback()))
    yield session
    session.close()


@pytest.fixture(scope="session")
def tokens(base_url: str, fuzz_session: requests.Session) -> dict[str, str]:
    email = f"fuzz-{fresh_loopback().replace('.', '-')}@example.com"
    r = fuzz_session.post(f"{base_url}/api/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status_code == 201, r.text
    trader = r.json()["access_token"]
    r = fuzz_session.post(f"{base_url}/api/auth/login", json=ADMIN)
    assert r.status_code == 200, r.text
    return {"trader": trader, "admin": r.json()["access_token"]}


def _document() -> dict[str, Any]:
    """The app's OpenAPI document, built without AWS (collection happens before the stack starts;
    schemathesis' lazy ``from_fixture`` loader does not run on pytest 9). The first test checks that
    the stack serves exactly this document."""
    settings_ = ApiSettings(TABLE_NAME="unused", ORDERS_QUEUE_URL="unused")  # type: ignore[call-arg]
    return create_app(Services(settings_)).openapi()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.generation.update(max_examples=MAX_EXAMPLES)


def test_served_document_is_the_one_fuzzed(base_url: str, fuzz_session: requests.Session) -> None:
    # When the stack's document and docs page are fetched
    served = fuzz_session.get(f"{base_url}/openapi.json", timeout=15)
    docs = fuzz_session.get(f"{base_url}/docs", timeout=15)
    # Then the document is the one the fuzzer uses, and the docs page points at it
    assert served.status_code == 200
    assert served.json() == DOCUMENT
    assert docs.status_code == 200
    # (relative, so that it also resolves under API Gateway's stage prefix: /dev/docs -> /dev/openapi.json)
    assert "url: 'openapi.json'" in docs.text


def _header(response: Any, name: str) -> str:
    value = response.headers.get(name) or response.headers.get(name.title()) or ""
    return value[0] if isinstance(value, list) else str(value)


def assert_envelope(response: Any) -> None:
    assert _header(response, "content-type").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict), body
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, body
    assert isinstance(error["code"], str), body
    assert error["code"] and error["code"].replace("_", "").isalpha() and error["code"].islower(), body
    assert isinstance(error["message"], str), body
    assert "Traceback" not in response.text


def _negation_is_moot(case: Any) -> bool:
    """A negative case whose every invalid part the api may lawfully accept as valid: the
    Authorization header (this test replaces it with a real token) and unknown parameters outside the
    body (an extra query parameter or header is ignored, as OpenAPI allows)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    data = meta.phase.data
    mutations = getattr(data, "mutations", ())
    if not mutations:
        return data.parameter == "Authorization"
    return all(
        m.parameter == "Authorization"
        or (m.parameter_location.value != "body" and "additionalProperties" in m.keywords)
        for m in mutations
    )


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=MAX_EXAMPLES)
def test_api_conforms_and_never_fails(
    case: Any, base_url: str, fuzz_session: requests.Session, tokens: dict[str, str]
) -> None:
    # Given a generated request, authenticated when the operation needs it
    # (bad and missing tokens are the attack tests' business: here every secured call gets a real one)
    headers = {}
    if case.operation.definition.raw.get("security"):
        role = "admin" if case.path.startswith("/api/admin") else "trader"
        headers["Authorization"] = f"Bearer {tokens[role]}"
        if case.headers:
            case.headers.pop("Authorization", None)
    # When it is sent
    response = case.call(base_url=base_url, session=fuzz_session, headers=headers, timeout=15)
    # Then no server error, errors in the envelope, the response is what the document says, and a
    # request the document refuses is refused (a document stricter than the api, as when it typed
    # prices as integers and refused "101.00", fails here)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_envelope(response)
    negative = [] if _negation_is_moot(case) else [negative_data_rejection]
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            *negative,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
