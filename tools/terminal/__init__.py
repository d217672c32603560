"""A terminal client for the public API (``python -m tools.terminal``): see the README's "Terminal client"."""
