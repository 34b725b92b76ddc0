"""The Redaction page in a browser: a rule typed into a row, previewed on the sample alert
holding credentials, then saved (SPEC §8)."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import BrowserContext, expect

from tests.browser.conftest import log_in, shot

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_preview_then_save_a_rule(context: BrowserContext, api: httpx.AsyncClient) -> None:
    page = await context.new_page()
    await log_in(page)
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Redaction").click()
    await expect(page.get_by_role("heading", name="Redaction", exact=True)).to_be_visible()
    await expect(page.locator("#default-rules")).to_contain_text("url-credentials")

    await page.get_by_label("Name of rule 1").fill("hosts")
    await page.get_by_label("Field of rule 1").fill("hostname")
    await page.get_by_role("button", name="Preview on the sample").click()
    preview = page.locator("#redaction-preview")
    await expect(preview.locator("#findings")).to_contain_text("hosts")
    await expect(preview.locator("#findings")).to_contain_text("url-credentials")
    redacted = await preview.locator("#redacted-alert").inner_text()
    assert "Tr0ub4dor-3" not in redacted and "worker-2" not in redacted
    assert await preview.locator("mark.redacted").count() >= 4
    await shot(page, "redaction-preview")
    before = (await api.get("/api/v1/redaction")).json()["rules"]

    await page.get_by_role("button", name="Save rules").click()
    await expect(page.locator(".flash")).to_contain_text(
        "Redaction rules saved")
    after = (await api.get("/api/v1/redaction")).json()["rules"]
    assert before == [] and after == [{"name": "hosts", "field": "hostname"}]
    await expect(page.get_by_label("Field of rule 1")).to_have_value("hostname")
    await api.put("/api/v1/redaction", json={"rules": []})
