"""``python -m tools.replay``: replay stocks' audit logs through the engine alone and compare."""

from tools.replay.check import Client, check_stock, replay_all

__all__ = ["Client", "check_stock", "replay_all"]
