"""Logging in with a token, the session cookie, CSRF protection and logging out (SPEC §8)."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import BrowserContext, expect

from tests.browser.conftest import PHONE, TOKEN, log_in, shot

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_login_session_cookie_csrf_and_logout(context: BrowserContext) -> None:
    """Pages need a session (they lead to /login and back); a wrong token is refused; the
    cookie is HttpOnly and SameSite; a form posted without its CSRF token gets 403; logging
    out ends the session."""
    page = await context.new_page()
    await page.goto("/integrations?status=active")
    await expect(page).to_have_url("/login?next=%2Fintegrations%3Fstatus%3Dactive")
    await expect(page.get_by_role("heading", name="Log in to alertwire")).to_be_visible()
    await shot(page, "login-desktop")

    await page.get_by_label("API token").fill("aw_not_a_token")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("Unknown or revoked token")
    await expect(page.get_by_label("API token")).to_have_attribute("aria-invalid", "true")

    await page.get_by_label("API token").fill(TOKEN)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url("/integrations?status=active")
    await expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    (cookie,) = [c for c in await context.cookies() if c["name"] == "alertwire_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/"
    assert TOKEN not in cookie["value"]  # sealed, not readable
    assert await page.evaluate("document.cookie") == ""  # out of reach of scripts

    # A real form posted by the browser, its CSRF field removed: refused, nothing done.
    await page.evaluate("document.querySelector('form[action=\"/logout\"] input[name=csrf]').remove()")
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", name="Forbidden")).to_be_visible()
    await expect(page.locator("#error-message")).to_contain_text("CSRF token")
    await shot(page, "csrf-refused")
    answer = await page.request.post("/logout", form={"csrf": "wrong"})
    assert answer.status == 403

    await page.goto("/alerts")
    await expect(page.get_by_role("heading", name="All Alerts")).to_be_visible()
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url("/login")
    after = [c["value"] for c in await context.cookies() if c["name"] == "alertwire_session"]
    assert cookie["value"] not in after  # the logged-in session is gone
    await page.goto("/deliveries")
    await expect(page).to_have_url("/login?next=%2Fdeliveries")


async def test_read_token_browses_but_cannot_change(
    context: BrowserContext, api: httpx.AsyncClient
) -> None:
    """A `read` token sees every page without the buttons that change things, and a change
    posted anyway is refused; an `ingest` token cannot log in at all."""
    created = await api.post("/api/v1/tokens", json={"name": "dashboard", "scopes": ["read"]})
    reader = created.json()["token"]
    ingest = (await api.post("/api/v1/tokens", json={"name": "falco", "scopes": ["ingest"]})
              ).json()["token"]
    page = await context.new_page()
    await page.set_viewport_size(PHONE)
    await page.goto("/login")
    await shot(page, "login-phone")
    await page.get_by_label("API token").fill(ingest)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_contain_text("may only send alerts")

    await log_in(page, reader)
    await expect(page.get_by_text("read only")).to_be_visible()
    await page.goto("/integrations")
    await expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    await expect(page.get_by_role("link", name="Add webhook")).to_have_count(0)
    csrf = await page.locator('meta[name="csrf-token"]').get_attribute("content")
    refused = await page.request.post("/integrations/new", form={
        "csrf": csrf or "", "name": "sneaky", "url": "http://127.0.0.1:9/"})
    assert refused.status == 403
    assert "changes need admin" in await refused.text()
    assert (await api.get("/api/v1/integrations")).json()["items"] == []
