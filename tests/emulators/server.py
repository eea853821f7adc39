"""The threaded HTTP(S) server under each emulator: requests, responses, stats, faults, latency."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
import traceback
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal, Self

from tests.emulators.faults import Fault, Faults


@dataclass
class Request:
    """One HTTP request (or one part of a batch) as the emulator sees it.

    Attributes:
        method: ``GET``, ``POST``, ...
        path: The path, percent-decoded, without the query string.
        query: Each query parameter's values, in order.
        headers: Header names lower-cased.
        body: The raw body.
        in_batch: True for a part of a batch request.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""
    in_batch: bool = False
    raw_path: str = ""
    extras: dict[str, Any] = field(default_factory=dict)
    """Per-request notes an emulator keeps between ``enter`` and ``leave``."""

    @classmethod
    def parse(
        cls, method: str, target: str, headers: dict[str, str], body: bytes, in_batch: bool = False
    ) -> Request:
        """Build a request from a request line's target (``/path?query``) and headers."""
        split = urllib.parse.urlsplit(target)
        return cls(
            method=method.upper(),
            path=urllib.parse.unquote(split.path),
            query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            in_batch=in_batch,
            raw_path=split.path,
        )

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of query parameter ``name``."""
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        """A header's value (case-insensitive)."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON (``None`` when empty); ``ValueError`` when it is not JSON."""
        if not self.body.strip():
            return None
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """The body as an ``application/x-www-form-urlencoded`` form (first value of each)."""
        pairs = urllib.parse.parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)
        return dict(pairs)


@dataclass
class Response:
    """What to answer: a status, headers and a body."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def json(cls, status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> Response:
        """A JSON answer."""
        body = json.dumps(obj, indent=1).encode("utf-8")
        return cls(
            status, body, [("Content-Type", "application/json; charset=UTF-8")] + (headers or [])
        )

    def header(self, name: str) -> str | None:
        """A header's value (case-insensitive)."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class Abort(Exception):
    """Raised inside request handling: close the connection without answering.

    ``how`` is ``drop`` (close now), ``timeout`` (stall ``delay`` seconds, then close) or
    ``hang`` (hold the connection open until ``Faults.release``).
    """

    def __init__(self, how: Literal["drop", "timeout", "hang"], delay: float = 0.0) -> None:
        super().__init__(how)
        self.how = how
        self.delay = delay


