"""``python -m tools.replay``: replay stocks' audit logs through the engine alone and compare."""

import sys
from pathlib import Path

_LAYER = str(Path(__file__).resolve().parents[2] / "layers" / "shared")  # the engine, as the Lambdas get it
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)

from tools.replay.check import Client, check_stock, replay_all  # noqa: E402

__all__ = ["Client", "check_stock", "replay_all"]
