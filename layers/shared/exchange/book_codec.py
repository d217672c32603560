"""How the stock's BOOK item stores its snapshot levels and its batch's events.

The BOOK item is rewritten by every matcher batch, inside the batch's transaction, and DynamoDB
bills a transactional write 2 units per KB of the larger of the item before and after it: its size
is paid twice per batch (by its own write and by the next one). As plain JSON text the top-100
levels a side take ~3 KB and a 5-fill batch's events ~8 KB, so both are stored zlib-compressed in
binary attributes (DynamoDB counts a binary attribute's raw bytes): ``levels_z`` =
``[bids, asks]``, ``events_z`` = the events, each compact JSON. Items written before this format
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


def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 9)


def _unpack(raw: Any) -> Any:
    if isinstance(raw, str):  # a stream record as Lambda delivers it: binary values in base64
        raw = base64.b64decode(raw)
    elif not isinstance(raw, bytes | bytearray):
        raw = bytes(raw.value)  # boto3's Binary (TypeDeserializer)
    return json.loads(zlib.decompress(raw))


def encode(
    bids: Sequence[Sequence[int]], asks: Sequence[Sequence[int]], events: Sequence[Any]
) -> dict[str, bytes]:
    """The attributes a BOOK item stores its levels and events in."""
    return {"levels_z": _pack([bids, asks]), "events_z": _pack(list(events))}


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
    if "events_z" in item:
        return _unpack(item["events_z"])
    return json.loads(item.get("events", "[]"))
