"""SSRF guard decisions (SPEC §8): pure functions, no network."""

from __future__ import annotations

import ipaddress

import pytest

from alertwire.domain.ssrf import (
    Address,
    Refused,
    embedded_ipv4,
    literal_address,
    parse_allowed_targets,
    refusal_reason,
)


def judge(host: str, allowed: str = "") -> str | None:
    addr = literal_address(host)
    assert addr is not None, f"{host} should be a literal address"
    return refusal_reason(addr, parse_allowed_targets(allowed))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0X7F.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("012.0.0.1", "10.0.0.1"),
        ("167772161", "10.0.0.1"),
        ("0x0a000001", "10.0.0.1"),
        ("1.16777215", "1.255.255.255"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("[::1]", "::1"),
        ("::1", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[fe80::1%25eth0]", "fe80::1%eth0"),
    ],
)
def test_literal_address_reads_every_spelling(host: str, expected: str) -> None:
    """Standard, bracketed, decimal, short, octal, hex and trailing-dot hosts name an address."""
    assert literal_address(host) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    "host",
    ["example.com", "localhost", "internal.test", "1.2.3.4.5", "256.1", "1.16777216", "08.1.1.1",
     "1e3", "0xg.1", "1..2", "", "[::1", "::zz", "127.0.0.1 junk"],
)
def test_literal_address_none_for_names_and_invalid(host: str) -> None:
    """Host names and numbers no resolver reads as an address are not literals."""
    assert literal_address(host) is None


@pytest.mark.parametrize(
    ("host", "words"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("127.1", "127.0.0.1 is a loopback address"),
        ("2130706433", "127.0.0.1 is a loopback address"),
        ("0177.0.0.1", "127.0.0.1 is a loopback address"),
        ("0x7f.0.0.1", "127.0.0.1 is a loopback address"),
        ("0.0.0.0", "0.0.0.0 is an unspecified address"),
        ("10.0.0.1", "10.0.0.1 is a private address"),
        ("172.16.0.1", "172.16.0.1 is a private address"),
        ("192.168.1.1", "192.168.1.1 is a private address"),
        ("169.254.169.254", "169.254.169.254 is a link-local address"),
        ("100.64.0.1", "100.64.0.1 is not a globally routable address"),
        ("224.0.0.1", "224.0.0.1 is a multicast address"),
        ("240.0.0.1", "240.0.0.1 is a reserved address"),
        ("255.255.255.255", "255.255.255.255 is a reserved address"),
        ("192.0.2.1", "192.0.2.1 is a private address"),
        ("[::1]", "::1 is a loopback address"),
        ("::", ":: is an unspecified address"),
        ("fe80::1", "fe80::1 is a link-local address"),
        ("fc00::1", "fc00::1 is a private address"),
        ("fd00::1", "fd00::1 is a private address"),
        ("ff02::1", "ff02::1 is a multicast address"),
        ("fec0::1", "fec0::1 is not a globally routable address"),
        ("2001:db8::1", "2001:db8::1 is a private address"),
        ("3fff::1", "3fff::1 is not a globally routable address"),
        ("::ffff:127.0.0.1", "::ffff:127.0.0.1 reaches 127.0.0.1, which is a loopback address"),
        ("::ffff:169.254.169.254",
         "::ffff:169.254.169.254 reaches 169.254.169.254, which is a link-local address"),
        ("::ffff:0.0.0.0", "::ffff:0.0.0.0 reaches 0.0.0.0, which is an unspecified address"),
        ("64:ff9b::a00:1", "64:ff9b::a00:1 reaches 10.0.0.1, which is a private address"),
        ("2002:a00:1::", "2002:a00:1:: reaches 10.0.0.1, which is a private address"),
        ("::a00:1", "::a00:1 reaches 10.0.0.1, which is a private address"),
        ("::808:808", "::808:808 is a deprecated IPv4-compatible address"),
    ],
)
def test_forbidden_addresses_are_refused_with_reason(host: str, words: str) -> None:
    """Loopback, private, link-local, multicast, unspecified, reserved, non-global: refused."""
    assert judge(host) == words


