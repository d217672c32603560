"""Passwords (argon2id) and access tokens (JWT, algorithm pinned)."""
