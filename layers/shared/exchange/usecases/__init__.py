"""Use cases: orchestration between the pure domain and the adapters."""
