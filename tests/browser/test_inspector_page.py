"""The Inspector page in a browser: create a bin, watch requests arrive live, read one in
full (repeated headers, pretty JSON, base64), copy it as curl, export it, replay it to a
receiver and to an address the SSRF guard refuses, edit what the bin answers, delete it
with a confirmation, and the read-only view (SPEC §7)."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, log_in, overflows_horizontally, shot
from tests.e2e.server import Server
from tests.receiver import Receiver

pytestmark = pytest.mark.asyncio(loop_scope="session")
JSON_BODY = {"order": {"id": 7, "items": ["a", "b"]}, "paid": True}
BINARY_BODY = b"\xff\xfe\x00binary"


async def _downloaded(page: Page, link: Any) -> Any:
    """What clicking `link` downloads, read as JSON."""
    async with page.expect_download() as info:
        await link.click()
    download = await info.value
    return json.loads(await asyncio.to_thread(Path(await download.path()).read_text))


async def _captured(api: httpx.AsyncClient, bin_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await api.get(f"/api/v1/bins/{bin_id}/requests")).json()["items"]
    return items


async def test_live_requests_details_curl_export_and_replay(
    page: Page, api: httpx.AsyncClient, receiver: Receiver, server: Server
) -> None:
    """Requests appear while the page stays open; the details pane shows each in full; copy
    as curl, Export JSON and Replay work on it, and the SSRF guard's refusal is shown."""
    await page.goto("/alerts")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Inspector").click()
    await expect(page.get_by_role("heading", name="Bins")).to_be_visible()
    await page.get_by_label("Bin name").fill("orders")
    await page.get_by_label("Status").fill("202")
    await page.get_by_label("Content type").fill("application/json")
    await page.get_by_label("Body").fill('{"received": true}')
    await page.get_by_label("Extra headers").fill("X-Bin: orders")
    await page.get_by_role("button", name="Create bin").click()
    await expect(page.locator(".flash")).to_contain_text("Created bin orders")
    await expect(page.get_by_role("heading", name="orders", exact=True)).to_be_visible()
    (bin_,) = (await api.get("/api/v1/bins")).json()
    await expect(page.locator("#bin-url")).to_have_text(bin_["url"])
    await expect(page.locator("[data-live-status]")).to_have_text("● Live")
    await page.evaluate("window.notReloaded = true")

    async with httpx.AsyncClient(timeout=10) as sender:
        answer = await sender.post(
            bin_["url"] + "/orders?x=1&x=2", content=json.dumps(JSON_BODY).encode(),
            headers=[("Content-Type", "application/json"), ("X-Repeat", "one"),
                     ("X-Repeat", "two")])
        assert answer.status_code == 202 and answer.json() == {"received": True}
        assert answer.headers["x-bin"] == "orders"
        await expect(page.locator("#request-list li")).to_have_count(1)
        await sender.put(bin_["url"], content=BINARY_BODY)
    rows = page.locator("#request-list li")
    await expect(rows).to_have_count(2)
    assert await page.evaluate("window.notReloaded") is True  # no reload: the list is live
    await expect(rows.nth(0)).to_contain_text("PUT")
    await expect(rows.nth(1)).to_contain_text("/orders?x=1&x=2")
    binary, posted = await _captured(api, bin_["id"])

    # The first arrival was selected by itself; pick the JSON one with the keyboard.
    pane = page.locator("#request-pane")
    await expect(pane.locator("#request-method")).to_have_text("POST")
    await rows.nth(1).get_by_role("link").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#pane-title")).to_be_focused()
    await expect(rows.nth(1).get_by_role("link")).to_have_attribute("aria-current", "true")
    await expect(pane.locator("#request-query")).to_have_text("x=1&x=2")
    await expect(pane.locator("#request-size")).to_have_text(f"{posted['size']} bytes")
    await expect(pane.locator("#request-ip")).to_have_text("127.0.0.1")
    header_rows = await pane.locator("#request-headers tbody tr").all_inner_texts()
    repeats = [row.split("\t")[1] for row in header_rows if row.lower().startswith("x-repeat")]
    assert repeats == ["one", "two"]
    assert len(header_rows) == len(posted["headers"])
    await expect(pane.locator("#body-note")).to_have_text("JSON, indented for reading.")
    await expect(pane.locator("#request-body")).to_have_text(json.dumps(JSON_BODY, indent=2))
    assert not await overflows_horizontally(page)
    await shot(page, "inspector-bin-desktop", full_page=False)

    await pane.get_by_role("button", name="Copy as curl").click()
    await expect(pane.locator("[data-copy-status]")).to_have_text("Copied to the clipboard.")
    curl = await page.evaluate("navigator.clipboard.readText()")
    assert curl == await pane.locator("#curl-command").text_content()
    assert curl.startswith(f"curl -X POST '{bin_['url']}/orders?x=1&x=2'")
    assert "-H 'x-repeat: one' -H 'x-repeat: two'" in curl
    assert f"--data-raw '{json.dumps(JSON_BODY)}'" in curl

    assert await _downloaded(page, pane.get_by_role("link", name="Export JSON")) == posted

    await pane.get_by_label("Replay to URL").fill(f"{receiver.url}/status/201/replayed")
    await pane.get_by_role("button", name="Replay").click()
    result = page.locator("[data-replay-result]")
    await expect(result.locator("[data-replay-outcome]")).to_have_text("✓ Replayed")
    await expect(result.locator("[data-replay-status]")).to_have_text("Status code: 201")
    await expect(result.locator("[data-replay-body]")).to_have_text("answer 201")
    (replayed,) = [r for r in receiver.requests if r.path == "/status/201/replayed"]
    assert replayed.method == "POST" and json.loads(replayed.body) == JSON_BODY
    assert [v for k, v in replayed.headers if k.lower() == "x-repeat"] == ["one", "two"]

    # Link-local is refused even though 127.0.0.0/8 is allowed: no connection is attempted.
    sent_before = len(receiver.requests)
    await pane.get_by_label("Replay to URL").fill("http://169.254.169.254/latest/meta-data/")
    await pane.get_by_role("button", name="Replay").click()
    await expect(result.locator("[data-replay-outcome]")).to_have_text("✗ Replay failed")
    await expect(result.locator("[data-replay-error]")).to_contain_text("link-local")
    await expect(result.locator("[data-replay-latency]")).to_have_text("Latency: — ms")
    assert len(receiver.requests) == sent_before
    await shot(page, "inspector-replay-refused", full_page=False)

    await rows.nth(0).get_by_role("link").click()
    await expect(pane.locator("#request-method")).to_have_text("PUT")
    await expect(pane.locator("#body-note")).to_have_text("Not UTF-8 text: shown as base64.")
    await expect(pane.locator("#request-body")).to_have_text(base64.b64encode(BINARY_BODY).decode())
    assert page.url.endswith(f"?request={binary['id']}")
    everything = page.locator(".page-head").get_by_role("link", name="Export JSON")
    assert await _downloaded(page, everything) == [binary, posted]

    # What the bin answers is edited on the same page.
    await page.get_by_text("Settings", exact=True).click()
    await page.get_by_label("Status").fill("418")
    await page.get_by_role("button", name="Save settings").click()
    await expect(page.locator(".flash")).to_contain_text("Saved the settings of bin orders")
    await expect(page.locator("#bin-answer")).to_have_text("418 application/json")
    async with httpx.AsyncClient(timeout=10) as sender:
        assert (await sender.get(bin_["url"])).status_code == 418

    await page.set_viewport_size(PHONE)
    assert not await overflows_horizontally(page)
    await shot(page, "inspector-bin-phone")
    await page.set_viewport_size(DESKTOP)


