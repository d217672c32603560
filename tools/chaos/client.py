"""HTTP clients of the chaos run: accounts, every response counted (>= 500 kept with its body)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

PASSWORD = "chaos-trader-password"


@dataclass
class Account:
    email: str
    password: str
    user_id: str = ""
    token: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Stats:
    """Thread-safe response counts by (action, status)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    codes: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    counters: Counter[str] = field(default_factory=Counter)

    def record(self, action: str, r: httpx.Response) -> None:
        code = ""
        if r.status_code >= 400:
            try:
                code = str(r.json()["error"]["code"])
            except (ValueError, KeyError, TypeError):
                code = "?"
        with self.lock:
            self.statuses[(action, r.status_code)] += 1
            if code:
                self.codes[(action, r.status_code, code)] += 1
            if r.status_code >= 500:
                self.server_errors.append(
                    f"{action} {r.request.method} {r.request.url.path}: {r.status_code} {r.text[:300]}"
                )

    def note(self, kind: str, text: str) -> None:
        with self.lock:
            (self.unexpected if kind == "unexpected" else self.transport_errors).append(text)

    def count(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counters[name] += n

    def server_error_count(self) -> int:
        return sum(n for (_, status), n in self.statuses.items() if status >= 500)


class Api:
    """One thread's HTTP client; re-logs an account in when its access token expires."""

    def __init__(self, base: str, stats: Stats) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.stats = stats

    def close(self) -> None:
        self.http.close()

    def call(
        self, action: str, method: str, path: str, who: Account | None, **kw: Any
    ) -> httpx.Response | None:
        for _ in range(2):
            headers = who.headers if who else {}
            try:
                r = self.http.request(method, path, headers=headers, **kw)
            except httpx.HTTPError as exc:
                self.stats.note("transport", f"{action} {method} {path}: {exc!r}")
                return None
            if r.status_code == 401 and who is not None and "token" in r.text:
                self.login(who)
                continue
            self.stats.record(action, r)
            return r
        return None

    def login(self, who: Account) -> None:
        with who.lock:
            r = self.http.post("/auth/login", json={"email": who.email, "password": who.password})
            r.raise_for_status()
            who.token = r.json()["access_token"]
            who.user_id = r.json()["user"]["id"]

    def register(self, email: str) -> Account:
        r = self.http.post("/auth/register", json={"email": email, "password": PASSWORD})
        r.raise_for_status()
        body = r.json()
        return Account(email, PASSWORD, body["user"]["id"], body["access_token"])
