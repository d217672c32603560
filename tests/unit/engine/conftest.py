import pytest

from exchange.domain.engine import OrderBook


@pytest.fixture
def book() -> OrderBook:
    return OrderBook("ACME")
