"""Stream records -> contract events: derived from images only, once per committed change."""

from __future__ import annotations

import json
from typing import Any

from exchange.usecases.notifications import Change, events_for


class FakeStore:
    last_price = 10_150

    def stock(self, symbol: str) -> dict[str, Any]:
        return {"symbol": symbol, "last_price": self.last_price, "reference_price": 10_000}

    def cash(self, user_id: str) -> dict[str, Any]:
        return {"available": 500, "reserved": 250}


def _book(version: int, events: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "pk": "STOCK#ACME",
        "sk": "BOOK",
        "version": version,
        "events": json.dumps(events),
        "updated_at": 1_764_072_000_123,
    }


def test_book_change_yields_its_events_in_order_with_the_commit_time() -> None:
    events = [
        {"type": "ORDER_ACCEPTED", "channel": "user:u1", "data": {"id": "o1"}},
        {"type": "TRADE_EXECUTED", "channel": "stock:ACME", "data": {"sequence": 7}},
    ]
    out = events_for(Change("MODIFY", _book(3, []), _book(4, events)), FakeStore())  # type: ignore[arg-type]
    assert [e["type"] for e in out] == ["ORDER_ACCEPTED", "TRADE_EXECUTED"]
    assert {e["timestamp"] for e in out} == {"2025-11-25T12:00:00.123Z"}


def test_a_replayed_or_older_book_image_yields_nothing() -> None:
    events = [{"type": "TRADE_EXECUTED", "channel": "stock:ACME", "data": {}}]
    assert events_for(Change("MODIFY", _book(4, events), _book(4, events)), FakeStore()) == []  # type: ignore[arg-type]


def test_cash_change_is_a_portfolio_update_and_no_change_is_none() -> None:
    old = {"pk": "USER#u1", "sk": "CASH", "user_id": "u1", "available": 1000, "reserved": 0, "updated_at": 1}
    new = {**old, "available": 900, "reserved": 100, "updated_at": 2}
    (event,) = events_for(Change("MODIFY", old, new), FakeStore())  # type: ignore[arg-type]
    assert event["type"] == "PORTFOLIO_UPDATED" and event["channel"] == "user:u1"
    assert event["data"] == {
        "cash": {"available": "9.00", "reserved": "1.00", "total": "10.00"},
        "holding": None,
    }
    assert events_for(Change("MODIFY", new, {**new, "updated_at": 3}), FakeStore()) == []  # type: ignore[arg-type]


def _holding(**extra: Any) -> dict[str, Any]:
    return {
        "pk": "USER#u1",
        "sk": "HOLDING#ACME",
        "user_id": "u1",
        "symbol": "ACME",
        "available": 3,
        "reserved": 1,
        "cost_basis": 40_000,
        "realized_pnl": 0,
        "updated_at": 5,
        **extra,
    }


def test_holding_change_carries_the_holding_valued_at_its_stored_mark() -> None:
    new = _holding(mark_price=10_150)
    (event,) = events_for(Change("INSERT", None, new), FakeStore())  # type: ignore[arg-type]
    h = event["data"]["holding"]
    assert (h["quantity"], h["average_cost"], h["market_value"], h["unrealized_pnl"]) == (
        4,
        "100.00",
        "406.00",
        "6.00",
    )
    assert (h["last_price"], event["data"]["cash"]["total"]) == ("101.50", "7.50")


def test_a_redelivered_holding_record_yields_the_same_holding_whatever_the_stock_did() -> None:
    # Given a holding record, turned into its event once
    store = FakeStore()
    change = Change("INSERT", None, _holding(mark_price=10_150))
    (first,) = events_for(change, store)  # type: ignore[arg-type]
    # When the stock trades elsewhere and the record is delivered again
    store.last_price = 12_000
    (again,) = events_for(change, store)  # type: ignore[arg-type]
    # Then the holding part is identical (valued from the image, not the live stock)
    assert again["data"]["holding"] == first["data"]["holding"]
    assert again["data"]["holding"]["market_value"] == "406.00"


def test_a_holding_written_before_any_trade_is_valued_at_its_average_cost() -> None:
    (event,) = events_for(Change("INSERT", None, _holding()), FakeStore())  # type: ignore[arg-type]
    h = event["data"]["holding"]
    assert (h["last_price"], h["market_value"], h["unrealized_pnl"]) == (None, "400.00", "0.00")


def test_other_items_yield_nothing() -> None:
    order = {"pk": "USER#u1", "sk": "ORDER#o1", "status": "open"}
    assert events_for(Change("MODIFY", order, order), FakeStore()) == []  # type: ignore[arg-type]
    assert events_for(Change("REMOVE", order, None), FakeStore()) == []  # type: ignore[arg-type]


def test_a_compressed_book_image_yields_its_events_as_lambda_or_boto3_delivers_it() -> None:
    # Given a BOOK image as the matcher writes it now (events zlib-compressed in a binary attribute),
    # once as a Lambda stream event carries binary values (base64 text) and once as boto3 parses it
    import base64

    from exchange import book_codec
    from exchange.adapters.dynamo import deserialize

    events = [
        {"type": "ORDER_ACCEPTED", "channel": "user:u1", "data": {"id": "o1"}},
        {"type": "TRADE_EXECUTED", "channel": "stock:ACME", "data": {"sequence": 7}},
    ]
    raw = book_codec.encode([[9_900, 2, 1]], [], events)["events_z1"]
    for wire in ({"B": base64.b64encode(raw).decode()}, {"B": raw}):
        new = {**_book(4, []), "events_z1": deserialize(wire)}
        del new["events"]
        # When the notifier reads the record
        out = events_for(Change("MODIFY", _book(3, []), new), FakeStore())  # type: ignore[arg-type]
        # Then it yields the stored events, in order, with the commit time
        assert [(e["type"], e["data"]) for e in out] == [(e["type"], e["data"]) for e in events]
        assert {e["timestamp"] for e in out} == {"2025-11-25T12:00:00.123Z"}
