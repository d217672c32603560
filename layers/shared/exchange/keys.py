"""Key layout of the exchange table (template.yaml's ExchangeTable): one place for every pk/sk."""

from __future__ import annotations

SEQ_WIDTH = 12


def user(user_id: str) -> str:
    return f"USER#{user_id}"


PROFILE = "PROFILE"
CASH = "CASH"


def holding_sk(symbol: str) -> str:
    return f"HOLDING#{symbol}"


def order_sk(order_id: str) -> str:
    return f"ORDER#{order_id}"


def client_order_sk(client_order_id: str) -> str:
    return f"CLORD#{client_order_id}"


def fill_sk(order_id: str, trade_seq: int) -> str:
    return f"FILL#{order_id}#{trade_seq:0{SEQ_WIDTH}d}"


def fills_of_order_prefix(order_id: str) -> str:
    return f"FILL#{order_id}#"


def user_fills_gsi(user_id: str) -> str:
    return f"FILLS#{user_id}"


def email(address: str) -> str:
    return f"EMAIL#{address}"


EMAIL = "EMAIL"


def stock(symbol: str) -> str:
    return f"STOCK#{symbol}"


STOCK = "STOCK"
BOOK = "BOOK"
STOCKS_GSI = "STOCKS"


def trades(symbol: str) -> str:
    return f"TRADES#{symbol}"


def seq_sk(seq: int) -> str:
    return f"{seq:0{SEQ_WIDTH}d}"


def audit_log(symbol: str) -> str:
    """The stock's audit log: one item per matcher commit, sk = seq_sk(its last entry's seq)."""
    return f"LOG#{symbol}"


PENDING_SHARD = "PENDING"


# ---------------------------------------------------------------- candles: a partition per stock and interval
# sk = the interval's start (epoch ms, zero-padded), so a key range is a time range
def candles(symbol: str, interval: str) -> str:
    return f"CANDLES#{symbol}#{interval}"


def backfilled_candles(symbol: str, interval: str) -> str:
    """The candles of the trades a stock had before candles were kept (written once, then fixed)."""
    return f"CANDLES0#{symbol}#{interval}"


def candle_sk(start_ms: int) -> str:
    return f"{start_ms:015d}"


# ---------------------------------------------------------------- auth: refresh tokens, login failures
# A refresh token is stored only as its SHA-256 (hex); its family (one login) carries the revocation flag.
def refresh_token(token_hash: str) -> str:
    return f"REFRESH#{token_hash}"


REFRESH_TOKEN = "TOKEN"


def refresh_family(family_id: str) -> str:
    return f"REFRESHFAM#{family_id}"


REFRESH_FAMILY = "FAMILY"


def login_failures(scope: str, subject: str) -> str:
    """scope "email" (normalised address) or "ip" (client address, IPv6 as its /64)."""
    return f"LOGINFAIL#{scope}:{subject}"


LOGIN_SLOT_PREFIX = "SLOT#"


def login_slot_sk(index: int) -> str:
    """Attempt slot ``index`` (0 .. limit-1) of a throttled subject: at most ``limit`` counted."""
    return f"{LOGIN_SLOT_PREFIX}{index:03d}"
