"""The orders queue's one message schema: what producers send is what the consumer parses."""

from __future__ import annotations

import json

import pytest

from exchange.messages import OrderMessage, PoisonMessage, parse_body


def test_round_trip_and_unknown_fields_are_ignored() -> None:
    m = OrderMessage(kind="cancel", symbol="ACME", order_id="o1", user_id="u1")
    assert parse_body(m.to_body()) == m
    assert json.loads(m.to_body()) == {"kind": "cancel", "symbol": "ACME", "order_id": "o1", "user_id": "u1"}
    newer = json.dumps({**json.loads(m.to_body()), "added_later": 1})
    assert parse_body(newer) == m


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[]",
        '{"kind": "amend", "symbol": "ACME", "order_id": "o", "user_id": "u"}',
        '{"kind": "new", "symbol": "acme", "order_id": "o", "user_id": "u"}',
        '{"kind": "new", "symbol": "ACME", "order_id": "", "user_id": "u"}',
        '{"kind": "new", "symbol": "ACME", "order_id": 7, "user_id": "u"}',
        '{"kind": "new", "symbol": "ACME", "user_id": "u"}',
    ],
)
def test_anything_else_is_poison(body: str) -> None:
    with pytest.raises(PoisonMessage):
        parse_body(body)
