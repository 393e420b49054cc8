"""Where a webhook may be sent: checked after DNS resolution, at every attempt.

The address that passed the check is the one connected to (the URL's host goes in the Host
header and TLS SNI), so a name that resolves differently a moment later (DNS rebinding)
cannot slip a private address past the check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """This destination is not allowed (the message says why)."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # as in the URL (for Host and SNI)
    port: int
    address: IPAddress  # what to connect to
    path: str  # path and query

    @property
    def connect_url(self) -> str:
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"{self.scheme}://{literal}:{self.port}{self.path}"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def kind_of(address: IPAddress) -> str | None:
    """Why this address is refused (None: it is a public unicast address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_unspecified:
        return "unspecified"
    if address.is_private or not address.is_global:
        return "private"
    return None


def check_url(url: str, *, require_https: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a webhook URL, or Refused saying what is wrong."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from None
    allowed = ("https",) if require_https else ("https", "http")
    if parts.scheme not in allowed:
        raise Refused(f"the URL must use {' or '.join(allowed)}")
    if not parts.hostname:
        raise Refused("the URL has no host")
    if parts.username or parts.password:
        raise Refused("the URL must not carry credentials")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80), path


def check_literal(host: str) -> None:
    """Refuse a host that is itself a disallowed address, or names this machine."""
    if host.lower().rstrip(".") in {"localhost", "localhost.localdomain"} or host.lower().endswith(
        ".localhost"
    ):
        raise Refused("the URL points at this machine (loopback)")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return
    reason = kind_of(address)
    if reason is not None:
        raise Refused(f"the URL points at a {reason} address")


async def resolve(url: str, *, require_https: bool, allow_private: bool) -> Target:
    """The address to connect to for `url`, after checking every address the name has."""
    scheme, host, port, path = check_url(url, require_https=require_https)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise Refused(f"{host} has no address")
    if not allow_private:
        for address in addresses:
            reason = kind_of(address)
            if reason is not None:
                raise Refused(f"{host} resolves to {address}, a {reason} address")
    return Target(scheme, host, port, addresses[0], path)
