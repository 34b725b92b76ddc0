"""A real HTTP receiver on 127.0.0.1 for tests: records every request, answers per path."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: list[tuple[str, str]]
    body: bytes
    at: float = 0.0  # time.time() when it arrived

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


@dataclass
class Receiver:
    """`/status/<code>` answers that code (`?retry_after=` adds the header); `/slow` sleeps
    `slow_seconds`; `/delay/<s>` answers 204 after s seconds; `/redirect` points at
    `redirect_to`; anything else is 200."""

    requests: list[Received] = field(default_factory=list)
    redirect_to: str = "http://10.0.0.1/"
    slow_seconds: float = 5.0
    url: str = ""
    port: int = 0  # 0: any free port; set to restart on the same port
    in_flight: int = 0
    max_in_flight: int = 0
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Received(
            method=request.method, path=request.path, query=dict(request.query),
            headers=list(request.headers.items()), body=await request.read(), at=time.time(),
        ))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._answer(request)
        finally:
            self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        parts = request.path.strip("/").split("/")
        if parts[0] == "status" and len(parts) > 1:
            code = int(parts[1])
            body = None if code in (204, 304) else f"answer {code}".encode()
            headers = {"X-Receiver": "yes"}
            if "retry_after" in request.query:
                headers["Retry-After"] = request.query["retry_after"]
            return web.Response(status=code, body=body, headers=headers)
        if parts[0] == "delay" and len(parts) > 1:
            await asyncio.sleep(float(parts[1]))
            return web.Response(status=204)
        if parts[0] == "slow":
            await asyncio.sleep(self.slow_seconds)
            return web.Response(status=200, text="late")
        if parts[0] == "redirect":
            raise web.HTTPFound(self.redirect_to)
        return web.Response(status=200, text="ok", headers={"X-Receiver": "yes"})

    async def start(self) -> Receiver:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 10.0) -> None:
    """Wait until `check()` holds, failing the test with a timeout otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)
