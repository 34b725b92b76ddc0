"""Storm control in a browser (SPEC §4): a throttled trigger and a daily digest in a time
zone made and edited in the trigger form; a silence with a filter that keeps a matching alert
stored but undelivered; and per alert, the triggers it fired and the deliveries it caused."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, post_alerts, shot
from tests.receiver import Receiver, eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def hook(api: httpx.AsyncClient, receiver: Receiver) -> dict[str, Any]:
    """An active integration answering 204."""
    made = (await api.post("/api/v1/integrations", json={
        "name": "SOC webhook", "url": f"{receiver.url}/status/204/storm"})).json()
    await api.post(f"/api/v1/integrations/{made['id']}/test")
    assert (await api.post(f"/api/v1/integrations/{made['id']}/connect")).status_code == 200
    return made


async def test_throttled_and_daily_triggers_in_the_form(
    page: Page, api: httpx.AsyncClient, hook: dict[str, Any]
) -> None:
    """Create Trigger from the alert filter with a throttle (group-by fields and a period), a
    daily digest in Europe/Berlin; a bad period or time zone is shown next to its field; both
    are listed with their frequency and throttle, and edits are saved."""
    await page.goto("/alerts?filter=Action%20%3D%20Block")
    await page.get_by_role("link", name="Create Trigger").click()
    await page.get_by_label("Name").fill("Block storm")
    await page.get_by_label("SOC webhook").check()
    await page.get_by_label("Group by fields").fill("PolicyName, HostName")
    await page.get_by_label("Period").fill("10 minutes")
    await page.get_by_role("button", name="Save trigger").click()
    await expect(page.locator("#throttle-error")).to_contain_text("is not a duration")
    await expect(page.get_by_label("Group by fields")).to_have_value("PolicyName, HostName")
    await shot(page, "storm-trigger-form-error")
    await page.get_by_label("Period").fill("10m")
    await shot(page, "storm-trigger-form")
    await page.get_by_role("button", name="Save trigger").click()
    await expect(page.locator(".flash")).to_contain_text("Created trigger Block storm")

    await page.get_by_role("link", name="Create Trigger").click()
    await page.get_by_label("Name").fill("Nightly summary")
    await page.get_by_label("Filter", exact=True).fill("Severity >= 5")
    await page.get_by_label("SOC webhook").check()
    await page.get_by_label("Frequency").select_option("daily")
    await page.get_by_label("Time zone").fill("Europe/Atlantis")
    await page.get_by_role("button", name="Save trigger").click()
    await expect(page.locator("#timezone-error")).to_contain_text("is not an IANA time zone")
    await page.get_by_label("Time zone").fill("Europe/Berlin")
    await page.get_by_role("button", name="Save trigger").click()
    await expect(page.locator(".flash")).to_contain_text("Created trigger Nightly summary")

    storm = page.locator('#triggers-table tr[data-trigger="Block storm"]')
    nightly = page.locator('#triggers-table tr[data-trigger="Nightly summary"]')
    await expect(storm.locator("[data-throttle]")).to_have_text(
        "Throttle: 1 per 10m by PolicyName, HostName")
    await expect(nightly.locator("[data-frequency]")).to_contain_text("Daily digest (Europe/Berlin)")
    await shot(page, "storm-triggers-list")
    await page.set_viewport_size(PHONE)
    await shot(page, "storm-triggers-list-phone")
    await page.set_viewport_size(DESKTOP)

    await nightly.get_by_role("link", name="Edit").click()
    await expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    await page.get_by_label("Frequency").select_option("weekly")
    await page.get_by_label("Time zone").fill("America/New_York")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(nightly.locator("[data-frequency]")).to_contain_text(
        "Weekly digest (America/New_York)")
    await storm.get_by_role("link", name="Edit").click()
    await page.get_by_label("Period").fill("1h")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(storm.locator("[data-throttle]")).to_have_text(
        "Throttle: 1 per 1h by PolicyName, HostName")
    saved = {t["name"]: t for t in (await api.get("/api/v1/triggers")).json()["items"]}
    assert saved["Block storm"]["throttle"] == {"group_by": ["PolicyName", "HostName"],
                                                "period": "1h"}
    assert (saved["Nightly summary"]["frequency"], saved["Nightly summary"]["timezone"]) == (
        "weekly", "America/New_York")


async def test_silence_keeps_a_matching_alert_stored_but_not_delivered(
    page: Page, api: httpx.AsyncClient, receiver: Receiver, hook: dict[str, Any]
) -> None:
    """A silence made on /silences (after its filter error is shown at the position) mutes a
    matching alert: it is stored, not delivered, marked silenced on the list and its page,
    and counted; ending the silence asks first."""
    await page.get_by_role("link", name="Silences").click()
    await expect(page.get_by_role("heading", name="Silences")).to_be_visible()
    await page.get_by_label("Filter", exact=True).fill("NamespaceName =")
    await page.get_by_label("Duration").fill("2h")
    await page.get_by_label("Comment").fill("staging upgrade")
    await page.get_by_role("button", name="Create silence").click()
    error = page.locator("#filter-error")
    await expect(error).to_contain_text("At position 15")
    await expect(error.locator("mark")).to_have_count(1)
    await page.get_by_label("Filter", exact=True).fill("NamespaceName = staging")
    await page.get_by_role("button", name="Create silence").click()
    await expect(page.locator(".flash")).to_contain_text("Silence created")
    row = page.locator("#silences-table tbody tr").first
    await expect(row.locator("[data-state]")).to_have_text("active")

    (muted,) = await post_alerts(api, {"Action": "Block", "PolicyName": "ksp-upgrade",
                                       "HostName": "stg-1", "NamespaceName": "staging"})
    assert (await api.get(f"/api/v1/alerts/{muted}")).status_code == 200
    assert (await api.get("/api/v1/deliveries", params={"alert_id": muted})).json()["items"] == []
    await page.reload()
    await expect(row.locator("[data-muted]")).to_have_text("1 alert")
    await shot(page, "silences")
    await page.set_viewport_size(PHONE)
    await shot(page, "silences-phone")
    await page.set_viewport_size(DESKTOP)

    await page.goto("/alerts")
    fan_out = page.locator(f'tr[data-alert="{muted}"] [data-fan-out]')
    await expect(fan_out).to_have_text("silenced")
    await page.goto(f"/alerts/{muted}")
    await expect(page.locator("[data-silenced]")).to_contain_text(
        "Muted by the silence staging upgrade")
    await expect(page.locator("#deliveries-table")).to_have_count(0)

    await page.goto("/silences")
    await row.get_by_role("link", name="End now").click()
    await expect(page.get_by_role("heading", name="End silence?")).to_be_visible()
    await page.get_by_role("button", name="End silence now").click()
    await expect(row.locator("[data-state]")).to_have_text("expired")
    await expect(row.get_by_role("link", name="End now")).to_have_count(0)


async def test_alerts_show_triggers_fired_and_deliveries(
    page: Page, api: httpx.AsyncClient, receiver: Receiver, hook: dict[str, Any]
) -> None:
    """An alert that fired the throttled trigger shows `1 delivery` on the list; its page
    names the trigger and lists the delivery with its integration, status and link."""
    (sent,) = await post_alerts(api, {"Action": "Block", "PolicyName": "ksp-block",
                                      "HostName": "prod-1", "Severity": "2"})

    async def delivered() -> bool:
        items = (await api.get("/api/v1/deliveries", params={"alert_id": sent})).json()["items"]
        return [d["status"] for d in items] == ["delivered"]

    await eventually(delivered)
    await page.goto("/alerts")
    fan_out = page.locator(f'tr[data-alert="{sent}"] [data-fan-out]')
    await expect(fan_out).to_have_text("1 delivery")
    await shot(page, "alerts-fan-out")
    await page.set_viewport_size(PHONE)
    await shot(page, "alerts-fan-out-phone", full_page=False)
    await page.set_viewport_size(DESKTOP)

    await fan_out.get_by_role("link").click()
    await expect(page.locator("#triggers-fired")).to_contain_text("Block storm")
    delivery = page.locator("#deliveries-table tbody tr")
    await expect(delivery).to_have_count(1)
    await expect(delivery.locator("[data-status]")).to_have_text("delivered")
    await expect(delivery).to_contain_text("SOC webhook")
    await shot(page, "alert-fan-out")
    await page.set_viewport_size(PHONE)
    await shot(page, "alert-fan-out-phone")
    await page.set_viewport_size(DESKTOP)
    (made,) = (await api.get("/api/v1/deliveries", params={"alert_id": sent})).json()["items"]
    await delivery.get_by_role("link", name="Details").click()
    await expect(page).to_have_url(re.compile(f"/deliveries/{made['id']}$"))
