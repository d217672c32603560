"""A lean HTTP/1.1 front for moto, in place of moto's ThreadedMotoServer (werkzeug's development
server: a new thread and a new TCP connection for every request - it always answers
`Connection: close` - then Flask, flask-cors and DomainDispatcherApplication's service inference).

* One thread, one asyncio loop, keep-alive connections; a request is parsed here (botocore sends
  Content-Length bodies; chunked bodies are decoded too) into the WSGI environ werkzeug's server
  would have made, and handed straight to moto's handler for its service - the one Flask would
  have routed it to: DynamoDB (`X-Amz-Target: DynamoDB_20120810.*`), DynamoDB Streams
  (`DynamoDBStreams_20120810.*`) and SQS (signed for `sqs`), POSTed to `/`. Every other request
  (another service, path or method, /moto-api) goes to moto's own WSGI app, unchanged.
* Requests run one at a time, each to its end, under moto_fidelity.DYNAMODB_LOCK (the lock the
  durable-state saver takes for its instant): that is the isolation the fidelity patches promise,
  now for every service.
* A long-poll ReceiveMessage that finds nothing does not wait inside moto (that would stop every
  other request): it is parked and run again - after each SQS request that may have made a message
  visible, and every POLL_EVERY_S - until it finds messages or its wait is over; moto's own long
  poll is the same passes over the queue, with a sleep between them.
* The answer is moto's (status, headers, body) as Flask would have sent it: the same headers in the
  same order (werkzeug's Response), `Access-Control-Allow-Origin: *` (flask-cors), and the
  `Date` werkzeug's server adds. Proven by tests/integration/test_moto_front.py, which sends the
  same botocore requests to both servers and compares the answers.
"""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from local_stack import moto_fidelity
from local_stack.moto_http import Connection, raw, response

POLL_EVERY_S = 0.05  # a parked long poll also sees messages that became visible by time passing
SERIAL = moto_fidelity.DYNAMODB_LOCK
_SQS_WRITES = ("Send", "ChangeMessageVisibility", "Purge", "SetQueueAttributes", "CreateQueue")

Handler = Callable[[Any, str, dict[str, str]], Any]


class _Poll(threading.local):
    """Set by the front around an SQS request: the backend's receive makes one pass and says here
    whether the request would have waited."""

    active = False
    wait = 0  # seconds the request would have waited (0: it found messages, or does not wait)


POLL = _Poll()
_installed = False


def _install_parked_receive() -> None:
    """After persistence.install() (which wraps the same backend call): one pass when the front asks."""
    global _installed
    if _installed:
        return
    from moto.sqs.models import SQSBackend

    original = SQSBackend.receive_message

    def receive_message(self: Any, queue_name: str, count: int, wait_seconds_timeout: int, *args: Any) -> Any:
        if not POLL.active:
            return original(self, queue_name, count, wait_seconds_timeout, *args)
        result = original(self, queue_name, count, 0, *args)
        POLL.wait = 0 if result else int(wait_seconds_timeout or 0)
        return result

    SQSBackend.receive_message = receive_message  # type: ignore[method-assign,assignment]
    _installed = True


class _Router:
    def __init__(self) -> None:
        from moto.dynamodb.responses import DynamoHandler
        from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
        from moto.moto_server.werkzeug_app import (
            BackendRequest,
            DomainDispatcherApplication,
            create_backend_app,
        )
        from moto.sqs.responses import SQSResponse

        self.request_class = BackendRequest
        self.dynamodb: Handler = DynamoHandler.dispatch
        self.streams: Handler = DynamoDBStreamsHandler.dispatch
        self.sqs: Handler = SQSResponse().dispatch  # as moto/sqs/urls.py: one instance's dispatch
        self.fallback = DomainDispatcherApplication(create_backend_app)

    def handler(self, environ: dict[str, Any]) -> Handler | None:
        """What Flask would have routed this request to, or None: moto's own app decides."""
        if environ["REQUEST_METHOD"] != "POST" or environ["PATH_INFO"] != "/":
            return None
        try:
            service = environ["HTTP_AUTHORIZATION"].split(",")[0].split()[1].split("/")[3]
        except (KeyError, IndexError):
            return None
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if service == "dynamodb":
            if target.startswith("DynamoDB_20120810."):
                return self.dynamodb
            if target.startswith("DynamoDBStreams_20120810."):
                return self.streams
        elif service == "sqs":
            return self.sqs
        return None


