"""The matcher's use case (one stock's messages -> matched, settled, committed)."""

from exchange.usecases.matching.matcher import Matcher, Message
from exchange.usecases.matching.port import MatcherStore

__all__ = ["Matcher", "MatcherStore", "Message"]
