"""The nesting limit checked before any JSON from outside is parsed (exchange/json_limits.py), and
the paging cursor that goes through it."""

from __future__ import annotations

import base64
import json
import time

import pytest

from exchange import json_limits
from exchange.domain.errors import ValidationFailed
from exchange.usecases.cursors import decode_cursor, encode_cursor

LIMIT = json_limits.MAX_DEPTH


def nested(depth: int, inner: str = "1") -> str:
    """``depth`` levels of alternating arrays and objects around ``inner``."""
    text = inner
    for level in range(depth):
        text = f"[{text}]" if level % 2 else f'{{"k":{text}}}'
    return text


@pytest.mark.parametrize("depth", [0, 1, 2, LIMIT])
def test_up_to_the_limit_parses_as_json_does(depth: int) -> None:
    # Given a document nested exactly up to the limit
    text = nested(depth)
    # Then it is not too deep, and loads gives what json.loads gives
    assert not json_limits.exceeds_depth(text)
    assert json_limits.loads(text) == json.loads(text)


@pytest.mark.parametrize("depth", [LIMIT + 1, 500, 900, 1_000, 100_000])
def test_past_the_limit_is_too_deep_and_never_a_recursion_error(depth: int) -> None:
    # Given a document nested past the limit (1,000 levels is past Python's own recursion limit)
    for text in (nested(depth), "[" * depth + "]" * depth, "[" * depth):
        # When it is loaded, then TooDeep, a ValueError (every "not JSON" branch takes it)
        with pytest.raises(json_limits.TooDeep) as info:
            json_limits.loads(text)
        assert isinstance(info.value, ValueError)
        assert str(info.value) == f"nested deeper than {LIMIT} levels"


def test_brackets_inside_strings_are_text() -> None:
    # Given strings full of brackets, escaped quotes and backslashes, in a shallow document
    deep_looking = "[" * 1_000 + '\\"' + "{" * 1_000 + "\\\\"
    text = json.dumps({"a": deep_looking, "b": [deep_looking, {"c": deep_looking}]})
    # Then its depth is its structure's, and it parses
    assert not json_limits.exceeds_depth(text)
    assert json_limits.loads(text)["b"][1]["c"] == deep_looking
    # and an escaped quote does not end a string early: the brackets after it are still text
    assert not json_limits.exceeds_depth(json.dumps(['\\"' + "[" * 100]))


def test_a_deep_scan_stops_at_the_limit() -> None:
    # Given 1 MB of "[" (the guard stops counting past the limit, nothing is parsed)
    text = "[" * 1_000_000
    started = time.perf_counter()
    # Then the answer comes quickly
    assert json_limits.exceeds_depth(text)
    assert time.perf_counter() - started < 2  # ~10 ms here; generous for a loaded machine


def test_a_deep_cursor_is_an_invalid_cursor_not_a_500() -> None:
    # Given a forged cursor: 1,000 nested arrays, base64url (json.loads raised RecursionError on it)
    forged = base64.urlsafe_b64encode(b"[" * 1_000 + b"]" * 1_000).decode().rstrip("=")
    # Then it is the invalid-cursor validation error (422), like any other bad cursor
    with pytest.raises(ValidationFailed) as info:
        decode_cursor(forged, partition=("gsi1pk", "USER#u1"))
    assert info.value.message == "invalid cursor"
    # and a real cursor still round-trips
    key = {"gsi1pk": "USER#u1", "gsi1sk": "ORDER#01"}
    assert decode_cursor(encode_cursor(key), partition=("gsi1pk", "USER#u1")) == key
