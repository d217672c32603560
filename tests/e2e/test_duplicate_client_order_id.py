"""Twin requests over real HTTP (issue 7): the same client_order_id with the same parameters, sent
at once by a trader whose cash covers one order, give one order: 201 and 200, never 422."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import place_order

pytestmark = pytest.mark.e2e


def test_parallel_twins_with_cash_for_one_get_the_same_order(
    stack: Any, register: Callable[..., dict[str, Any]], new_symbol: Callable[..., str]
) -> None:
    symbol = new_symbol()
    for trial in range(6):
        # Given a trader whose whole cash (100,000.00) covers exactly one order
        trader = register(f"twin{trial}")
        barrier = threading.Barrier(2)
        answers: list[httpx.Response] = []

        def go(
            trader: dict[str, Any] = trader,
            barrier: threading.Barrier = barrier,
            answers: list[httpx.Response] = answers,
        ) -> None:
            with httpx.Client(base_url=stack.api_url.removesuffix("/api"), timeout=15) as client:
                barrier.wait()
                answers.append(
                    place_order(client, trader, symbol, "buy", 1000, "100.00", client_order_id="twin")
                )

        # When the two identical requests are sent together
        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Then one created the order and the other got it back; one reservation, one order
        assert sorted(r.status_code for r in answers) == [200, 201], [r.text for r in answers]
        assert answers[0].json()["id"] == answers[1].json()["id"]
        with httpx.Client(base_url=stack.api_url.removesuffix("/api"), timeout=15) as client:
            orders = client.get("/api/orders", headers=trader["headers"]).json()["orders"]
            cash = client.get("/api/portfolio", headers=trader["headers"]).json()["cash"]
        assert len(orders) == 1
        assert (cash["available"], cash["reserved"]) == ("0.00", "100000.00")