class Front:
    """The server: `start()` in a thread of its own, `stop()` from any thread."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.router: _Router | None = None
        self.parked: list[_Parked] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    def start(self) -> None:
        _install_parked_receive()
        self.router = _Router()
        self._thread = threading.Thread(target=self._run, name="moto-front", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            server = loop.run_until_complete(
                loop.create_server(lambda: Connection(self), self.host, self.port, backlog=1024)
            )
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        loop.call_later(POLL_EVERY_S, self._poll_tick)
        self._started.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            loop.close()

    # ---------------------------------------------------------------- requests
    def run(self, environ: dict[str, Any], *, may_park: bool = True) -> tuple[bytes, float]:
        """The whole HTTP answer to one request, or b"" and the seconds a long poll waits."""
        assert self.router is not None
        handler = self.router.handler(environ)
        with SERIAL:
            if handler is None:
                return self._wsgi(environ), 0
            sqs = handler is self.router.sqs
            if sqs:
                POLL.active, POLL.wait = True, 0
            try:
                status, headers, body = self._dispatch(handler, environ)
            finally:
                POLL.active = False
            if sqs:
                if POLL.wait and may_park:
                    return b"", POLL.wait
                if environ.get("HTTP_X_AMZ_TARGET", "").removeprefix("AmazonSQS.").startswith(_SQS_WRITES):
                    self._retry_parked()
        return response(status, headers, body, environ), 0

    def _dispatch(
        self, handler: Handler, environ: dict[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        from botocore.exceptions import ClientError
        from moto.moto_api import recorder
        from werkzeug.wrappers import Response

        assert self.router is not None
        try:
            request = self.router.request_class(environ)
            recorder._record_request(request)
            try:
                result = handler(request, request.raw_url, dict(request.headers))
            except ClientError as exc:
                result = 400, {}, exc.response["Error"]["Message"]
            if len(result) == 3:
                status, headers, content = result
            else:
                status, headers, content = 200, {}, result
            response = Response(response=content, status=status, headers=headers)
            if request.method == "HEAD" and "content-length" in headers:
                response.headers["Content-Length"] = headers["content-length"]
            response.headers["Access-Control-Allow-Origin"] = "*"  # flask-cors, on every answer
            body = b"".join(response.iter_encoded())
            return response.status_code, response.get_wsgi_headers(environ).to_wsgi_list(), body
        except Exception:  # werkzeug's server: the traceback on stderr, a 500 to the client
            traceback.print_exc()
            from werkzeug.exceptions import InternalServerError

            error = InternalServerError()
            return 500, error.get_headers(environ), error.get_body(environ).encode()

    def _wsgi(self, environ: dict[str, Any]) -> bytes:
        assert self.router is not None
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            started[:] = [status, headers]

        try:
            chunks = self.router.fallback(environ, start_response)
            body = b"".join(chunks)
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        except Exception:
            traceback.print_exc()
            from werkzeug.exceptions import InternalServerError

            error = InternalServerError()
            started[:] = ["500 INTERNAL SERVER ERROR", error.get_headers(environ)]
            body = error.get_body(environ).encode()
        status, headers = started
        code = int(status.split(None, 1)[0])
        return raw(status, headers, body, environ, code)

    # ---------------------------------------------------------------- long polls
    def park(self, connection: Connection, environ: dict[str, Any], wait: float) -> None:
        self.parked.append(_Parked(connection, environ, time.monotonic() + wait))

    def _poll_tick(self) -> None:
        assert self._loop is not None
        try:
            if self.parked:
                with SERIAL:
                    self._retry_parked()
        finally:
            self._loop.call_later(POLL_EVERY_S, self._poll_tick)

    def _retry_parked(self) -> None:
        parked, self.parked = self.parked, []
        now = time.monotonic()
        for entry in parked:
            if entry.connection.closed:
                continue
            entry.environ["wsgi.input"].seek(0)
            # once the wait is over, a last pass answers (as moto's loop does)
            answer, wait = self.run(entry.environ, may_park=now < entry.deadline)
            if wait:
                self.parked.append(entry)
                continue
            entry.connection.answer(answer)


class _Parked:
    __slots__ = ("connection", "deadline", "environ")

    def __init__(self, connection: Connection, environ: dict[str, Any], deadline: float) -> None:
        self.connection, self.environ, self.deadline = connection, environ, deadline
