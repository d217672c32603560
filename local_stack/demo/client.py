"""A demo trader's REST client: the public API over one keep-alive HTTP connection (the standard
library's http.client: `make run` installs no HTTP client package). Logs in again when the access
token expires."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

PASSWORD = "demo-trader-password"


@dataclass
class Response:
    status: int
    body: Any

    @property
    def code(self) -> str:
        """The error envelope's code ("" for a success)."""
        if self.status < 400 or not isinstance(self.body, dict):
            return ""
        return str((self.body.get("error") or {}).get("code", "?"))


def cents(text: str | int | float | None) -> int | None:
    """A contract decimal string ("101.25") as integer cents."""
    if text is None:
        return None
    whole, _, frac = str(text).partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole or "0")) * 100 + int((frac + "00")[:2]))


def decimal(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


class Client:
    def __init__(self, api_url: str, timeout: float = 15) -> None:
        parts = urlsplit(api_url)
        self.host, self.port, self.base = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.email = ""
        self.password = ""
        self.token = ""
        self.user_id = ""

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Response:
        for attempt in range(2):
            r = self._send(method, path, body, auth)
            if r.status == 401 and auth and self.email and attempt == 0:
                self.login(self.email, self.password)  # token_expired: log in again, once
                continue
            return r
        return r

    def _send(self, method: str, path: str, body: Any, auth: bool) -> Response:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth and self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body) if body is not None else None
        for attempt in range(2):  # a keep-alive connection the server closed: one new connection
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, self.base + path, body=data, headers=headers)
                raw = self.conn.getresponse()
                text = raw.read()
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
                continue
            return Response(raw.status, json.loads(text) if text else None)
        raise AssertionError("unreachable")

    # -------------------------------------------------------------- accounts
    def login(self, email: str, password: str) -> Response:
        r = self._send("POST", "/auth/login", {"email": email, "password": password}, False)
        if r.status == 200:
            self._session(email, password, r.body)
        return r

    def register_or_login(self, email: str, display_name: str, password: str = PASSWORD) -> Response:
        """The account, made if it does not exist yet (201), else logged in (200): idempotent across
        restarts of a stack that keeps its state."""
        body = {"email": email, "password": password, "display_name": display_name}
        r = self._send("POST", "/auth/register", body, False)
        if r.status == 201:
            self._session(email, password, r.body)
            return r
        if r.code == "email_taken":
            return self.login(email, password)
        return r

    def _session(self, email: str, password: str, session: dict[str, Any]) -> None:
        self.email, self.password = email, password
        self.token = str(session["access_token"])
        self.user_id = str(session["user"]["id"])
