"""End-to-end SSRF guard (SPEC §8) inside a throwaway network namespace.

The namespace has only its own `lo`, carrying 127.0.0.1, ::1, 10.0.0.1, 169.254.169.254,
192.168.7.7 and fd00::1, with a listener on each that records every request. The probe (this
module run with `python -m` inside the namespace) fires every forbidden spelling at them through
`HttpClient()`: all must be refused and no listener may see a request, except the positive
control (10.0.0.1 explicitly allowed) and the origin of the redirect test. Nothing can leave the
namespace: it has no other interface, no route out, and its resolv.conf points at its own lo.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import netns

REPO = Path(__file__).resolve().parents[2]
PORT = 8080  # the namespace is new and empty: every listener can use the same port
LISTEN = ["127.0.0.1", "::1", "10.0.0.1", "169.254.169.254", "192.168.7.7", "fd00::1"]
NS_ADDRESSES = ["10.0.0.1/32", "169.254.169.254/32", "192.168.7.7/32"]
NS_ADDRESSES_V6 = ["fd00::1/128"]
HOSTS = """\
127.0.0.1 localhost
10.0.0.1 internal.test
169.254.169.254 metadata.test
fd00::1 v6.test
10.0.0.1 mixed.test
192.168.7.7 mixed.test
"""

# URL (port {p}) → the words the refusal must contain.
REFUSED: dict[str, str] = {
    "http://127.0.0.1:{p}/": "127.0.0.1 is a loopback address",
    "http://[::1]:{p}/": "::1 is a loopback address",
    "http://10.0.0.1:{p}/": "10.0.0.1 is a private address",
    "http://169.254.169.254:{p}/latest/meta-data/": "169.254.169.254 is a link-local address",
    "http://192.168.7.7:{p}/": "192.168.7.7 is a private address",
    "http://[fd00::1]:{p}/": "fd00::1 is a private address",
    "http://[::ffff:10.0.0.1]:{p}/": "::ffff:10.0.0.1 reaches 10.0.0.1, which is a private address",
    "http://[::ffff:169.254.169.254]:{p}/": "reaches 169.254.169.254, which is a link-local",
    "http://167772161:{p}/": "10.0.0.1 is a private address",
    "http://10.1:{p}/": "10.0.0.1 is a private address",
    "http://0x0a000001:{p}/": "10.0.0.1 is a private address",
    "http://0xa.0.0.1:{p}/": "10.0.0.1 is a private address",
    "http://012.0.0.1:{p}/": "10.0.0.1 is a private address",
    "http://10.0.0.1.:{p}/": "10.0.0.1 is a private address",
    "http://2852039166:{p}/": "169.254.169.254 is a link-local address",
    "http://internal.test:{p}/": "10.0.0.1 is a private address (internal.test resolves to it)",
    "http://metadata.test:{p}/": "169.254.169.254 is a link-local address (metadata.test",
    "http://v6.test:{p}/": "fd00::1 is a private address (v6.test resolves to it)",
    "http://mixed.test:{p}/": "is a private address (mixed.test resolves to it)",
    "http://localhost:{p}/": "127.0.0.1 is a loopback address (localhost resolves to it)",
    "http://0.0.0.0:{p}/": "0.0.0.0 is an unspecified address",
    "http://0:{p}/": "0.0.0.0 is an unspecified address",
    "http://[::]:{p}/": ":: is an unspecified address",
    "https://10.0.0.1:{p}/": "10.0.0.1 is a private address",
}


# ---------------------------------------------------------------- the probe (in the namespace)


async def probe() -> dict[str, Any]:
    from aiohttp import web

    from alertwire.delivery.http import HttpClient, SendError
    from alertwire.domain.ssrf import parse_allowed_targets

    seen: dict[str, list[str]] = {addr: [] for addr in LISTEN}
    runners: list[web.AppRunner] = []

    def recorder(addr: str) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            seen[addr].append(f"{request.method} {request.path_qs}")
            if request.path == "/redirect":
                raise web.HTTPFound(f"http://10.0.0.1:{PORT}/redirected")
            return web.Response(text=f"listener {addr}")
        return handle

    for addr in LISTEN:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", recorder(addr))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, addr, PORT).start()
        runners.append(runner)

    async def attempt(client: HttpClient, url: str) -> dict[str, Any]:
        try:
            response = await client.send("GET", url, timeout=3)
        except SendError as exc:
            return {"url": url, "refused": exc.kind == "refused", "kind": exc.kind,
                    "message": exc.message}
        return {"url": url, "refused": False, "kind": None, "status": response.status,
                "headers": response.headers}

    report: dict[str, Any] = {}
    try:
        guarded = HttpClient()
        try:
            report["refused"] = [await attempt(guarded, url.format(p=PORT)) for url in REFUSED]
        finally:
            await guarded.close()

        # One forbidden answer among the name's addresses refuses it even when the other
        # address is allowed: happy-eyeballs must not get a chance to pick 192.168.7.7.
        only_ten = HttpClient(parse_allowed_targets("10.0.0.0/8"))
        try:
            report["mixed_with_10_allowed"] = await attempt(only_ten, f"http://mixed.test:{PORT}/")
        finally:
            await only_ten.close()

        loopback = HttpClient(parse_allowed_targets("127.0.0.0/8"))
        try:
            report["redirect"] = await attempt(loopback, f"http://127.0.0.1:{PORT}/redirect")
        finally:
            await loopback.close()
        await asyncio.sleep(0.2)  # a followed redirect would have landed by now

        control = HttpClient(parse_allowed_targets("10.0.0.0/8"))
        try:
            report["control"] = await attempt(control, f"http://10.0.0.1:{PORT}/control")
        finally:
            await control.close()
    finally:
        for runner in runners:
            await runner.cleanup()
    report["seen"] = seen
    return report


# ---------------------------------------------------------------- the test (on the host)


@pytest.fixture
def namespace() -> Iterator[str]:
    with netns.loopback_namespace("aw-ssrf", addresses=NS_ADDRESSES,
                                  addresses_v6=NS_ADDRESSES_V6, hosts=HOSTS) as name:
        yield name


@pytest.mark.netns
def test_forbidden_targets_never_reached_in_namespace(namespace: str) -> None:
    """Every forbidden address, spelling and name is refused and no listener sees a request."""
    links = netns.only_loopback(namespace)
    assert len(links) == 1 and ": lo:" in links[0], links  # nothing to leave the namespace by

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-m", "tests.integration.test_ssrf_netns"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])

    for case, template in zip(report["refused"], REFUSED, strict=True):
        assert case["refused"], case
        assert REFUSED[template] in case["message"], case

    mixed = report["mixed_with_10_allowed"]
    assert mixed["refused"] and "192.168.7.7 is a private address" in mixed["message"], mixed

    redirect = report["redirect"]
    assert redirect.get("status") == 302, redirect
    assert ["Location", f"http://10.0.0.1:{PORT}/redirected"] in redirect["headers"], redirect

    assert report["control"].get("status") == 200, report["control"]

    assert report["seen"] == {
        "127.0.0.1": ["GET /redirect"],  # the redirect's origin, nothing from the refusals
        "::1": [],
        "10.0.0.1": ["GET /control"],  # the positive control only: the listeners do work
        "169.254.169.254": [],
        "192.168.7.7": [],
        "fd00::1": [],
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(probe())))