async def test_list_copy_delete_and_read_only(
    page: Page, context: BrowserContext, api: httpx.AsyncClient
) -> None:
    """The list shows each bin's URL with a copy button; Delete asks first; a read-only
    token sees bins and requests but no way to change them."""
    kept = (await api.post("/api/v1/bins", json={"name": "kept"})).json()
    doomed = (await api.post("/api/v1/bins", json={"name": "doomed"})).json()
    await page.goto("/bins")
    row = page.locator('#bins-table tr[data-bin="kept"]')
    await expect(row).to_contain_text(kept["url"])
    await row.get_by_role("button", name="Copy the URL of kept").click()
    await expect(row.locator("[data-copy-status]")).to_have_text("Copied to the clipboard.")
    assert await page.evaluate("navigator.clipboard.readText()") == kept["url"]
    await shot(page, "inspector-bins-desktop")
    await page.set_viewport_size(PHONE)
    assert not await overflows_horizontally(page)
    await shot(page, "inspector-bins-phone")
    await page.set_viewport_size(DESKTOP)

    await page.get_by_role("link", name="Delete doomed").click()
    await expect(page.get_by_role("heading", name="Delete bin?")).to_be_visible()
    await page.get_by_role("link", name="Cancel").click()
    await expect(page.get_by_role("heading", name="doomed", exact=True)).to_be_visible()
    await page.goto("/bins")
    await page.get_by_role("link", name="Delete doomed").click()
    await page.get_by_role("button", name="Delete bin").click()
    await expect(page.locator(".flash")).to_contain_text("Deleted bin doomed")
    await expect(page.locator('#bins-table tr[data-bin="doomed"]')).to_have_count(0)
    assert doomed["id"] not in [b["id"] for b in (await api.get("/api/v1/bins")).json()]

    async with httpx.AsyncClient(timeout=10) as sender:
        await sender.post(kept["url"], content=b"hello")
    reader = (await api.post("/api/v1/tokens", json={"name": "viewer", "scopes": ["read"]})
              ).json()["token"]
    await context.clear_cookies()
    await log_in(page, reader)
    await page.goto("/bins")
    await expect(page.get_by_role("heading", name="New bin")).to_have_count(0)
    await expect(page.get_by_role("link", name="Delete kept")).to_have_count(0)
    await page.get_by_role("link", name="kept", exact=True).click()
    await expect(page.locator("#request-body")).to_have_text("hello")
    await expect(page.get_by_role("button", name="Replay")).to_be_disabled()
    await page.get_by_text("Settings", exact=True).click()
    await expect(page.get_by_label("Status")).to_be_disabled()
    await expect(page.get_by_role("button", name="Save settings")).to_be_disabled()
    await expect(page.get_by_role("link", name="Delete bin")).to_have_count(0)
