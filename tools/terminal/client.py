"""The public API over HTTP, with the saved session: bearer token, refreshed (cookie + CSRF header)
when it is about to expire or the API says it has."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tools.terminal.session import REFRESH_MARGIN_S, ApiError, Session, error_of


def api_root(url: str) -> str:
    """``http://host:port`` from a base URL given with or without its ``/api``."""
    return url.rstrip("/").removesuffix("/api")


class Api:
    def __init__(
        self, base_url: str, timeout: float = 10.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.base_url = api_root(base_url)
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport)
        self.session = Session.load()
        if self.session is not None and self.session.base_url != self.base_url:
            self.session = None  # a session of another server is not sent here

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", f"cannot reach {self.base_url}: {exc}") from exc

    def call(self, method: str, path: str, *, auth: bool = False, **kwargs: Any) -> Any:
        """The answer's JSON body (None for 204); an ``ApiError`` with the envelope's message otherwise."""
        if auth:
            self._fresh_session()
            response = self._send(method, path, headers=self._bearer(), **kwargs)
            if response.status_code == 401 and error_of(response).code == "token_expired":
                self.refresh()
                response = self._send(method, path, headers=self._bearer(), **kwargs)
        else:
            response = self._send(method, path, **kwargs)
        if response.status_code >= 400:
            raise error_of(response)
        return None if response.status_code == 204 or not response.content else response.json()

    def _bearer(self) -> dict[str, str]:
        assert self.session is not None
        return {"Authorization": f"Bearer {self.session.access_token}"}

    def _fresh_session(self) -> None:
        if self.session is None:
            raise ApiError(401, "unauthorized", "not logged in: run `login EMAIL` or `register EMAIL` first")
        if self.session.expires_at - REFRESH_MARGIN_S <= time.time():
            self.refresh()

    def _start(self, path: str, body: dict[str, Any]) -> Session:
        response = self._send("POST", path, json=body)
        if response.status_code >= 400:
            raise error_of(response)
        self.session = Session.from_answer(self.base_url, response)
        self.session.save()
        return self.session

    def register(self, email: str, password: str, display_name: str | None = None) -> Session:
        body = {
            "email": email,
            "password": password,
            **({"display_name": display_name} if display_name else {}),
        }
        return self._start("/api/auth/register", body)

    def login(self, email: str, password: str) -> Session:
        return self._start("/api/auth/login", {"email": email, "password": password})

    def refresh(self) -> Session:
        """A new access token for the refresh cookie (double-submit CSRF); the rotated cookies saved."""
        old = self.session
        if old is None:
            raise ApiError(401, "unauthorized", "not logged in")
        response = self._send(
            "POST",
            "/api/auth/refresh",
            headers={
                "X-CSRF-Token": old.csrf_token,
                "Cookie": f"refresh_token={old.refresh_token}; csrf_token={old.csrf_token}",
            },
        )
        if response.status_code >= 400:
            Session.forget()
            self.session = None
            error = error_of(response)
            raise ApiError(error.status, error.code, f"{error.message} (log in again)")
        self.session = Session.from_answer(self.base_url, response)
        self.session.save()
        return self.session

    def logout(self) -> None:
        if self.session is not None:
            s = self.session
            self._send(
                "POST",
                "/api/auth/logout",
                headers={
                    "X-CSRF-Token": s.csrf_token,
                    "Cookie": f"refresh_token={s.refresh_token}; csrf_token={s.csrf_token}",
                },
            )
        Session.forget()
        self.session = None
