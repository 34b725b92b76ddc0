"""Browser tests: the real `alertwire serve` process, real receivers on 127.0.0.1, and Debian's
chromium driven by Playwright. Each test writes screenshots to tests/browser/screenshots/.

One browser and one receiver serve the whole run; each test module gets its own server (and
data directory), so modules do not see each other's alerts and deliveries. Test modules mark
themselves `pytest.mark.asyncio(loop_scope="session")`: the browser lives on that loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright

from tests.e2e.server import Server
from tests.receiver import Receiver

CHROMIUM = os.environ.get("ALERTWIRE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HAVE_CHROMIUM = os.path.exists(CHROMIUM)
SCREENSHOTS = Path(__file__).parent / "screenshots"
TOKEN = "aw_browser_test_admin"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    if not HAVE_CHROMIUM:
        pytest.skip(f"{CHROMIUM} is missing: `bash scripts/ensure-system-deps` installs it")
    async with async_playwright() as started:
        yield started


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield launched
    finally:
        await launched.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    started = await Receiver().start()
    try:
        yield started
    finally:
        await started.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    running = Server(tmp_path_factory.mktemp("console") / "data", env={
        "ALERTWIRE_ADMIN_TOKEN": TOKEN,
        "ALERTWIRE_ALLOWED_TARGETS": "127.0.0.0/8",
        # A failed delivery waits long enough to be seen as failed and retried by hand.
        "ALERTWIRE_RETRY_SCHEDULE": "60,60",
        "ALERTWIRE_DELIVERY_TIMEOUT": "5",
    })
    await asyncio.to_thread(running.start)
    try:
        yield running
    finally:
        await asyncio.to_thread(running.stop)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def api(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    """The JSON API as admin: to arrange what a test starts from and to check the outcome."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                 headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser, server: Server) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile; at the end, proof that the console loaded nothing from
    anywhere but alertwire itself (no CDN) and that no script failed."""
    created = await browser.new_context(viewport=DESKTOP, base_url=server.url)
    await created.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    requested: list[str] = []
    problems: list[str] = []
    created.on("request", lambda request: requested.append(request.url))
    created.on("weberror", lambda error: problems.append(str(error.error)))
    created.on("console", lambda message: problems.append(message.text)
               if message.type == "error" and not message.text.startswith("Failed to load resource")
               else None)
    try:
        yield created
    finally:
        await created.close()
    foreign = [url for url in requested
               if not url.startswith(server.url) and not url.startswith("data:")]
    assert not foreign, f"the console requested other origins: {foreign}"
    # Script errors and Content-Security-Policy violations show up here.
    assert not problems, f"the browser reported errors: {problems}"


async def log_in(page: Page, token: str = TOKEN) -> None:
    await page.goto("/login")
    await page.get_by_label("API token").fill(token)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(lambda url: "/login" not in url)


@pytest_asyncio.fixture(loop_scope="session")
async def page(context: BrowserContext) -> Page:
    """A logged-in admin on the desktop size."""
    opened = await context.new_page()
    await log_in(opened)
    return opened


async def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


async def overflows_horizontally(page: Page) -> bool:
    """Whether the page scrolls sideways (tables may scroll inside their own box)."""
    result: Any = await page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth + 1")
    return bool(result)


async def post_alerts(api: httpx.AsyncClient, alerts: list[dict[str, Any]] | dict[str, Any]) -> list[str]:
    response = await api.post("/api/v1/alerts", json=alerts)
    assert response.status_code == 202, response.text
    ids: list[str] = response.json()["ids"]
    return ids
