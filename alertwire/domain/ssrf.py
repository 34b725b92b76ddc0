"""The SSRF guard's decisions (SPEC §8): which addresses outbound requests may reach.

Pure computation, no I/O: the HTTP client (alertwire.delivery.http) applies these rules to the
literal host of every URL and to every address a host name resolves to.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv6Address

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = IPv4Address | IPv6Address

# Translation prefixes whose low 32 bits (or, for 6to4, bits 16-48) are the IPv4 address a
# connection actually reaches: they are judged by that address, not by their own prefix.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")

# Not globally reachable per IANA but still `is_global` in some Python versions (3.11 lacks
# the 2024 documentation prefix and still calls deprecated site-local space global).
_NOT_GLOBAL: tuple[Network, ...] = (
    ipaddress.IPv6Network("3fff::/20"),
    ipaddress.IPv6Network("fec0::/10"),
    ipaddress.IPv4Network("100.64.0.0/10"),
)

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_OCT_DIGITS = frozenset("01234567")
_DEC_DIGITS = frozenset("0123456789")


class Refused(Exception):
    """A target the SSRF guard will not connect to; `reason` says why, for humans."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_allowed_targets(text: str) -> tuple[Network, ...]:
    """`ALERTWIRE_ALLOWED_TARGETS`: comma-separated CIDRs or single addresses ("" → ())."""
    networks: list[Network] = []
    for raw in text.split(","):
        entry = "".join(raw.split())
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError:
            try:
                loose = ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not an IP address or CIDR network (e.g. 10.0.0.0/8, fd00::/8)"
                ) from None
            # A typo such as 10.0.0.1/8 would silently open the whole /8: make it explicit.
            raise ValueError(f"{entry!r} has host bits set; did you mean {loose}?") from None
    return tuple(networks)


def _inet_aton_part(part: str) -> int | None:
    """One dot-separated part as inet_aton reads it: 0x… hex, 0… octal, else decimal."""
    if part[:2] in ("0x", "0X"):
        digits, base, allowed = part[2:], 16, _HEX_DIGITS
    elif len(part) > 1 and part[0] == "0":
        digits, base, allowed = part[1:], 8, _OCT_DIGITS
    else:
        digits, base, allowed = part, 10, _DEC_DIGITS
    if not set(digits) <= allowed or (not digits and base != 16):
        return None  # inet_aton reads a bare "0x" as 0, so an empty hex part is fine
    if not digits:
        return 0
    return int(digits, base)


def _legacy_ipv4(host: str) -> IPv4Address | None:
    """IPv4 in any spelling inet_aton()/getaddrinfo() accept: 2130706433, 127.1, 10.1,
    0177.0.0.1, 0x7f.0.0.1, 0x7f000001. Written out by hand so the verdict does not depend on
    the C library (glibc's inet_aton also accepts trailing garbage after a space)."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = [_inet_aton_part(p) for p in parts]
    if any(v is None for v in values):
        return None
    numbers = [v for v in values if v is not None]
    # Every part but the last is one byte; the last fills the remaining bytes.
    *leading, last = numbers
    if any(v > 0xFF for v in leading) or last >= 1 << (8 * (4 - len(leading))):
        return None
    value = last
    for index, byte in enumerate(leading):
        value |= byte << (8 * (3 - index))
    return IPv4Address(value)


def literal_address(host: str) -> Address | None:
    """The address a URL host literally names, or None when it is a host name."""
    host = host.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        # A zone id arrives percent-encoded from a URL (fe80::1%25eth0).
        try:
            return IPv6Address(host.replace("%25", "%", 1))
        except ValueError:
            return None
    # "127.0.0.1." is the same address to resolvers (and aiohttp folds ".." into ".").
    host = host.rstrip(".")
    if not host:
        return None
    return _legacy_ipv4(host)


def embedded_ipv4(addr: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address carries and a connection to it would reach: IPv4-mapped
    (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d), 6to4 (2002:AABB:CCDD::) or IPv4-compatible
    (::a.b.c.d, except :: and ::1)."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr in _NAT64:
        return IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr in _IPV4_COMPATIBLE and int(addr) > 1:
        return IPv4Address(int(addr) & 0xFFFFFFFF)
    return None


def _verdict(addr: Address) -> str | None:
    """What is wrong with `addr` as a target ("is a loopback address"), None if nothing."""
    if addr.is_unspecified:
        return "is an unspecified address"
    if addr.is_loopback:
        return "is a loopback address"
    if addr.is_link_local:
        return "is a link-local address"
    if addr.is_multicast:
        return "is a multicast address"
    if addr.is_reserved:
        return "is a reserved address"
    if addr.is_private:
        return "is a private address"
    if not addr.is_global or any(addr in net for net in _NOT_GLOBAL):
        return "is not a globally routable address"
    return None


def _display(addr: Address) -> str:
    # Python 3.11 prints ::ffff:127.0.0.1 as ::ffff:7f00:1; show the spelling people recognise.
    if isinstance(addr, IPv6Address) and addr.ipv4_mapped is not None:
        return f"::ffff:{addr.ipv4_mapped}"
    return str(addr)


def _allowed(addr: Address, allowed: Sequence[Network]) -> bool:
    return any(addr in net for net in allowed)


def refusal_reason(addr: Address, allowed: Sequence[Network]) -> str | None:
    """None when `addr` may be targeted, else why not ("10.0.0.1 is a private address")."""
    inner = embedded_ipv4(addr) if isinstance(addr, IPv6Address) else None
    if _allowed(addr, allowed) or (inner is not None and _allowed(inner, allowed)):
        return None
    if inner is not None:
        problem = _verdict(inner)
        if problem is not None:
            return f"{_display(addr)} reaches {inner}, which {problem}"
        if addr in _IPV4_COMPATIBLE:
            # Deprecated (RFC 4291) and never globally routed, whatever it embeds.
            return f"{addr} is a deprecated IPv4-compatible address"
        # Mapped / NAT64 / 6to4 prefixes are "reserved" in Python's tables, but a connection
        # to them reaches the embedded address, which is fine.
        return None
    problem = _verdict(addr)
    return None if problem is None else f"{_display(addr)} {problem}"