@pytest.mark.parametrize(
    "host",
    ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:93.184.216.34", "64:ff9b::808:808",
     "2002:808:808::"],
)
def test_public_addresses_are_allowed(host: str) -> None:
    """Public addresses, and translations that reach one, pass (decision only, no connection)."""
    assert judge(host) is None


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1", "127.0.0.0/8"),
        ("::ffff:127.0.0.1", "127.0.0.0/8"),
        ("127.1", "127.0.0.0/8"),
        ("10.0.0.1", "10.0.0.1"),
        ("::1", "::1"),
        ("fd00::1", "fd00::/8"),
        ("64:ff9b::a00:1", "10.0.0.0/8"),
        ("169.254.169.254", "192.168.0.0/16, 169.254.169.254/32"),
    ],
)
def test_allowed_targets_override(host: str, allowed: str) -> None:
    """ALERTWIRE_ALLOWED_TARGETS lets a forbidden address (or one embedding it) through."""
    assert judge(host, allowed) is None


def test_allowed_targets_only_cover_their_range() -> None:
    """An allowed range does not open neighbouring ranges."""
    assert judge("10.0.0.1", "127.0.0.0/8") == "10.0.0.1 is a private address"
    assert judge("::1", "127.0.0.0/8") == "::1 is a loopback address"
    assert judge("128.0.0.1", "127.0.0.0/8") is None


def test_embedded_ipv4_only_for_translation_prefixes() -> None:
    """Only mapped, NAT64, 6to4 and IPv4-compatible addresses embed an IPv4 target."""
    def embedded(text: str) -> str | None:
        inner = embedded_ipv4(ipaddress.IPv6Address(text))
        return None if inner is None else str(inner)

    assert embedded("::ffff:10.0.0.1") == "10.0.0.1"
    assert embedded("64:ff9b::a00:1") == "10.0.0.1"
    assert embedded("2002:a00:1::5") == "10.0.0.1"
    assert embedded("::a00:1") == "10.0.0.1"
    assert embedded("::1") is None
    assert embedded("::") is None
    assert embedded("2606:4700::1111") is None


def test_parse_allowed_targets_forms() -> None:
    """CIDRs and single addresses, commas and whitespace, both families; empty means none."""
    parsed = parse_allowed_targets(" 127.0.0.0/8 ,::1,\t10.0.0.1 , fd00::/8,")
    assert parsed == (
        ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"),
        ipaddress.ip_network("10.0.0.1/32"), ipaddress.ip_network("fd00::/8"),
    )
    assert parse_allowed_targets("") == ()
    assert parse_allowed_targets("  ,  ") == ()


@pytest.mark.parametrize(
    ("text", "bad"),
    [("127.0.0.0/8,localhost", "'localhost'"), ("10.0.0.0/33", "'10.0.0.0/33'"),
     ("fd00::/8, nonsense/x", "'nonsense/x'"), ("2130706433", "'2130706433'")],
)
def test_parse_allowed_targets_names_the_bad_entry(text: str, bad: str) -> None:
    """A bad entry is a ValueError naming that entry."""
    with pytest.raises(ValueError, match=bad):
        parse_allowed_targets(text)


def test_parse_allowed_targets_rejects_host_bits() -> None:
    """10.0.0.1/8 is a likely typo: rejected with the network it would have meant."""
    with pytest.raises(ValueError, match=r"'10\.0\.0\.1/8' has host bits set; did you mean 10\.0\.0\.0/8"):
        parse_allowed_targets("10.0.0.1/8")


def test_refused_carries_reason() -> None:
    """Refused keeps the human reason for the API error message."""
    addr: Address = ipaddress.ip_address("10.0.0.1")
    reason = refusal_reason(addr, ())
    assert reason is not None
    error = Refused(reason)
    assert error.reason == str(error) == "10.0.0.1 is a private address"
