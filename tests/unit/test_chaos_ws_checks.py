"""The chaos run's WebSocket checks on synthetic connections: a complete, ordered stream passes
(identical duplicates counted, not failed); a missing fill, a reordered stream, a differing
duplicate and a gap in a stock's trade sequence are reported."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.test_conservation import clean_state
from tools.chaos.verify import WsReport, check_connection
from tools.conservation import Snapshot

Msg = tuple[str, dict[str, Any]]


def _msg(kind: str, channel: str, **data: Any) -> Msg:
    body = {"type": kind, "channel": channel, "data": data, "timestamp": "2026-12-01T00:00:00.000Z"}
    return json.dumps(body, sort_keys=True), body


def _stream_of_b() -> list[Msg]:
    """What B's connection gets: B1 accepted and filled by trade 1, B2 accepted; the stock channel."""
    return [
        _msg("ORDER_ACCEPTED", "user:B", id="B1", status="open"),
        _msg("TRADE_EXECUTED", "stock:ACME", symbol="ACME", sequence=1, trade_id="T1"),
        _msg("ORDER_FILLED", "user:B", id="B1", status="filled", fill={"trade_id": "T1"}),
        _msg("ORDER_BOOK_UPDATED", "stock:ACME", symbol="ACME", sequence=2),
        _msg("ORDER_ACCEPTED", "user:B", id="B2", status="open"),
        _msg("ORDER_BOOK_UPDATED", "stock:ACME", symbol="ACME", sequence=3),
    ]


def _check(messages: list[Msg]) -> WsReport:
    report = WsReport()
    check_connection(report, "B", messages, Snapshot.from_items(clean_state().values()), ["ACME"])
    return report


def test_a_complete_stream_passes_and_identical_duplicates_are_counted() -> None:
    stream = _stream_of_b()
    report = _check(stream + stream[:3])  # a redelivery repeats the first batch, identically
    assert report.violations == []
    assert report.identical_duplicates == 3


def test_a_missing_fill_event_is_reported() -> None:
    stream = [m for m in _stream_of_b() if m[1]["type"] != "ORDER_FILLED"]
    assert [(v.rule, v.ids) for v in _check(stream).violations] == [("ws_order_events", ("B1", "B"))]


def test_a_fill_before_its_acceptance_is_reported() -> None:
    stream = _stream_of_b()
    stream[0], stream[2] = stream[2], stream[0]
    assert [v.rule for v in _check(stream).violations] == ["ws_order_sequence"]


def test_a_duplicate_that_differs_is_reported() -> None:
    stream = _stream_of_b()
    second = _msg("ORDER_ACCEPTED", "user:B", id="B1", status="open", filled_quantity=0, note="resumed")
    assert [v.rule for v in _check([*stream, second]).violations] == ["ws_duplicate_differs"]


def test_a_gap_in_the_trade_sequence_is_reported() -> None:
    stream = [m for m in _stream_of_b() if m[1]["type"] != "TRADE_EXECUTED"]
    assert [v.rule for v in _check(stream).violations] == ["ws_trade_sequence"]


def test_book_updates_out_of_version_order_are_reported() -> None:
    stream = _stream_of_b()
    stream[3], stream[5] = stream[5], stream[3]
    assert [v.rule for v in _check(stream).violations] == ["ws_book_order"]