class Stats:
    """Counts of what an emulator received (``emu.stats``); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.http_calls = 0
        """Every HTTP request received (a batch is one)."""
        self.by_kind: Counter[str] = Counter()
        """Requests by kind; a batch counts as ``batch`` and each part by its own kind too."""
        self.writes = 0
        """Write operations that were committed."""

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self.http_calls = 0
            self.by_kind = Counter()
            self.writes = 0

    def call(self, kind: str) -> None:
        """Count one HTTP request of ``kind``."""
        with self._lock:
            self.http_calls += 1
            self.by_kind[kind] += 1

    def part(self, kind: str) -> None:
        """Count one batch part of ``kind``."""
        with self._lock:
            self.by_kind[kind] += 1

    def write(self) -> None:
        """Count one committed write."""
        with self._lock:
            self.writes += 1


class EmulatorServer:
    """A service emulator on a free 127.0.0.1 port, served by threads.

    Subclasses implement ``classify`` (a request's kind for the stats), ``route`` (the answer)
    and ``fault_response`` (the service's own error body for a ``status`` fault), and may
    implement ``enter``/``leave`` around each request (Graph's per-mailbox concurrency).
    """

    def __init__(self, ssl_context: ssl.SSLContext | None = None) -> None:
        self.faults = Faults()
        self.stats = Stats()
        self.latency = 0.0
        """Seconds added to every HTTP request."""
        self.lock = threading.RLock()
        """Guards the emulator's state; held while one operation reads or changes it."""
        self.server_errors: list[str] = []
        """Tracebacks of emulator bugs (answered as 500); ``stop`` raises if there are any."""
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.emulator = self
        self._httpd.ssl_context = ssl_context
        self.port: int = self._httpd.server_address[1]
        scheme = "https" if ssl_context else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop(check=exc is None)

    def stop(self, check: bool = True) -> None:
        """Stop serving; wake stalled and hung requests. Raise if the emulator itself failed."""
        self.faults.stop()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
        if check and self.server_errors:
            raise RuntimeError("emulator bug(s):\n" + "\n".join(self.server_errors))

    # --- hooks -----------------------------------------------------------------------------

    def classify(self, req: Request) -> str:
        """The kind of a request, for ``stats.by_kind``."""
        return "other"

    def route(self, req: Request) -> Response:
        """Answer one request (may raise ``Abort``)."""
        raise NotImplementedError

    def fault_response(self, req: Request, fault: Fault) -> Response:
        """The service's error answer for a ``status`` fault."""
        raise NotImplementedError

    def enter(self, req: Request) -> Response | None:
        """Called before a request is handled; an answer here refuses it (e.g. throttling)."""
        return None

    def leave(self, req: Request) -> None:
        """Called once a request that ``enter`` admitted is finished."""

    # --- machinery -------------------------------------------------------------------------

    def write(
        self, fault_answer: Callable[[Fault], Response], commit: Callable[[], Response]
    ) -> Response:
        """Run one write operation under the planned write faults.

        Args:
            fault_answer: Builds the service's error answer for a ``status`` fault.
            commit: Performs the write and returns its answer (it counts ``stats.write()``
                itself when it really changes state).

        Returns:
            The write's answer, or the fault's error answer.

        Raises:
            Abort: For connection faults (after committing, for the ``*_commit``/hang kinds).
        """
        fault = self.faults.next_write()
        if fault is None:
            return commit()
        if fault.kind == "status":
            return fault_answer(fault)
        if fault.kind == "drop_before_commit":
            raise Abort("drop")
        if fault.kind == "timeout":
            raise Abort("timeout", fault.delay)
        commit()
        raise Abort("hang" if fault.kind == "commit_then_hang" else "drop")

    def handle(self, req: Request) -> Response | None:
        """Answer one HTTP request, or ``None`` to close the connection without an answer."""
        self.stats.call(self.classify(req))
        fault = self.faults.next_request()
        refused = self.enter(req)
        if refused is not None:
            return refused
        try:
            if self.latency:
                time.sleep(self.latency)
            try:
                if fault is not None and fault.kind == "status":
                    return self.fault_response(req, fault)
                if fault is not None and fault.kind == "drop_before_commit":
                    raise Abort("drop")
                if fault is not None and fault.kind == "timeout":
                    raise Abort("timeout", fault.delay)
                answer = self._route_safely(req)
                if fault is not None and fault.kind == "drop_after_commit":
                    raise Abort("drop")
                if fault is not None and fault.kind == "commit_then_hang":
                    raise Abort("hang")
                return answer
            except Abort as abort:
                if abort.how == "timeout":
                    self.faults.stall(abort.delay)
                elif abort.how == "hang":
                    self.faults.hang()
                return None
        finally:
            self.leave(req)

    def _route_safely(self, req: Request) -> Response:
        try:
            return self.route(req)
        except Abort:
            raise
        except Exception:  # an emulator bug: answer 500 and remember it
            self.server_errors.append(traceback.format_exc())
            return Response(500, b"emulator error", [("Content-Type", "text/plain")])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: EmulatorServer
    ssl_context: ssl.SSLContext | None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        # One write per answer and no Nagle delay: otherwise keep-alive clients wait ~40 ms
        # for a delayed ACK on every request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        context = self.server.ssl_context
        if context is not None:
            self.request.settimeout(10)
            try:
                self.request = context.wrap_socket(self.request, server_side=True)
            except (ssl.SSLError, OSError):
                self.request.close()
                raise
            self.request.settimeout(None)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if isinstance(self.request, ssl.SSLSocket):
                try:
                    self.request.close()
                except OSError:
                    pass

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (TimeoutError, ConnectionError, ssl.SSLError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read stats, not logs."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request.parse(self.command, self.path, dict(self.headers.items()), body)
        answer = self.server.emulator.handle(req)
        if answer is None:
            self.close_connection = True
            return
        self.send_response(answer.status)
        for key, value in answer.headers:
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if self.command != "HEAD":
            self._headers_buffer.append(b"\r\n" + answer.body)  # headers and body in one write
            self.flush_headers()
        else:
            self.end_headers()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve
