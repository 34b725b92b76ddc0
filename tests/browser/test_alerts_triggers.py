"""Alerts → All Alerts and Triggers in a browser: the table, the §4 filter box with its
error at the position, quick filters, raw JSON, paging; Create Trigger from the filter with
Test Filter; and the trigger list: enable/disable, edit, delete (SPEC §4)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests.browser.conftest import PHONE, post_alerts, shot
from tests.fixtures import FIXTURES
from tests.receiver import Receiver

pytestmark = pytest.mark.asyncio(loop_scope="session")
NOISE = 60
SAMPLES = sorted((FIXTURES / "kubearmor" / "alerts").glob("*.json")) + sorted(
    (FIXTURES / "falco").glob("*.json"))
BLOCKED = 6  # KubeArmor samples with Action Block


def _noise(i: int) -> dict[str, Any]:
    return {"Action": "Audit", "PolicyName": f"noise-{i}", "ProcessName": "/bin/ls",
            "Severity": "2", "NamespaceName": "default", "HostName": "node-1",
            "Operation": "Process", "Type": "MatchedPolicy"}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stored(api: httpx.AsyncClient) -> int:
    """Sixty older audit alerts, then the upstream samples: 70 alerts, newest first."""
    await post_alerts(api, [_noise(i) for i in range(NOISE)])
    await post_alerts(api, [json.loads(path.read_text()) for path in SAMPLES])
    return NOISE + len(SAMPLES)


def _filter_of(page: Page) -> str:
    return parse_qs(urlsplit(page.url).query).get("filter", [""])[0]


async def test_alert_table_filter_box_quick_filters_json_and_paging(page: Page, stored: int) -> None:
    """Fifty alerts a page with the source product's columns; a syntax error is shown at its
    position; clicking a value narrows the filter; each alert's raw JSON is one click away."""
    rows = page.locator("#alerts-table tbody tr[data-alert]")
    await page.goto("/alerts")
    await expect(page.get_by_role("heading", name="All Alerts")).to_be_visible()
    headers = await page.locator("#alerts-table thead th").all_inner_texts()
    assert [h.strip() for h in headers[:6]] == [
        "TIME", "ACTION", "POLICYNAME", "PROCESSNAME", "SEVERITY", "NAMESPACE/HOST"]
    await expect(rows).to_have_count(50)
    await shot(page, "alerts-desktop")
    await page.get_by_role("link", name="Older →").click()
    await expect(rows).to_have_count(stored - 50)
    await expect(page.get_by_role("link", name="Older →")).to_have_count(0)
    await page.get_by_role("link", name="Newest").click()
    await expect(rows).to_have_count(50)

    box = page.get_by_label("Filter", exact=True)
    await box.fill("Action = ")
    await box.press("Enter")
    error = page.locator("#filter-error")
    await expect(error).to_contain_text("At position 8: expected a value, found end of expression")
    await expect(error.locator("mark")).to_have_count(1)
    await expect(box).to_have_attribute("aria-invalid", "true")
    await shot(page, "alerts-filter-error")

    await box.fill("Action = Audit AND Severity >= 8")
    await page.get_by_role("button", name="Apply").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator('[data-column="PolicyName"]')).to_have_text("ksp-vault-network")

    # Quick filters: a click on a value adds `Field = value` to the filter.
    await page.get_by_role("link", name="Clear").click()
    await rows.locator('[data-column="Action"]').get_by_role("link", name="Block", exact=True).first.click()
    assert _filter_of(page) == "Action = Block"
    await expect(box).to_have_value("Action = Block")
    await expect(rows).to_have_count(BLOCKED)
    for action in await rows.locator('[data-column="Action"]').all_inner_texts():
        assert action.strip() == "Block"
    await page.get_by_role("link", name="sleep-deny").click()
    assert _filter_of(page) == "Action = Block AND PolicyName = sleep-deny"
    await expect(rows).to_have_count(1)

    # A Falco event: its rule fills the PolicyName column, quoted when clicked.
    await page.goto("/alerts")
    await page.get_by_role("link", name="Write below binary dir").click()
    assert _filter_of(page) == 'rule = "Write below binary dir"'
    await expect(rows).to_have_count(1)

    # Raw JSON of an alert, in place and on its own page.
    await page.goto("/alerts?filter=PolicyName%20%3D%20sleep-deny")
    toggle = page.get_by_role("button", name="JSON")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-expanded", "true")
    raw = page.locator("pre.json").first
    await expect(raw).to_be_visible()
    shown = json.loads(await raw.inner_text())
    assert shown == json.loads((FIXTURES / "kubearmor/alerts/host-process-block.json").read_text())
    await shot(page, "alerts-raw-json")
    await page.set_viewport_size(PHONE)
    await page.goto("/alerts")
    await shot(page, "alerts-phone", full_page=False)
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.goto("/alerts?filter=PolicyName%20%3D%20sleep-deny")
    await rows.first.locator("td").first.get_by_role("link").click()
    await expect(page.get_by_role("heading", name="Raw JSON, as received")).to_be_visible()
    assert json.loads(await page.locator("#raw-json").inner_text()) == shown
    await shot(page, "alert-detail")


