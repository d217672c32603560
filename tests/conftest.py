"""Shared test configuration: hypothesis profiles and the --plain-moto switch."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

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
