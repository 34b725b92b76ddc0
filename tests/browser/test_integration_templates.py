"""The integration form's destination templates in a browser: the template choice, its
options, a live preview with errors (and the line, for a custom template), and Test
Connection sending the rendered body (SPEC §6)."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PHONE, overflows_horizontally, shot
from tests.receiver import Receiver

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_choose_template_preview_and_test(
    page: Page, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    await page.goto("/integrations/new")
    preview = page.locator("[data-preview-body]")
    error = page.locator("[data-preview-error]")
    options = page.get_by_label("Template options")
    # raw: the sample alert exactly.
    await expect(preview).to_contain_text('"PolicyName": "harden-mysql-file-integrity-monitoring"')

    await page.get_by_label("Template", exact=True).select_option("slack")
    await expect(preview).to_contain_text('"blocks"')
    await expect(preview).to_contain_text("harden-mysql-file-integrity-monitoring")
    await expect(page.locator('[data-template-help="slack"]')).to_be_visible()
    await expect(page.locator('[data-template-help="raw"]')).to_be_hidden()

    # Jira: the options box starts from its required option; left empty, the preview says so.
    await page.get_by_label("Template", exact=True).select_option("jira")
    await expect(options).to_have_value('{\n  "project_key": ""\n}')
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("project_key")
    await options.fill('{"project_key": "SEC"}')
    await expect(error).to_be_hidden()
    await expect(preview).to_contain_text('"key": "SEC"')
    await shot(page, "integration-template-preview")

    # custom: a template that fails shows its line.
    await page.get_by_label("Template", exact=True).select_option("custom")
    await options.fill(json.dumps({"template": '{"p": "{{ alert.PolicyName }}",\n"x": {{ 1 / 0 }}}'}))
    await expect(error).to_contain_text("template line 2")
    await shot(page, "integration-template-error")

    # Back to Jira, then save and test: the receiver gets the rendered issue.
    await page.get_by_label("Template", exact=True).select_option("jira")
    await options.fill('{"project_key": "SEC", "issue_type": "Bug"}')
    await expect(preview).to_contain_text('"Bug"')
    await page.get_by_label("Integration Name").fill("Jira tickets")
    await page.get_by_label("Webhook URL").fill(f"{receiver.url}/status/201/jira")
    await page.get_by_label("Success Codes").fill("201")
    await page.get_by_role("button", name="Test Connection").click()
    await expect(page.locator("[data-test-outcome]")).to_have_text("✓ Connection succeeded")
    sent = [r for r in receiver.requests if r.path.endswith("/jira")]
    body = json.loads(sent[-1].body)
    assert body["fields"]["project"]["key"] == "SEC"
    assert body["fields"]["issuetype"]["name"] == "Bug"
    await page.get_by_role("button", name="Connect", exact=True).click()
    await page.wait_for_url(lambda url: "/integrations/int_" in url or "/integrations/" in url)
    saved = [i for i in (await api.get("/api/v1/integrations")).json()["items"]
             if i["name"] == "Jira tickets"]
    assert [(i["status"], i["template"], i["template_options"]) for i in saved] == [
        ("active", "jira", {"project_key": "SEC", "issue_type": "Bug"})]

    await page.set_viewport_size(PHONE)
    await page.goto(f"/integrations/{saved[0]['id']}")
    await expect(page.get_by_label("Template", exact=True)).to_have_value("jira")
    await expect(preview).to_contain_text('"key": "SEC"')
    assert not await overflows_horizontally(page)
    await shot(page, "integration-template-phone")