async def test_create_trigger_from_filter_test_filter_and_manage_triggers(
    page: Page, api: httpx.AsyncClient, receiver: Receiver, stored: int
) -> None:
    """Create Trigger carries the alert filter over; Test Filter counts the stored alerts that
    match (threat level included) and shows a sample; errors sit next to their fields; the
    trigger list enables, disables, edits and deletes."""
    hook = (await api.post("/api/v1/integrations", json={
        "name": "SOC webhook", "url": f"{receiver.url}/status/200/soc"})).json()
    await api.post(f"/api/v1/integrations/{hook['id']}/test")
    assert (await api.post(f"/api/v1/integrations/{hook['id']}/connect")).status_code == 200

    await page.goto("/alerts?filter=Action%20%3D%20Block")
    await page.get_by_role("link", name="Create Trigger").click()
    await expect(page.get_by_role("heading", name="Create Trigger")).to_be_visible()
    filter_box = page.get_by_label("Filter", exact=True)
    await expect(filter_box).to_have_value("Action = Block")

    await page.get_by_role("button", name="Test Filter").click()
    result = page.locator("[data-filter-result]")
    await expect(result).to_contain_text(f"{BLOCKED} of {stored} stored alerts match.")
    await expect(result.locator("tbody tr")).to_have_count(BLOCKED)
    await shot(page, "trigger-test-filter")
    await page.get_by_label("Threat level").select_option("medium")
    await page.get_by_role("button", name="Test Filter").click()
    await expect(result).to_contain_text(f"2 of {stored} stored alerts match.")

    await filter_box.fill("Action = Block AND")
    await page.get_by_role("button", name="Test Filter").click()
    await expect(page.locator("#filter-error")).to_contain_text("At position 18: expected a field name")
    await expect(filter_box).to_have_attribute("aria-invalid", "true")

    await page.get_by_role("button", name="Save trigger").click()
    await expect(page.locator("#name-error")).to_have_text("Is required")
    await expect(page.locator("#channels-error")).to_be_visible()
    await expect(page.locator("#filter-error")).to_contain_text("expected a field name")
    await shot(page, "trigger-form-errors")

    await page.get_by_label("Name").fill("Blocked actions")
    await page.get_by_label("Filter", exact=True).fill("Action = Block")
    await page.get_by_label("SOC webhook").check()
    await page.get_by_label("Frequency").select_option("realtime")
    await page.get_by_label("Threat level").select_option("")
    await page.get_by_role("button", name="Save trigger").click()
    await expect(page.locator(".flash")).to_contain_text("Created trigger Blocked actions")
    row = page.locator('#triggers-table tr[data-trigger="Blocked actions"]')
    await expect(row).to_contain_text("Action = Block")
    await expect(row).to_contain_text("SOC webhook")
    await expect(row).to_contain_text("As it happens")
    await expect(row.locator("[data-enabled]")).to_have_text("Enabled")
    await shot(page, "triggers-list")

    await row.get_by_role("button", name="Disable").click()
    await expect(row.locator("[data-enabled]")).to_have_text("Disabled")
    (saved,) = (await api.get("/api/v1/triggers")).json()["items"]
    assert saved["enabled"] is False
    await row.get_by_role("button", name="Enable").click()
    await expect(row.locator("[data-enabled]")).to_have_text("Enabled")

    await row.get_by_role("link", name="Edit").click()
    await page.get_by_label("Name").fill("Blocked actions, daily")
    await page.get_by_label("Frequency").select_option("daily")
    await page.get_by_label("Threat level").select_option("high")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator(".flash")).to_contain_text("Saved trigger Blocked actions, daily")
    (saved,) = (await api.get("/api/v1/triggers")).json()["items"]
    assert (saved["frequency"], saved["threat_level"], saved["channels"]) == (
        "daily", "high", [hook["id"]])
    await page.set_viewport_size(PHONE)
    await shot(page, "triggers-list-phone")
    await page.set_viewport_size({"width": 1280, "height": 800})

    row = page.locator('#triggers-table tr[data-trigger="Blocked actions, daily"]')
    await row.get_by_role("link", name="Delete").click()
    await expect(page.get_by_role("heading", name="Delete trigger?")).to_be_visible()
    await page.get_by_role("button", name="Delete trigger").click()
    await expect(page.locator(".flash")).to_contain_text("Deleted trigger")
    assert (await api.get("/api/v1/triggers")).json()["items"] == []
