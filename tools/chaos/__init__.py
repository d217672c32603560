"""The chaos run: load with injected faults, then the conservation and WebSocket checks (`make chaos`)."""
