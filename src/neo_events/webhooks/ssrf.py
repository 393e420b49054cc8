"""Where a webhook may be sent: checked after DNS resolution, at every attempt.

The address that passed the check is the one connected to (the URL's host goes in the Host
header and TLS SNI), so a name that resolves differently a moment later (DNS rebinding)
cannot slip a private address past the check.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


# What a refused delivery records: the same words whether the name resolved to an address
# that is not public or did not resolve at all, so the deliveries log cannot be used to map
# internal names (what it resolved to goes to the server's log: `Refused.detail`).
NOT_PUBLIC = "the URL's host does not resolve to a public address"


class Refused(Exception):
    """This destination is not allowed. The message says why, in words fit for the webhook's
    owner; `detail` (for the server's log) may also say what the name resolved to."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.detail = detail or reason


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


# IPv6 forms that carry an IPv4 address a packet can end up at (through a NAT64 gateway, a
# 6to4 relay, or the host's own stack): each is judged as the IPv4 address it carries.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix: the last 32 bits
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # RFC 4291 (deprecated): the last 32 bits
# Refused whatever they carry: a local-use NAT64 prefix (RFC 8215) places the IPv4 address
# where its operator chose, and Teredo (RFC 4380) reaches a client behind a NAT.
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
TEREDO = ipaddress.IPv6Network("2001::/32")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address that `address` carries: IPv4-mapped (::ffff:0:0/96), 6to4 (2002::/16,
    bits 16-48), NAT64 well-known (64:ff9b::/96) and IPv4-compatible (::/96); else None."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64 or address in IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def kind_of(address: IPAddress) -> str | None:
    """Why this address is refused (None: a global unicast address). The one place that
    decides, for a literal host at creation and for every resolved address at delivery.

    An allow-list, not a deny-list: anything Python does not call global (private, shared,
    reserved, documentation, benchmarking ... ranges) is refused, so a range added to the
    IANA special-purpose registries is refused as soon as `ipaddress` knows it."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_loopback:
            return "loopback"
        if address.is_unspecified:
            return "unspecified"
        if address in TEREDO:
            return "Teredo"
        if address in NAT64_LOCAL:
            return "private"
        inner = embedded_ipv4(address)
        if inner is not None:
            return kind_of(inner)
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


def literal_address(host: str) -> IPAddress | None:
    """The address `host` is, in any spelling the resolver reads as one: IPv6, and every IPv4
    form `inet_aton` takes (127.0.0.1, 127.1, 2130706433, 0x7f000001, 0177.0.0.1, 0); None
    for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if ":" in host:
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


# A host name the resolver can look up: letters, digits, hyphens and underscores (RFC 1123's
# host names, and the underscores DNS itself allows, RFC 2181 §11, that container names such
# as Docker Compose's `app_1` carry), no hyphen at either end of a label, 1-63 characters a
# label, 253 in all (one trailing dot aside), and a top-level label that is not all digits
# (RFC 3696: such a host is an IPv4 address or nothing).
LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
BAD_NAME = "the URL's host is not a valid name or IP address"


def _raw_host(netloc: str) -> str:
    """The host as written in the URL's authority (after any userinfo, before any port)."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        return hostport[: hostport.find("]") + 1]
    return hostport.partition(":")[0]


def _check_host(raw: str, hostname: str) -> str:
    """The host in the form the resolver looks up (see `check_url`), or Refused saying why
    no resolver could: an IP literal that is not IPv6 (IPvFuture, a zone), a name that is not
    a valid DNS name after IDNA, or a host written with percent-encoding."""
    if "%" in raw:
        raise Refused("the URL's host must not be percent-encoded")
    if raw.startswith("["):
        try:
            ipaddress.IPv6Address(raw[1:-1])
        except ValueError:
            raise Refused("the URL's bracketed host must be an IPv6 address") from None
        return hostname
    try:
        host = hostname.encode("idna").decode("ascii").lower()
        for label in host.split("."):  # punycode must be a name (IDNA 2008: straße.de)
            if label.startswith("xn--"):
                idna.decode(label)  # xn--localhost- is none, whatever Python's codec says
    except UnicodeError:  # idna.IDNAError is one; also a label empty or over 63 characters
        raise Refused(BAD_NAME) from None
    if literal_address(host) is not None:
        return host
    labels = host.removesuffix(".").split(".")
    if len(host.removesuffix(".")) > 253:
        raise Refused(f"{BAD_NAME} (longer than 253 characters)")
    if not all(LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        raise Refused(f"{BAD_NAME} (each label 1-63 letters, digits, underscores or inner hyphens)")
    return host


def check_url(url: str, *, require_https: bool) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of a webhook URL, or Refused saying what is wrong: a host no
    resolver could look up is refused here, when the webhook is set, and again at delivery.
    The host is in the ASCII form the resolver looks up (IDNA, as `socket` encodes it: NFKC,
    so `ｌocalhost` is `localhost`), lower case; an IPv6 literal as written. A URL holds no
    space or control character (RFC 3986): urlsplit and httpx drop a CR/LF or a tab, and
    the address contacted was not the one shown to the webhook's owner."""
    if any(c <= " " or c == "\x7f" for c in url):
        raise Refused("the URL has no spaces or control characters")
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
    if parts.username is not None or parts.password is not None:
        raise Refused("the URL must not carry credentials")
    if port == 0:
        raise Refused("the URL's port must be from 1 to 65535")
    host = _check_host(_raw_host(parts.netloc), parts.hostname)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def check_literal(host: str) -> None:
    """Refuse, before any lookup, a host (as `check_url` gives it) that names this machine or
    is a disallowed address in any spelling."""
    name = host.rstrip(".")
    if name in {"localhost", "localhost.localdomain"} or name.endswith(".localhost"):
        raise Refused("the URL points at this machine (loopback)")
    address = literal_address(name)
    if address is not None and (reason := kind_of(address)) is not None:
        raise Refused(f"the URL points at a {reason} address")


async def resolve(url: str, *, require_https: bool, allow_private: bool) -> Target:
    """The address to connect to for `url`, after checking every address the name has. When
    private destinations are refused, a name that does not resolve is refused in the same
    words as one that resolves to a private address (`NOT_PUBLIC`), the addresses only in
    `Refused.detail`."""
    scheme, host, port, path = check_url(url, require_https=require_https)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        detail = f"cannot resolve {host}: {exc}"
        raise Refused(detail if allow_private else NOT_PUBLIC, detail) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        detail = f"{host} has no address"
        raise Refused(detail if allow_private else NOT_PUBLIC, detail)
    if not allow_private:
        for address in addresses:
            reason = kind_of(address)
            if reason is not None:
                raise Refused(NOT_PUBLIC, f"{host} resolves to {address}, a {reason} address")
    return Target(scheme, host, port, addresses[0], path)
