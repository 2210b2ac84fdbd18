"""Where a webhook may be sent: the SSRF guard.

A webhook URL is chosen by a customer and fetched by our workers, from inside our network. So it
must be https, and no address its host resolves to may be loopback, private, link-local, a cloud
metadata service, or otherwise not public. The check runs when the URL is registered (a clear
error at once) and again at delivery, on the very addresses the connection is then made to
(webhook_transport.py): a name that resolved to a public address at registration and to an
internal one later (DNS rebinding) is refused at the moment it would be used.

WEBHOOK_ALLOW_PRIVATE=1 lifts the guard (http and any address), for tests and `make run`, whose
receivers listen on loopback.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import WebhookUrlRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

MAX_URL_LENGTH = 2048
# Metadata services that a link-local or private rule would not all catch on their own.
METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for the host (IPv4 and IPv6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


_resolver: Resolver = system_resolver


@contextlib.contextmanager
def resolving_with(resolver: Resolver) -> Iterator[None]:
    """Resolve host names with this function instead of the system's (tests: DNS answers on demand)."""
    global _resolver
    previous, _resolver = _resolver, resolver
    try:
        yield
    finally:
        _resolver = previous


def why_forbidden(address: Address) -> str | None:
    """Why a connection to this address is refused, or None for a public address."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return why_forbidden(embedded)
    if address in METADATA:
        return "a cloud metadata address"
    for test, reason in (
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_private", "a private address"),
        ("is_multicast", "a multicast address"),
        ("is_unspecified", "an unspecified address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, test):
            return reason
    return None if address.is_global else "not a public address"


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64): checked in its place."""
    if address.version != 6:
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def parse(url: str, allow_private: bool) -> Target:
    """The scheme, host and port of a webhook URL, or WebhookUrlRefused saying what is wrong."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise WebhookUrlRefused(f"The URL must be 1 to {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlRefused("The URL is not valid") from exc
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise WebhookUrlRefused("The URL must start with https://")
    if not parts.hostname:
        raise WebhookUrlRefused("The URL has no host")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlRefused("The URL may not carry a user name or password")
    return Target(parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80))


def allowed_addresses(target: Target, allow_private: bool, resolver: Resolver | None = None) -> list[str]:
    """The addresses to connect to for this target, every one of them checked.

    One forbidden address refuses them all: a name that also resolves to 10.0.0.1 must not get a
    connection there on the next try. A name that does not resolve raises OSError (the attempt
    fails and is retried), not WebhookUrlRefused."""
    addresses = (resolver or _resolver)(target.host, target.port)
    if not addresses:
        raise OSError(f"{target.host} has no address")
    if allow_private:
        return addresses
    for text in addresses:
        reason = why_forbidden(ipaddress.ip_address(text.split("%", 1)[0]))
        if reason is not None:
            raise WebhookUrlRefused(f"The URL's host resolves to {reason}", address=text)
    return addresses


def check_registration(url: str, allow_private: bool, resolver: Resolver | None = None) -> str:
    """The URL, if it may be registered: well formed, https, and not pointing inside.

    A host that does not resolve yet is accepted (DNS may follow); delivery checks again."""
    target = parse(url, allow_private)
    try:
        allowed_addresses(target, allow_private, resolver)
    except OSError:
        pass
    return url
