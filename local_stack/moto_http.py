"""The HTTP/1.1 wire of the moto front (local_stack/moto_front.py): a keep-alive connection that
parses requests (Content-Length and chunked bodies, 100-continue) into the WSGI environ werkzeug's
server would have built and hands them to the front, and the framing of the answers (the same
status line and headers werkzeug would have sent, plus its `Date`)."""

from __future__ import annotations

import asyncio
import io
import sys
import time
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

if TYPE_CHECKING:
    from local_stack.moto_front import Front


def response(status: int, headers: list[tuple[str, str]], body: bytes, environ: dict[str, Any]) -> bytes:
    from werkzeug.http import HTTP_STATUS_CODES

    return raw(f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN').upper()}", headers, body, environ, status)


def raw(
    status: str, headers: list[tuple[str, str]], body: bytes, environ: dict[str, Any], code: int
) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Date: {_http_date()}"]
    lines.extend(f"{k}: {v}" for k, v in headers)
    if not any(k.lower() == "content-length" for k, _ in headers):
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if environ["REQUEST_METHOD"] == "HEAD" or 100 <= code < 200 or code in (204, 304):
        return head
    return head + body


class Connection(asyncio.Protocol):
    def __init__(self, front: Front) -> None:
        self.front = front
        self.buffer = bytearray()
        self.transport: Any = None
        self.closed = False
        self.waiting = False  # a parked long poll: later bytes wait for its answer
        self.continued = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername") or ("127.0.0.1", 0)
        self.remote = (str(peer[0]), str(peer[1]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._serve()

    def answer(self, answer: bytes) -> None:
        self.waiting = False
        if not self.closed:
            self.transport.write(answer)
            self._serve()

    def _serve(self) -> None:
        while not self.waiting and not self.closed:
            parsed = self._next_request()
            if parsed is None:
                return
            answer, wait = self.front.run(parsed)
            if wait:
                self.waiting = True
                self.front.park(self, parsed, wait)
                return
            self.transport.write(answer)

    def _next_request(self) -> dict[str, Any] | None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buffer[:end].decode("latin-1").split("\r\n")
        try:
            method, target, version = head[0].split(" ")
        except ValueError:
            self.transport.write(
                b"HTTP/1.1 400 BAD REQUEST\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            self.transport.close()
            self.closed = True
            return None
        environ = self._environ(method, target, version, head[1:])
        start = end + 4
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            decoded = _dechunk(self.buffer, start)
            if decoded is None:
                return None
            body, consumed = decoded
            del environ["HTTP_TRANSFER_ENCODING"]
            environ["CONTENT_LENGTH"] = str(len(body))
        else:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if len(self.buffer) < start + length:
                if environ.get("HTTP_EXPECT", "").lower() == "100-continue" and not self.continued:
                    self.continued = True
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                return None
            body, consumed = bytes(self.buffer[start : start + length]), start + length
        del self.buffer[:consumed]
        self.continued = False
        environ["wsgi.input"] = io.BytesIO(body)
        return environ

    def _environ(self, method: str, target: str, version: str, lines: list[str]) -> dict[str, Any]:
        path, _, query = target.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": target,
            "RAW_URI": target,
            "SERVER_NAME": self.front.host,
            "SERVER_PORT": str(self.front.port),
            "SERVER_PROTOCOL": version,
            "REMOTE_ADDR": self.remote[0],
            "REMOTE_PORT": self.remote[1],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "moto.preserved_header_names": {},
        }
        for line in lines:
            name, _, value = line.partition(":")
            name = name.strip()
            if "_" in name:  # werkzeug's server drops them (moto keeps x-amz-meta-* ones, for S3 only)
                continue
            key = name.upper().replace("-", "_")
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                key = "HTTP_" + key
            value = value.strip()
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    body = bytearray()
    at = start
    while True:
        line_end = buffer.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(bytes(buffer[at:line_end]).split(b";")[0], 16)
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", line_end)
            if trailer_end < 0:
                return None
            return bytes(body), trailer_end + 4
        if len(buffer) < line_end + 2 + size + 2:
            return None
        body += buffer[line_end + 2 : line_end + 2 + size]
        at = line_end + 2 + size + 2


def _http_date(cache: list[Any] = [0, ""]) -> str:  # noqa: B006 - a one-second cache
    now = int(time.time())
    if cache[0] != now:
        cache[0], cache[1] = now, formatdate(now, usegmt=True)
    return str(cache[1])
