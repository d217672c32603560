"""Thin route handlers: parse, call one use case, shape the answer."""
