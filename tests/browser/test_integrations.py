"""Settings → Integrations in a browser: Add webhook with the seven fields, Test Connection,
Connect only after a successful test, validation next to the fields, the filterable list,
edit (re-test, save), the signing secret and Delete Channel (SPEC §2)."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PHONE, shot
from tests.receiver import Receiver

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _sent_to(receiver: Receiver, tag: str) -> list[dict[str, str]]:
    return [dict(r.headers) | {"_path": r.path, "_body": r.body.decode()}
            for r in receiver.requests if r.path.endswith("/" + tag)]


async def test_add_test_connect_edit_secret_and_delete(
    page: Page, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    """The source product's flow: fill in → Test Connection (status, latency, body or error)
    → Connect, possible only after a successful test of exactly what is on the form."""
    await page.goto("/integrations")
    await page.get_by_role("link", name="Add webhook").first.click()
    await expect(page.get_by_role("heading", name="Add webhook")).to_be_visible()
    connect = page.get_by_role("button", name="Connect", exact=True)
    await expect(connect).to_be_disabled()

    await page.get_by_label("Integration Name").fill("SIEM webhook")
    await page.get_by_label("Method").select_option("POST")
    await page.get_by_label("Webhook URL").fill(f"{receiver.url}/status/500/siem")
    await page.get_by_label("Success Codes").fill("200, 202")
    await page.get_by_label("Test Payload").fill('{"hello": "alertwire"}')
    await page.get_by_label("Description").fill("Forwards blocked actions to the SIEM.")
    await page.get_by_label("Header name 1").fill("Authorization")
    await page.get_by_label("Header value 1").fill("Bearer s3cret-value")
    await page.get_by_role("button", name="+ Add header").click()
    await page.get_by_label("Header name", exact=True).fill("X-Team")
    await page.get_by_label("Header value", exact=True).fill("secops")

    await page.get_by_role("button", name="Test Connection").click()
    result = page.locator("[data-test-result]")
    await expect(result.locator("[data-test-outcome]")).to_have_text("✗ Connection failed")
    await expect(result.locator("[data-test-status]")).to_have_text("Status code: 500")
    await expect(result.locator("[data-test-latency]")).to_contain_text(re.compile(r"\d ms"))
    await expect(result.locator("[data-test-body]")).to_have_text("answer 500")
    await expect(result.locator("[data-test-error]")).to_contain_text("not one of the success codes")
    await expect(connect).to_be_disabled()
    await shot(page, "integration-test-failed")

    await page.get_by_label("Webhook URL").fill(f"{receiver.url}/status/200/siem")
    await page.get_by_role("button", name="Test Connection").click()
    await expect(result.locator("[data-test-outcome]")).to_have_text("✓ Connection succeeded")
    await expect(result.locator("[data-test-status]")).to_have_text("Status code: 200")
    await expect(result.locator("[data-test-body]")).to_have_text("answer 200")
    await expect(connect).to_be_enabled()
    await shot(page, "integration-test-ok")

    # Any change to what is sent makes the test stale again.
    await page.get_by_label("Success Codes").fill("200, 202, 204")
    await expect(connect).to_be_disabled()
    await page.get_by_role("button", name="Test Connection").click()
    await expect(connect).to_be_enabled()

    sent = _sent_to(receiver, "siem")
    assert len(sent) == 3
    assert json.loads(sent[-1]["_body"]) == {"hello": "alertwire"}
    assert sent[-1]["Authorization"] == "Bearer s3cret-value"
    assert sent[-1]["X-Team"] == "secops"

    await connect.click()
    await expect(page.locator(".flash")).to_contain_text("Connected SIEM webhook")
    await expect(page.locator("#integration-status")).to_have_text("Active")
    assert len(_sent_to(receiver, "siem")) == 3  # Connect used the test just made
    (saved,) = (await api.get("/api/v1/integrations")).json()["items"]
    assert saved["status"] == "active"
    assert saved["success_codes"] == [200, 202, 204]
    assert saved["headers"]["X-Team"] == "secops"
    assert saved["headers"]["Authorization"] != "Bearer s3cret-value"  # masked
    assert saved["description"] == "Forwards blocked actions to the SIEM."
    await shot(page, "integration-connected")

    # Edit: a harmless change saves at once; a change to what is sent needs a new test.
    await page.get_by_label("Description").fill("SIEM of the SOC team.")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator(".flash")).to_contain_text("Saved SIEM webhook")
    await page.get_by_label("Webhook URL").fill(f"{receiver.url}/status/202/siem")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator("#form-error")).to_contain_text("run Test Connection")
    await page.get_by_role("button", name="Test Connection").click()
    await expect(page.locator("[data-test-status]")).to_have_text("Status code: 202")
    await page.get_by_role("button", name="Save", exact=True).click()
    await expect(page.locator(".flash")).to_contain_text("Saved SIEM webhook")
    await expect(page.get_by_label("Webhook URL")).to_have_value(f"{receiver.url}/status/202/siem")
    # The masked secret header was left alone on the form: the stored value was kept.
    assert _sent_to(receiver, "siem")[-1]["Authorization"] == "Bearer s3cret-value"

    # The signing secret, on demand, and copied.
    secret = (await api.get(f"/api/v1/integrations/{saved['id']}/secret")).json()["secret"]
    assert secret not in await page.content()
    await page.get_by_role("button", name="Show secret").click()
    await expect(page.locator("#signing-secret")).to_have_text(secret)
    await page.locator("[data-secret]").get_by_role("button", name="Copy").click()
    await expect(page.locator("[data-secret] [data-copy-status]")).to_have_text("Copied to the clipboard.")
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    await shot(page, "integration-edit-secret")
    await page.set_viewport_size(PHONE)
    await shot(page, "integration-edit-phone")


async def test_field_errors_list_filters_and_delete_channel(
    page: Page, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    """Invalid fields are explained next to each field; the list filters by name and status;
    Delete Channel asks for confirmation first."""
    await page.goto("/integrations/new")
    await page.get_by_label("Integration Name").fill("Teams")
    await page.get_by_label("Webhook URL").fill("ftp://example.com/hook")
    await page.get_by_label("Success Codes").fill("200, ok")
    await page.get_by_label("Test Payload").fill("{not json")
    await page.get_by_label("Header name 1").fill("Bad Header")
    await page.get_by_label("Header value 1").fill("x")
    await page.get_by_role("button", name="Save as draft").click()
    await expect(page.locator("#success_codes-error")).to_contain_text("'ok' is not a status code")
    await expect(page.locator("#test_payload-error")).to_contain_text("not valid JSON")
    await expect(page.get_by_label("Success Codes")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("Integration Name")).to_have_value("Teams")  # kept
    await shot(page, "integration-field-errors")

    await page.get_by_label("Success Codes").fill("200")
    await page.get_by_label("Test Payload").fill("")
    await page.get_by_role("button", name="Save as draft").click()
    await expect(page.locator("#url-error")).to_contain_text("http:// or https://")
    await expect(page.locator("#headers-error")).to_contain_text("not a valid header name")
    await page.get_by_label("Webhook URL").fill(f"{receiver.url}/status/200/teams")
    await page.get_by_label("Header name 1").fill("X-Source")
    await page.get_by_role("button", name="Save as draft").click()
    await expect(page.locator(".flash")).to_contain_text("Saved Teams as a draft")
    teams_url = page.url

    await api.post("/api/v1/integrations", json={"name": "Jira", "url": f"{receiver.url}/jira"})
    duplicate = await api.post("/api/v1/integrations", json={"name": "jira", "url": receiver.url})
    assert duplicate.status_code == 422
    await page.goto("/integrations/new")
    await page.get_by_label("Integration Name").fill("JIRA")
    await page.get_by_label("Webhook URL").fill(receiver.url)
    await page.get_by_role("button", name="Save as draft").click()
    await expect(page.locator("#name-error")).to_contain_text("already exists")

    await page.goto("/integrations")
    rows = page.locator("#integrations-table tbody tr")
    await expect(rows).to_have_count(3)  # with the SIEM webhook of the test before
    await page.get_by_label("Name").fill("teams")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Teams")
    await page.get_by_role("link", name="Clear").click()
    await page.get_by_label("Status").select_option("draft")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(2)
    await page.get_by_label("Status").select_option("active")
    await page.get_by_role("button", name="Filter").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("SIEM webhook")
    await page.get_by_label("Name").fill("nothing like it")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.get_by_text("No integration matches this filter.")).to_be_visible()
    await page.goto("/integrations")
    await shot(page, "integrations-list")
    await page.set_viewport_size(PHONE)
    await shot(page, "integrations-list-phone")
    await page.set_viewport_size({"width": 1280, "height": 800})

    await page.goto(teams_url)
    await page.get_by_role("link", name="Delete Channel").click()
    await expect(page.get_by_role("heading", name="Delete Channel?")).to_be_visible()
    await shot(page, "integration-delete-confirm")
    await page.get_by_role("link", name="Cancel").click()
    await expect(page).to_have_url(teams_url)
    await page.get_by_role("link", name="Delete Channel").click()
    await page.get_by_role("button", name="Delete Channel").click()
    await expect(page.locator(".flash")).to_contain_text("Deleted channel Teams")
    await expect(page.locator("#integrations-table tbody tr")).to_have_count(2)
    names = [i["name"] for i in (await api.get("/api/v1/integrations")).json()["items"]]
    assert names == ["Jira", "SIEM webhook"]
