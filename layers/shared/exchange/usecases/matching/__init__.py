"""The matcher's use case (one stock's messages -> matched, settled, committed)."""

from exchange.usecases.matching.matcher import Matcher, Message
from exchange.usecases.matching.port import Counterparties, Loaded, MatcherStore

__all__ = ["Counterparties", "Loaded", "Matcher", "MatcherStore", "Message"]
