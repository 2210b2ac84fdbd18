"""One webhook POST: guarded connection, 5 s connect and read timeouts, at most 1 KB of answer kept.

urllib3 directly, not requests: nothing from the environment (proxies, .netrc) applies, and the
connection class is ours. Its _new_conn resolves the host, checks every address with the SSRF
guard (urlguard.py) and connects to the checked address itself, so the address used is the
address checked: no second lookup happens between the check and the connect (DNS rebinding).
TLS is then verified against the URL's host name, as usual. Redirects are not followed (a 3xx
is a failure like any non-2xx answer): a redirect could point anywhere.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import HTTPError, NewConnectionError

from ..errors import WebhookUrlRefused
from . import urlguard

TIMEOUT_SECONDS = 5.0  # connect, and each read (the specification of the issue and of our docs)
TOTAL_SECONDS = 10.0  # reading the kept part of the answer stops here, however slowly it drips
KEEP_BYTES = 1024
USER_AGENT = "SMSBulk-Webhooks/1.0"

_state = threading.local()


class _Guarded:
    """_new_conn of a guarded connection: connect only to addresses the guard allowed."""

    def _new_conn(self) -> socket.socket:
        target = urlguard.Target("", self._dns_host, self.port)
        try:
            addresses = urlguard.allowed_addresses(target, allow_private=False)
        except WebhookUrlRefused as refused:
            _state.refused = refused
            raise NewConnectionError(self, refused.message) from None
        except OSError as exc:
            raise NewConnectionError(self, f"cannot resolve {self._dns_host}: {exc}") from None
        last: OSError | None = None
        for address in addresses:
            try:
                sock = socket.create_connection((address, self.port), self.timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except OSError as exc:
                last = exc
        raise NewConnectionError(self, f"cannot connect to {self._dns_host}: {last}")


class _GuardedHTTPConnection(_Guarded, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_Guarded, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def _manager(guarded: bool) -> urllib3.PoolManager:
    """One pool manager per thread and guard setting (kept-alive connections to receivers)."""
    managers = getattr(_state, "managers", None)
    if managers is None:
        managers = _state.managers = {}
    manager = managers.get(guarded)
    if manager is None:
        manager = urllib3.PoolManager(num_pools=50, maxsize=1, retries=False)
        if guarded:
            manager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
        managers[guarded] = manager
    return manager


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    status_code: int | None
    latency_ms: int
    response: str  # the first KEEP_BYTES of the answer's body, as text
    error: str | None


def post(url: str, body: bytes, headers: dict[str, str], allow_private: bool) -> Outcome:
    """POST the body; 2xx is success, anything else (timeouts and refusals included) a failure."""
    started = time.perf_counter()
    try:
        urlguard.parse(url, allow_private)
    except WebhookUrlRefused as refused:
        return Outcome(False, None, 0, "", f"refused: {refused.message}"[:200])
    _state.refused = None
    try:
        response = _manager(not allow_private).request(
            "POST",
            url,
            body=body,
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json", **headers},
            timeout=urllib3.Timeout(connect=TIMEOUT_SECONDS, read=TIMEOUT_SECONDS),
            redirect=False,
            preload_content=False,
        )
    except (HTTPError, OSError) as exc:
        refused = getattr(_state, "refused", None)
        error = f"refused: {refused.message}" if refused else _describe(exc)
        return Outcome(False, None, _ms_since(started), "", error[:200])
    kept = _read_some(response, started)
    latency = _ms_since(started)
    ok = 200 <= response.status < 300
    return Outcome(ok, response.status, latency, kept, None if ok else f"HTTP {response.status}")


def _read_some(response, started: float) -> str:
    """Up to KEEP_BYTES of the body; the connection is kept only if the body was read to its end."""
    kept, complete = b"", False
    try:
        while len(kept) < KEEP_BYTES and time.perf_counter() - started < TOTAL_SECONDS:
            chunk = response.read1(KEEP_BYTES - len(kept))
            if not chunk:
                complete = True
                break
            kept += chunk
        complete = complete or response.read1(1) == b""
    except (HTTPError, OSError):
        complete = False
    if complete:
        response.release_conn()
    else:
        response.close()
    return kept[:KEEP_BYTES].decode("utf-8", errors="replace")


def _describe(exc: BaseException) -> str:
    """A short reason for a failed exchange; never the URL's query string (it may hold a token)."""
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    if "timed out" in text.lower() or isinstance(reason, TimeoutError | socket.timeout):
        return f"timeout: {type(reason).__name__}"
    return f"{type(reason).__name__}: {text.split(': ', 1)[-1]}"


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
