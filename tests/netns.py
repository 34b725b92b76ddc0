"""Network namespaces with only `lo`, for tests that must prove nothing leaves 127.0.0.1."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=30)


@contextmanager
def loopback_namespace(prefix: str, *, addresses: Sequence[str] = (),
                       addresses_v6: Sequence[str] = (),
                       hosts: str = "127.0.0.1 localhost\n::1 localhost\n") -> Iterator[str]:
    """A fresh namespace whose only link is `lo` (with `addresses` added to it), its own
    /etc/hosts and a resolver on its own loopback; removed afterwards. Skips the test
    without root or iproute2."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a network namespace")
    if shutil.which("ip") is None:
        pytest.skip("needs iproute2's `ip` to create a network namespace")
    name = f"{prefix}-{secrets.token_hex(4)}"
    etc = Path("/etc/netns") / name
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        for cidr in addresses:
            _ip("-n", name, "addr", "add", cidr, "dev", "lo")
        for cidr in addresses_v6:
            _ip("-n", name, "-6", "addr", "add", cidr, "dev", "lo", "nodad")
        etc.mkdir(parents=True)
        # `ip netns exec` bind-mounts these over /etc/hosts and /etc/resolv.conf; any DNS
        # query that slipped through would go to the namespace's own lo, not outside.
        (etc / "hosts").write_text(hosts)
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True, timeout=30)
        shutil.rmtree(etc, ignore_errors=True)


def only_loopback(name: str) -> list[str]:
    """The namespace's links (the tests assert it is just `lo`)."""
    return subprocess.run(["ip", "-n", name, "-o", "link"], check=True, capture_output=True,
                          text=True).stdout.splitlines()
