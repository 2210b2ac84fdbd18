"""A webhook receiver: a real HTTP server on 127.0.0.1 that verifies each delivery with the
`standardwebhooks` package, as a customer's receiver would, and records what it got.

It can be taken down (its port closed: connections are refused) and brought back on the same
port, told to answer with an error status for a while, or to answer late.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    verified: bool
    error: str = ""

    @property
    def id(self) -> str:
        return self.headers.get("webhook-id", "")

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str = ""
    status: int = 204
    answer: bytes = b""
    delay: float = 0.0  # seconds before it answers (a slow endpoint)
    deliveries: list[Delivery] = field(default_factory=list)
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.record({k.lower(): v for k, v in self.headers.items()}, body)
                time.sleep(receiver.delay)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", str(len(receiver.answer)))
                    self.end_headers()
                    self.wfile.write(receiver.answer)
                except OSError:
                    pass  # the sender gave up waiting and closed the connection

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: the port is closed, connections are refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def record(self, headers: dict[str, str], body: bytes) -> None:
        verified, error = True, ""
        if self.secret:
            try:
                Webhook(self.secret).verify(body, headers)
            except WebhookVerificationError as exc:
                verified, error = False, str(exc)
        with self._lock:
            self.deliveries.append(Delivery(headers, body, verified, error))

    def ids(self) -> list[str]:
        with self._lock:
            return [delivery.id for delivery in self.deliveries]
