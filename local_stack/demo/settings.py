"""`DEMO`, `DEMO_TRADERS`, `DEMO_RATE`, `DEMO_SEED`: read and checked with the local stack's settings
(config.py), so a bad value stops the start with one line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MAX_TRADERS = 200
MAX_RATE = 500.0


@dataclass(frozen=True)
class DemoSettings:
    traders: int = 20
    rate: float = 20.0  # orders a second over all the traders
    seed: int = 1

    @property
    def kinds(self) -> dict[str, int]:
        """How many traders of each kind: about 30% market makers, 20% momentum, the rest noise."""
        makers = max(1, round(self.traders * 0.3))
        momentum = max(1, round(self.traders * 0.2))
        return {"maker": makers, "noise": self.traders - makers - momentum, "momentum": momentum}


def from_environ(environ: Mapping[str, str]) -> DemoSettings | None:
    """None unless DEMO is on; ValueError (one line) for a value the demo cannot run with."""
    demo = environ.get("DEMO", "").strip().lower()
    if demo in ("", "0", "false", "no", "off"):
        return None
    if demo not in ("1", "true", "yes", "on"):
        raise ValueError(f"DEMO={environ['DEMO']!r}: must be 1 (on) or 0 (off)")
    return DemoSettings(
        traders=_int(environ, "DEMO_TRADERS", 20, low=3, high=MAX_TRADERS),
        rate=_rate(environ),
        seed=_int(environ, "DEMO_SEED", 1, low=0, high=2**63 - 1),
    )


def _int(environ: Mapping[str, str], variable: str, default: int, *, low: int, high: int) -> int:
    value = environ.get(variable, "").strip()
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        why = " (one market maker, one noise and one momentum trader at least)" if low == 3 else ""
        raise ValueError(f"{variable}={value!r}: must be a whole number, {low} to {high}{why}")
    return int(value)


def _rate(environ: Mapping[str, str]) -> float:
    value = environ.get("DEMO_RATE", "").strip()
    if not value:
        return 20.0
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0 < rate <= MAX_RATE:
        raise ValueError(
            f"DEMO_RATE={value!r}: must be a number of orders a second above 0, at most {MAX_RATE:g}"
        )
    return rate
