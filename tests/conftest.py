"""Shared test configuration: hypothesis profiles and the --plain-moto switch."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from local_stack.stack import LocalStack, StackConfig, free_port

# the admin of the test session's local stack (e2e and security tiers share one stack)
ADMIN = {"email": "admin@example.com", "password": "e2e-admin-password"}

settings.register_profile("ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--plain-moto",
        action="store_true",
        default=False,
        help="run the moto fidelity tests against plain moto (they are expected to fail)",
    )


@pytest.fixture(scope="session")
def plain_moto(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--plain-moto"))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def stack() -> Iterator[LocalStack]:
    """The local stack, started once per test session (only one can run in a process)."""
    s = LocalStack(
        StackConfig(
            api_port=free_port(),
            ws_port=free_port(),
            admin_email=ADMIN["email"],
            admin_password=ADMIN["password"],
            schedule_seconds=3600,
        )
    ).start()
    yield s
    s.stop()
