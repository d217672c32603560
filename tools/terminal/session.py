"""The saved session: access token, refresh cookie and CSRF token, in a 0600 file under the user's
config directory ($XDG_CONFIG_HOME, else ~/.config), refreshed through the API when the access
token is about to expire."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx

REFRESH_MARGIN_S = 30  # refresh this long before the access token expires


class ApiError(Exception):
    """An answer in the contract's error envelope (or a transport failure, status 0)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "exchange-terminal"


@dataclass
class Session:
    base_url: str
    email: str
    access_token: str
    expires_at: float
    refresh_token: str
    csrf_token: str

    @staticmethod
    def path() -> Path:
        return config_dir() / "session.json"

    @classmethod
    def load(cls) -> Session | None:
        try:
            return cls(**json.loads(cls.path().read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self) -> None:
        path = self.path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(asdict(self), f)
        os.chmod(tmp, 0o600)  # also when the file existed with other permissions
        os.replace(tmp, path)

    @classmethod
    def forget(cls) -> None:
        cls.path().unlink(missing_ok=True)

    @classmethod
    def from_answer(cls, base_url: str, response: httpx.Response) -> Session:
        body = response.json()
        cookies = cookies_of(response)
        return cls(
            base_url=base_url,
            email=body["user"]["email"],
            access_token=body["access_token"],
            expires_at=time.time() + float(body["expires_in"]),
            refresh_token=cookies.get("refresh_token", ""),
            csrf_token=cookies.get("csrf_token", body.get("csrf_token", "")),
        )


def cookies_of(response: httpx.Response) -> dict[str, str]:
    """The cookies an answer sets, by name (read from Set-Cookie: the jar would drop Secure ones on http)."""
    found: dict[str, str] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        found.update({name: morsel.value for name, morsel in jar.items()})
    return found


def error_of(response: httpx.Response) -> ApiError:
    try:
        error: dict[str, Any] = response.json()["error"]
        return ApiError(response.status_code, str(error["code"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return ApiError(response.status_code, "http_error", f"HTTP {response.status_code}")
