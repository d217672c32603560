"""JSON from outside (request bodies, WebSocket frames, paging cursors), parsed with a nesting limit
checked before parsing.

Python's ``json`` (and pydantic, and any walk over the result) recurses once per level: past the
interpreter's recursion limit (~1,000 levels, a 2 KB body) ``json.loads`` raises ``RecursionError``,
which is not a ``ValueError`` and so escaped every "not JSON" answer as a 500. Nothing the contract
accepts nests deeper than 2 levels; ``MAX_DEPTH`` leaves room for fields added later and stays far
below every recursion limit on the way (json, pydantic-core, our own walks). RFC 8259 section 9
lets a parser limit nesting; a document past the limit is refused as one that cannot be parsed
(``TooDeep`` is a ``ValueError``, so every caller's "not JSON" branch takes it).

The depth is measured without parsing and without recursion: strings are cut out (a ``[`` inside
a string is text), then the brackets left are counted, stopping at the first level past the limit.
For text that is not JSON the count is only an upper bound: such text fails either way.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 32

# a JSON string: a quote, then runs of plain characters and escapes, then a quote (possessive: linear)
_STRING = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class TooDeep(ValueError):
    """The text nests arrays/objects deeper than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"nested deeper than {limit} levels")
        self.limit = limit


def exceeds_depth(text: str, limit: int = MAX_DEPTH) -> bool:
    """True when ``text`` nests deeper than ``limit`` levels (outside its strings)."""
    if text.count("[") + text.count("{") <= limit:
        return False  # the common case, without a scan
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def loads(text: str, *, max_depth: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """``json.loads`` for text from outside: ``TooDeep`` (a ValueError) past ``max_depth`` levels."""
    if exceeds_depth(text, max_depth):
        raise TooDeep(max_depth)
    return json.loads(text, **kwargs)
