"""A real HTTP server on 127.0.0.1 for testing upstream adapters over the wire.

Each test gives it a handler (usually a small fake upstream with in-memory state) that
turns a `Seen` request into a `Reply`. The server records every request, can answer
late (to provoke read timeouts) or hang up without answering.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Seen:
    """One request as the stub received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    body: str = ""
    content_type: str = "text/html; charset=UTF-8"
    delay: float = 0.0  # seconds to wait before answering
    hang_up: bool = False  # close the connection without any answer
    extra_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Reply:
        return cls(status=status, body=json.dumps(data), content_type="application/json")


Handler = Callable[[Seen], Reply]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout tests) breaks the pipe: expected, not news."""


class StubServer:
    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[Seen] = []
        self._stopping = threading.Event()  # wakes delayed answers at shutdown
        self._server = _QuietServer(("127.0.0.1", 0), self._request_handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def count(self, **match: str) -> int:
        """How many requests had all the given query values (e.g. action="getStatus")."""
        return sum(all(s.query.get(k) == v for k, v in match.items()) for s in self.seen)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def _request_handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class RequestHandler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                seen = Seen(self.command, parts.path, dict(parse_qsl(parts.query)), dict(self.headers))
                stub.seen.append(seen)
                reply = stub.handler(seen)
                if reply.delay and stub._stopping.wait(reply.delay):
                    return
                if reply.hang_up:
                    self.close_connection = True
                    return
                payload = reply.body.encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.extra_headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        return RequestHandler


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
