"""How the stock's BOOK item stores its snapshot levels and its batch's events.

The BOOK item is rewritten by every matcher batch, inside the batch's transaction, and DynamoDB
bills a transactional write 2 units per KB of the larger of the item before and after it: its size
is paid twice per batch (by its own write and by the next one). As plain JSON text the top-100
levels a side take ~3 KB and a 5-fill batch's events ~8 KB, so both are stored zlib-compressed in
binary attributes (DynamoDB counts a binary attribute's raw bytes): ``levels_z`` =
``[bids, asks]``, ``events_z1`` = the events, each compact JSON; the events with a preset zlib
dictionary of the events' JSON shape (``EVENTS_DICT_1``: a batch's few events are too short for
zlib to find their repeats alone, 487 -> 232 bytes for an order accepted and the book update).
The dictionary is part of the stored format: never edit it; a new one needs a new attribute name
(``events_z2``), read alongside the old one while old items exist. Items written before this format
(``bids`` / ``asks`` / ``events`` as JSON text, as ``Admin.list_stock`` still creates them) read
the same. Measured by benchmarks/aws_cost.py (docs/decisions.md, 2026-12-01).
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

Levels = list[list[int]]


# the shape of the contract's events as event_view() writes them (values are placeholders)
EVENTS_DICT_1 = (
    b'[{"type":"ORDER_CANCELLED","channel":"user:","data":{"status":"cancelled","cancel_reason":"user"'
    b'}},{"type":"TRADE_EXECUTED","channel":"stock:","data":{"trade_id":"","symbol":"","price":"100.00'
    b'","quantity":1,"aggressor_side":"sell","sequence":1,"executed_at":"2026-01-01T00:00:00.000Z"}},'
    b'{"type":"ORDER_BOOK_UPDATED","channel":"stock:","data":{"symbol":"","bids":[{"price":"100.00",'
    b'"quantity":1,"orders":1}],"asks":[],"sequence":1,"timestamp":"2026-01-01T00:00:00.000Z"}},'
    b'{"type":"ORDER_FILLED","channel":"user:","data":{"id":"","client_order_id":null,"symbol":"",'
    b'"side":"buy","type":"limit","time_in_force":"gtc","quantity":1,"limit_price":"100.00",'
    b'"filled_quantity":1,"remaining_quantity":0,"average_fill_price":"100.00","status":"filled",'
    b'"cancel_requested":false,"reserved_cash":"0.00","reserved_quantity":0,"price_bound":null,'
    b'"cancel_reason":null,"created_at":"2026-01-01T00:00:00.000Z","updated_at":"2026-01-01T00:00:00'
    b'.000Z","fill":{"trade_id":"","price":"100.00","quantity":1,"liquidity":"maker","executed_at":"'
    b'2026-01-01T00:00:00.000Z"}}},{"type":"ORDER_ACCEPTED","channel":"user:","data":{"id":"",'
    b'"client_order_id":null,"symbol":"","side":"sell","type":"limit","time_in_force":"gtc",'
    b'"quantity":1,"limit_price":"100.00","filled_quantity":0,"remaining_quantity":1,'
    b'"average_fill_price":null,"status":"open","cancel_requested":false,"reserved_cash":"0.00",'
    b'"reserved_quantity":0,"price_bound":null,"cancel_reason":null,"created_at":"2026-01-01T00:00:'
    b'00.000Z","updated_at":"2026-01-01T00:00:00.000Z"}}]'
)


def _pack(value: Any, zdict: bytes | None = None) -> bytes:
    z = zlib.compressobj(9, zdict=zdict) if zdict else zlib.compressobj(9)
    return z.compress(json.dumps(value, separators=(",", ":")).encode()) + z.flush()


def _unpack(raw: Any, zdict: bytes | None = None) -> Any:
    if isinstance(raw, str):  # a stream record as Lambda delivers it: binary values in base64
        raw = base64.b64decode(raw)
    elif not isinstance(raw, bytes | bytearray):
        raw = bytes(raw.value)  # boto3's Binary (TypeDeserializer)
    z = zlib.decompressobj(zdict=zdict) if zdict else zlib.decompressobj()
    return json.loads(z.decompress(raw) + z.flush())


def encode(
    bids: Sequence[Sequence[int]], asks: Sequence[Sequence[int]], events: Sequence[Any]
) -> dict[str, bytes]:
    """The attributes a BOOK item stores its levels and events in."""
    return {"levels_z": _pack([bids, asks]), "events_z1": _pack(list(events), EVENTS_DICT_1)}


def levels(item: Mapping[str, Any] | None) -> tuple[Levels, Levels]:
    """([price, qty, orders], ...) bids high->low, asks low->high; empty for no item."""
    if not item:
        return [], []
    if "levels_z" in item:
        bids, asks = _unpack(item["levels_z"])
        return bids, asks
    return json.loads(item.get("bids", "[]")), json.loads(item.get("asks", "[]"))


def events(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events of the batch that wrote this BOOK item."""
    if "events_z1" in item:
        return _unpack(item["events_z1"], EVENTS_DICT_1)
    return json.loads(item.get("events", "[]"))
