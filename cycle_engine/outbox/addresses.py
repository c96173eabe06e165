"""Where outbound requests (webhook deliveries) may go: public addresses only, unless allowed.

A webhook URL is checked twice. When a subscription is stored (`AddressPolicy.check_url`), by
its text: http or https, at most MAX_URL_LENGTH characters, no credentials, a host that is a
plain DNS name or an IP address; a host written as an address, in any encoding browsers and
resolvers accept (`2130706433`, `0x7f.1`, `0177.0.0.1`, `[::1]`, `[::ffff:127.0.0.1]`), and
names that only ever mean this machine or a local network (`localhost`, `*.local`, a name
without a dot) must be public. When a delivery is sent (`AddressPolicy.resolve`), every address
the name resolves to must be public, and the request goes to the address that was checked, so
a DNS answer that changes between the check and the connection cannot redirect it.

Not public: loopback, private (RFC 1918, unique local), shared (100.64/10), link-local (cloud
metadata at 169.254.169.254), multicast, unspecified, documentation and reserved ranges, and
IPv6 addresses that embed one of those (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo).

Deployments with internal receivers list them in `CYCLE_ENGINE_WEBHOOK_ALLOW`: comma-separated
host names (matched exactly) and addresses or networks in CIDR form (`10.20.0.0/16`, `::1`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

from cycle_engine.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
#: `socket.getaddrinfo`'s shape: (host, port, type=...) -> [(family, type, proto, name, sockaddr)]
Lookup = Callable[..., Sequence[tuple[Any, Any, Any, Any, tuple[Any, ...]]]]

ALLOW_SETTING = "CYCLE_ENGINE_WEBHOOK_ALLOW"
MAX_URL_LENGTH = 2000
SCHEMES = ("http", "https")
#: Names that only mean this machine or a local network, whatever a resolver answers.
LOCAL_NAMES = ("localhost", "localdomain", "local", "internal", "home.arpa", "lan")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_NUMBER = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")


class AddressRefused(InvalidInput):
    """A URL the address policy does not let the engine send requests to (`field` is "url")."""

    def __init__(self, message: str) -> None:
        super().__init__("url", message)


@dataclass(frozen=True, kw_only=True)
class PinnedTarget:
    """Where to send one request: `url` names the checked address instead of the host name;
    `headers` (Host) and `extensions` (TLS server name) keep the original name for the receiver
    and for certificate checks."""

    url: str
    address: str
    headers: Mapping[str, str] = field(default_factory=dict)
    extensions: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class AddressPolicy:
    """Public addresses only, except the host names and networks in the allowlist."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()
    #: Resolves names (the system's `getaddrinfo`; a test gives its own DNS answer).
    lookup: Lookup = field(default=socket.getaddrinfo, compare=False, repr=False)

    @classmethod
    def from_setting(cls, text: str, *, setting: str = ALLOW_SETTING) -> AddressPolicy:
        """The policy for an allowlist like `hooks.intranet, 10.0.0.0/8, ::1` (empty: none).

        Raises:
            InvalidInput: an entry is neither a host name nor an address or network.
        """
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in text.split(","):
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if not _is_dns_name(entry):
                raise InvalidInput(
                    setting, f"{raw.strip()!r} is neither a host name nor an address or network"
                )
            hosts.add(entry)
        return cls(allowed_hosts=frozenset(hosts), allowed_networks=tuple(networks))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AddressPolicy:
        """The policy set by `CYCLE_ENGINE_WEBHOOK_ALLOW` (read when called, never at import)."""
        env = os.environ if environ is None else environ
        return cls.from_setting(env.get(ALLOW_SETTING, ""))

    @classmethod
    def allowing(cls, *entries: str) -> AddressPolicy:
        """A policy that also allows `entries` (host names, addresses, networks)."""
        return cls.from_setting(",".join(entries))

    def allows_address(self, address: IPAddress) -> bool:
        return any(address.version == n.version and address in n for n in self.allowed_networks)

    def check_url(self, url: str) -> str:
        """`url` if requests may be sent to it, judged by its text (no DNS lookup).

        Raises:
            AddressRefused: not http(s), too long, with credentials, a malformed host, or a
                host that is not public (see the module docstring) and not allowed.
        """
        parts = _split(url)
        host = _host(parts)
        if host in self.allowed_hosts:
            return url
        address = literal_address(host)
        if address is not None:
            self._check_address(address, host)
        elif _is_local_name(host):
            raise AddressRefused(
                f"{host!r} names this machine or a local network, not a public receiver"
            )
        return url

    def resolve(self, url: str) -> PinnedTarget:
        """Check `url`, resolve its host (`lookup`) and check every address; the target names
        the first. Blocking (DNS): call it from a thread in async code.

        Raises:
            AddressRefused: the URL is refused (see `check_url`), or the name resolves to an
                address that is not public and not allowed.
            OSError: the name does not resolve (socket.gaierror), which may be temporary.
        """
        parts = _split(self.check_url(url))
        host = _host(parts)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        literal = literal_address(host)
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            infos = self.lookup(host, port, type=socket.SOCK_STREAM)
            addresses = list(dict.fromkeys(_strip_scope(info[4][0]) for info in infos))
            if host not in self.allowed_hosts:
                for address in addresses:
                    self._check_address(address, host)
        if not addresses:
            raise OSError(f"{host!r} resolves to no address")
        chosen = addresses[0]
        shown = f"[{chosen}]" if chosen.version == 6 else str(chosen)
        netloc = f"{shown}:{parts.port}" if parts.port else shown
        pinned = parts._replace(netloc=netloc).geturl()
        extensions = {"sni_hostname": host} if parts.scheme == "https" and literal is None else {}
        return PinnedTarget(
            url=pinned,
            address=str(chosen),
            headers={"Host": parts.netloc},
            extensions=extensions,
        )

    def _check_address(self, address: IPAddress, host: str) -> None:
        if self.allows_address(address):
            return
        reason = not_public(address)
        if reason is not None:
            shown = host if host == str(address) else f"{host!r} ({address})"
            raise AddressRefused(
                f"{shown} is {reason}; webhooks go to public addresses only "
                f"(an operator may allow internal receivers in {ALLOW_SETTING})"
            )


