"""The seed's whole story in a browser, as a new user lives it: add an integration → Test
Connection → Connect → Create Trigger from `Action = Block` → `alertwire simulate
file-integrity` → the delivery appears as delivered with the raw payload. Then every page at
1280×800 and at phone width, and the console driven by the keyboard alone."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, TOKEN, overflows_horizontally, shot
from tests.e2e.server import REPO, Server, alertwire_cmd
from tests.receiver import Received, Receiver, eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _nav(page: Page, section: str) -> None:
    await page.get_by_role("navigation", name="Main").get_by_role("link", name=section).click()


def _deliveries_to(receiver: Receiver, path: str) -> list[Received]:
    """What reached `path` as deliveries (Test Connection sends `webhook-id: msg_test_…`)."""
    return [r for r in receiver.requests
            if r.path == path and (r.header("webhook-id") or "").startswith("dlv_")]


async def test_seed_story_from_integration_to_delivered_payload(
    page: Page, server: Server, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    """Nothing set up but the console: the simulated KubeArmor alert reaches the receiver,
    and its delivery reads as delivered, with the exact payload the receiver got."""
    await page.goto("/")
    await expect(page).to_have_url("/alerts")
    await _nav(page, "Integrations")
    await page.get_by_role("link", name="Add webhook").first.click()
    await page.get_by_label("Integration Name").fill("SOC SIEM")
    await page.get_by_label("Webhook URL").fill(f"{receiver.url}/status/202/story")
    await page.get_by_label("Header name 1").fill("X-Api-Key")
    await page.get_by_label("Header value 1").fill("story-key-123")
    await page.get_by_role("button", name="Test Connection").click()
    await expect(page.locator("[data-test-outcome]")).to_have_text("✓ Connection succeeded")
    await page.get_by_role("button", name="Connect", exact=True).click()
    await expect(page.locator("#integration-status")).to_have_text("Active")
    await shot(page, "story-1-connected")

    await _nav(page, "Alerts")
    await page.get_by_label("Filter", exact=True).fill("Action = Block")
    await page.get_by_role("button", name="Apply").click()
    await page.get_by_role("link", name="Create Trigger").click()
    await expect(page.get_by_label("Filter", exact=True)).to_have_value("Action = Block")
    await page.get_by_label("Name").fill("Blocked actions")
    await page.get_by_label("SOC SIEM").check()
    await page.get_by_role("button", name="Test Filter").click()
    await expect(page.locator("[data-filter-result]")).to_contain_text("0 of 0 stored alerts match.")
    await page.get_by_role("button", name="Save trigger").click()
    await expect(page.locator(".flash")).to_contain_text("Created trigger Blocked actions")
    await shot(page, "story-2-trigger")

    env = os.environ | {"ALERTWIRE_URL": server.url, "ALERTWIRE_TOKEN": TOKEN}
    simulated = await asyncio.to_thread(
        subprocess.run, alertwire_cmd("simulate", "file-integrity"), cwd=REPO, env=env,
        capture_output=True, text=True, timeout=60)
    assert simulated.returncode == 0, simulated.stderr
    alert_id = simulated.stdout.strip().rsplit(" ", 1)[-1]
    await eventually(lambda: bool(_deliveries_to(receiver, "/status/202/story")), timeout=15)
    (got,) = _deliveries_to(receiver, "/status/202/story")
    assert got.header("X-Api-Key") == "story-key-123"

    await _nav(page, "Deliveries")
    row = page.locator("#deliveries-table tbody tr").first
    await expect(row.locator("[data-status]")).to_have_text("delivered")
    await expect(row).to_contain_text("SOC SIEM")
    await expect(row).to_contain_text("Blocked actions")
    await expect(row).to_contain_text("202")
    await shot(page, "story-3-deliveries")
    await row.get_by_role("link", name="Details").click()
    await expect(page.locator("#delivery-status")).to_have_text("delivered")
    payload = await page.locator("#payload").inner_text()
    assert payload.encode() == got.body  # the raw payload, byte for byte
    stored = (await api.get(f"/api/v1/alerts/{alert_id}")).text
    assert stored.endswith(f', "alert": {payload}}}')
    assert json.loads(payload)["Action"] == "Block"
    await expect(page.locator("[data-attempt] [data-status-code]")).to_have_text("202")
    await expect(page.locator("[data-attempt]")).to_contain_text(f"webhook-id{got.header('webhook-id')}")
    await shot(page, "story-4-delivery")


async def test_every_page_is_tidy_at_desktop_and_phone_width(
    page: Page, api: httpx.AsyncClient
) -> None:
    """No page scrolls sideways at 1280×800 or 390×844 (wide tables scroll in their box or
    become cards), and every page names itself in a heading. (Runs on the story's data.)"""
    (delivery,) = [d["id"] for d in (await api.get("/api/v1/deliveries")).json()["items"]]
    paths = ["/alerts", "/alerts?filter=Action%20%3D%20Block", "/triggers", "/integrations",
             "/integrations/new", "/triggers/new?filter=Action%20%3D%20Block", "/deliveries",
             f"/deliveries/{delivery}"]
    for size, label in ((DESKTOP, "desktop"), (PHONE, "phone")):
        await page.set_viewport_size(size)
        for path in paths:
            await page.goto(path)
            await expect(page.locator("h1")).to_be_visible()
            assert not await overflows_horizontally(page), f"{path} scrolls sideways ({label})"
        for path, name in (("/alerts", "alerts"), ("/triggers", "triggers"),
                           ("/deliveries", "deliveries"), (f"/deliveries/{delivery}", "delivery")):
            await page.goto(path)
            await shot(page, f"story-{name}-{label}")


async def test_keyboard_alone_reaches_and_operates_the_console(page: Page) -> None:
    """From the top of a page, Tab reaches the skip link, the navigation and the filter box
    (each with a visible focus ring), and Enter/Space operate links and buttons."""
    await page.goto("/alerts")
    await page.keyboard.press("Tab")
    focused = page.locator(":focus")
    await expect(focused).to_have_text("Skip to content")
    await expect(focused).to_be_in_viewport()
    await page.keyboard.press("Enter")  # to the content
    reached: list[str] = []
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "filter":
            break
        reached.append(await page.evaluate("document.activeElement.textContent.trim()"))
    else:
        raise AssertionError(f"the filter box was not reached by Tab: {reached}")
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    await page.keyboard.type("Action = Block")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url("/alerts?filter=Action+%3D+Block")

    json_button = page.get_by_role("button", name="JSON").first
    await json_button.focus()
    await page.keyboard.press("Enter")
    await expect(json_button).to_have_attribute("aria-expanded", "true")
    await page.keyboard.press("Space")
    await expect(json_button).to_have_attribute("aria-expanded", "false")

    # From the top again, Tab walks the navigation; Enter follows a link.
    await page.goto("/alerts")
    names = []
    for _ in range(7):
        await page.keyboard.press("Tab")
        names.append(await page.evaluate("document.activeElement.textContent.trim()"))
    assert {"Alerts", "Triggers", "Silences", "Integrations", "Deliveries"} <= set(names)
    while await page.evaluate("document.activeElement.textContent.trim()") != "Deliveries":
        await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Enter")
    await expect(page).to_have_url("/deliveries")
    await shot(page, "keyboard-focus", full_page=False)
