"""Run fire drill in a browser (issue #12): from the Integrations page, the report as a table
of every integration (delivered or skipped, status code, latency, reason) and the labelled
alert that was sent."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PHONE, overflows_horizontally, shot
from tests.receiver import Receiver

pytestmark = pytest.mark.asyncio(loop_scope="session")
LABEL = "[alertwire fire drill — test, no action needed]"


async def test_run_fire_drill_from_the_integrations_page(
    page: Page, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    """Clicking Run fire drill sends the labelled alert to the active integration its trigger
    matches and shows it delivered (204, a latency); the draft one is skipped, saying why."""
    url = f"{receiver.url}/status/204/drill-ok"
    ok = (await api.post("/api/v1/integrations", json={"name": "drill-ok", "url": url})).json()
    assert (await api.post(f"/api/v1/integrations/{ok['id']}/test")).json()["ok"]
    assert (await api.post(f"/api/v1/integrations/{ok['id']}/connect")).status_code == 200
    draft = (await api.post("/api/v1/integrations", json={
        "name": "drill-draft", "url": f"{receiver.url}/status/204/drill-draft"})).json()
    made = await api.post("/api/v1/triggers", json={
        "name": "drill-blocks", "filter": "Action = Block", "channels": [ok["id"], draft["id"]]})
    assert made.status_code == 201, made.text
    before = len(receiver.requests)

    await page.goto("/integrations")
    await page.get_by_role("link", name="Run fire drill").click()
    await expect(page.get_by_role("heading", name="Fire drill")).to_be_visible()
    await expect(page.locator("#drill-reach")).to_contain_text("drill-ok")
    assert len(receiver.requests) == before  # asked first: nothing sent yet
    await page.get_by_role("button", name="Send the drill now").click()

    delivered = page.locator('#drill-table tr[data-integration="drill-ok"]')
    await expect(delivered.locator("[data-drill-result]")).to_have_text("delivered")
    await expect(delivered.locator("[data-drill-status]")).to_have_text("204")
    await expect(delivered.locator("[data-drill-latency]")).to_have_text(re.compile(r"\d ms$"))
    await expect(delivered.locator("[data-drill-reason]")).to_have_text("")
    skipped = page.locator('#drill-table tr[data-integration="drill-draft"]')
    await expect(skipped.locator("[data-drill-result]")).to_have_text("skipped")
    await expect(skipped.locator("[data-drill-reason]")).to_have_text(
        "integration is a draft (not connected)")
    await expect(page.locator("#drill-summary")).to_contain_text("1 delivered")
    await expect(page.locator("#drill-alert")).to_contain_text(LABEL)
    await shot(page, "fire-drill")

    sent = [r for r in receiver.requests[before:] if r.path.startswith("/status/204/drill")]
    assert [r.path for r in sent] == ["/status/204/drill-ok"]
    assert json.loads(sent[0].body)["Message"].startswith(LABEL)

    await page.set_viewport_size(PHONE)
    assert not await overflows_horizontally(page)
    await shot(page, "fire-drill-phone")