#: The default: public addresses only.
PUBLIC_ONLY = AddressPolicy()


def not_public(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address (None when it is one)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = not_public(embedded)
            return None if reason is None else f"an IPv6 form of {embedded}, {reason}"
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (isinstance(address, ipaddress.IPv4Address) and address in _SHARED, "a shared address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a global address"),
    )
    return next((reason for failed, reason in checks if failed), None)


def literal_address(host: str) -> IPAddress | None:
    """The IP address `host` spells, in any form resolvers accept, or None for a DNS name.

    IPv4 follows the URL standard's host parser (and inet_aton): one to four parts, each
    decimal, octal (leading 0) or hex (0x); the last part fills the remaining bytes.

    Raises:
        AddressRefused: the host looks like an address but is not a valid one.
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" in bare:
        try:
            return _strip_scope(bare)
        except ValueError:
            raise AddressRefused(f"{host!r} is not a valid IPv6 address") from None
    labels = bare.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    if not labels or not _NUMBER.match(labels[-1]):
        return None
    return ipaddress.IPv4Address(_ipv4_value(labels, host))


def _ipv4_value(labels: list[str], host: str) -> int:
    if len(labels) > 4:
        raise AddressRefused(f"{host!r} is not a valid IPv4 address")
    numbers: list[int] = []
    for label in labels:
        if not _NUMBER.match(label):
            raise AddressRefused(f"{host!r} is not a valid IPv4 address")
        if label.startswith("0x"):
            numbers.append(int(label[2:] or "0", 16))
        elif len(label) > 1 and label.startswith("0"):
            try:
                numbers.append(int(label, 8))
            except ValueError:
                raise AddressRefused(f"{host!r} is not a valid IPv4 address") from None
        else:
            numbers.append(int(label))
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(numbers)):
        raise AddressRefused(f"{host!r} is not a valid IPv4 address")
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return value


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address inside an IPv4-mapped, -compatible, NAT64, 6to4 or Teredo address."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    packed = int(address)
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    if packed >> 32 == 0 and packed > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed)
    return None


def _strip_scope(text: str) -> IPAddress:
    """An address from `text`, without an IPv6 zone (`fe80::1%eth0`)."""
    return ipaddress.ip_address(text.split("%", 1)[0])


def _split(url: str) -> SplitResult:
    if not isinstance(url, str) or not url:
        raise AddressRefused("give an http or https URL")
    if len(url) > MAX_URL_LENGTH:
        raise AddressRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ord(c) <= 32 or ord(c) == 127 or c == "\\" for c in url):
        raise AddressRefused("the URL contains spaces, control characters or backslashes")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as error:
        raise AddressRefused(f"not a valid URL: {error}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise AddressRefused(
            f"only http and https URLs are allowed, not {parts.scheme or 'none'!r}"
        )
    if "@" in parts.netloc:
        raise AddressRefused("a webhook URL must not carry credentials (user:password@)")
    if parts.port == 0:
        raise AddressRefused("port 0 is not a port a receiver listens on")
    return parts


def _host(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise AddressRefused("the URL names no host")
    if "[" in parts.netloc:
        return host
    if literal_address(host) is None and not _is_dns_name(host):
        raise AddressRefused(f"{host!r} is not a valid host name")
    return host


def _is_dns_name(host: str) -> bool:
    labels = host.split(".")
    return len(host) <= 253 and all(_LABEL.match(label) for label in labels)


def _is_local_name(host: str) -> bool:
    if "." not in host:
        return True  # a single label is completed by the resolver's search list: internal
    return any(host == name or host.endswith("." + name) for name in LOCAL_NAMES)
