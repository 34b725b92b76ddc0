"""A secret template option in the browser: a PagerDuty integration saved from the form shows
its routing key masked when reopened, its preview renders without revealing it, and Test
Connection still sends the real key."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PHONE, overflows_horizontally, shot
from tests.receiver import Receiver

pytestmark = pytest.mark.asyncio(loop_scope="session")

KEY = "R0uTiNgKeY0123456789abcdefABCDEF"
MASKED = "R0uT…****"


async def test_pagerduty_routing_key_masked_on_edit(
    page: Page, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    await page.goto("/integrations/new")
    preview = page.locator("[data-preview-body]")
    error = page.locator("[data-preview-error]")
    options = page.get_by_label("Template options")
    await page.get_by_label("Integration Name").fill("PagerDuty on-call")
    await page.get_by_label("Webhook URL").fill(f"{receiver.url}/status/202/pagerduty")
    await page.get_by_label("Success Codes").fill("202")
    await page.get_by_label("Template", exact=True).select_option("pagerduty")
    await expect(options).to_have_value('{\n  "routing_key": ""\n}')
    await expect(error).to_contain_text("routing_key")
    await options.fill(json.dumps({"routing_key": KEY}))
    await expect(error).to_be_hidden()
    await expect(preview).to_contain_text('"event_action": "trigger"')
    await page.get_by_role("button", name="Save as draft").click()
    await page.wait_for_url(lambda url: "/integrations/itg_" in url)

    # Reopened: masked in the options box, nowhere in the page, and the preview still works.
    await page.goto(page.url)
    await expect(options).to_have_value(f'{{\n  "routing_key": "{MASKED}"\n}}')
    await expect(preview).to_contain_text(f'"routing_key": "{MASKED}"')
    await expect(error).to_be_hidden()
    assert KEY not in await page.content()
    await shot(page, "integration-secret-option")

    await page.get_by_role("button", name="Test Connection").click()
    await expect(page.locator("[data-test-outcome]")).to_have_text("✓ Connection succeeded")
    sent = [r for r in receiver.requests if r.path.endswith("/pagerduty")]
    assert json.loads(sent[-1].body)["routing_key"] == KEY
    assert KEY not in await page.content()

    await page.set_viewport_size(PHONE)
    await page.reload()
    await expect(preview).to_contain_text(MASKED)
    assert not await overflows_horizontally(page)
    await shot(page, "integration-secret-option-phone")
    listed = (await api.get("/api/v1/integrations")).json()["items"]
    assert [i["template_options"] for i in listed if i["name"] == "PagerDuty on-call"] == [
        {"routing_key": MASKED}]
