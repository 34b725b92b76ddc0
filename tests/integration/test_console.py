"""The console over plain HTTP (no browser): sessions, the cookie's flags, CSRF on every
change, and every page rendering with real data (SPEC §8, §9)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from alertwire.console.session import COOKIE, Sealer
from tests.conftest import ADMIN_TOKEN, AppHarness
from tests.receiver import Receiver, eventually

PAGES = ("/", "/alerts", "/integrations", "/integrations/new", "/integrations/drill",
         "/triggers", "/triggers/new", "/deliveries")


@pytest.fixture
async def browser(api: AppHarness) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client without the API's bearer token, like a browser."""
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://alertwire.test") as client:
        yield client


def _csrf(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert found is not None
    return found.group(1)


async def _log_in(client: httpx.AsyncClient, token: str = ADMIN_TOKEN) -> httpx.Response:
    form = await client.get("/login")
    return await client.post("/login", data={"csrf": _csrf(form.text), "token": token,
                                             "next": "/alerts"})


async def test_every_page_but_login_needs_a_session(browser: httpx.AsyncClient) -> None:
    """Without a session each page leads to /login (remembering where the user was going)."""
    for path in PAGES:
        answer = await browser.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login"), path
    assert (await browser.get("/triggers?cursor=x")).headers["location"] == \
        "/login?next=%2Ftriggers%3Fcursor%3Dx"
    assert (await browser.get("/login")).status_code == 200


async def test_session_cookie_is_httponly_samesite_and_sealed(browser: httpx.AsyncClient) -> None:
    """Logging in sets a HttpOnly, SameSite=Lax cookie for the whole site whose content (the
    token among it) cannot be read; it is not Secure over plain http."""
    answer = await _log_in(browser)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/alerts"
    cookie = answer.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "samesite", "path", "max-age"} <= attributes
    assert "samesite=lax" in cookie.lower()
    assert "path=/" in cookie.lower()
    assert "secure" not in attributes
    assert ADMIN_TOKEN not in cookie
    page = await browser.get("/alerts")
    assert page.status_code == 200
    assert "All Alerts" in page.text
    assert "Content-Security-Policy" in page.headers


async def test_cookie_is_secure_over_https(api: AppHarness) -> None:
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://alertwire.test") as client:
        answer = await _log_in(client)
    assert "secure" in {p.strip().lower() for p in answer.headers["set-cookie"].split(";")}


async def test_posts_without_the_csrf_token_are_refused(
    browser: httpx.AsyncClient, api: AppHarness
) -> None:
    """A form posted without its CSRF token (or with another one) gets 403 and changes
    nothing; the same form with the token, or a script sending the header, goes through."""
    form = await browser.get("/login")
    csrf = _csrf(form.text)
    refused_login = await browser.post("/login", data={"token": ADMIN_TOKEN})
    assert refused_login.status_code == 403
    await browser.post("/login", data={"csrf": csrf, "token": ADMIN_TOKEN})
    csrf = _csrf((await browser.get("/alerts")).text)
    fields = {"name": "SIEM", "method": "POST", "url": "http://127.0.0.1:9/hook",
              "success_codes": "200", "action": "save"}

    missing = await browser.post("/integrations/new", data=fields)
    assert missing.status_code == 403
    assert "CSRF" in missing.text
    wrong = await browser.post("/integrations/new", data=fields | {"csrf": csrf[::-1]})
    assert wrong.status_code == 403
    script = await browser.post("/integrations/test", data=fields,
                                headers={"Accept": "application/json"})
    assert script.status_code == 403
    assert script.json()["error"] == "Forbidden"
    assert (await api.client.get("/api/v1/integrations")).json()["items"] == []

    saved = await browser.post("/integrations/new", data=fields | {"csrf": csrf})
    assert saved.status_code == 303
    assert [i["name"] for i in (await api.client.get("/api/v1/integrations")).json()["items"]] \
        == ["SIEM"]
    by_header = await browser.post("/integrations/test", data=fields,
                                   headers={"X-CSRF-Token": csrf, "Accept": "application/json"})
    assert by_header.status_code == 200
    assert by_header.json()["ok"] is False  # nothing listens on port 9

    assert (await browser.post("/logout")).status_code == 403
    out = await browser.post("/logout", data={"csrf": csrf})
    assert out.status_code == 303
    assert f'{COOKIE}=""' in out.headers["set-cookie"]
    assert (await browser.get("/alerts")).status_code == 303


async def test_forged_expired_and_revoked_sessions_lead_to_login(
    browser: httpx.AsyncClient, api: AppHarness
) -> None:
    """A cookie not sealed by this server, one past its expiry, or one whose token was
    deleted opens nothing."""
    browser.cookies.set(COOKIE, "forged", domain="alertwire.test")
    assert (await browser.get("/alerts")).status_code == 303
    sealer = Sealer(api.services.settings.secret_key)
    expired = sealer.seal("session", {"token": ADMIN_TOKEN, "csrf": "x",
                                      "expires_at": time.time() - 1})
    browser.cookies.set(COOKIE, expired, domain="alertwire.test")
    assert (await browser.get("/alerts")).status_code == 303
    other_kind = sealer.seal("test", {"token": ADMIN_TOKEN, "csrf": "x",
                                      "expires_at": time.time() + 60})
    browser.cookies.set(COOKIE, other_kind, domain="alertwire.test")
    assert (await browser.get("/alerts")).status_code == 303
    browser.cookies.clear()

    created = (await api.client.post("/api/v1/tokens", json={"name": "viewer",
                                                             "scopes": ["read"]})).json()
    assert (await _log_in(browser, created["token"])).status_code == 303
    assert (await browser.get("/integrations")).status_code == 200
    await api.client.delete(f"/api/v1/tokens/{created['id']}")
    assert (await browser.get("/integrations")).status_code == 303


async def test_login_never_redirects_off_site(browser: httpx.AsyncClient) -> None:
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        browser.cookies.clear()
        form = await browser.get("/login")
        answer = await browser.post("/login", data={"csrf": _csrf(form.text),
                                                     "token": ADMIN_TOKEN, "next": target})
        assert answer.headers["location"] == "/alerts"
    browser.cookies.clear()
    form = await browser.get("/login?next=//evil.example/")
    assert 'name="next" value="/alerts"' in form.text


async def test_every_page_renders_with_data(
    browser: httpx.AsyncClient, api: AppHarness, receiver: Receiver
) -> None:
    """Each list and detail page renders (200) with an integration, a trigger, alerts and
    deliveries in place, for an admin and for a read-only token."""
    hook = (await api.client.post("/api/v1/integrations", json={
        "name": "hook", "url": receiver.url + "/status/200",
        "headers": {"Authorization": "Bearer abcdefgh12345"}})).json()
    await api.client.post(f"/api/v1/integrations/{hook['id']}/test")
    await api.client.post(f"/api/v1/integrations/{hook['id']}/connect")
    trigger = (await api.client.post("/api/v1/triggers", json={
        "name": "all", "filter": "Action = Block", "channels": [hook["id"]]})).json()
    ids = (await api.client.post("/api/v1/alerts", json=[
        {"Action": "Block", "PolicyName": "p", "Severity": "5"},
        {"output": "x", "priority": "Error", "rule": "Write below binary dir",
         "output_fields": {"proc.name": "touch"}}])).json()["ids"]

    async def delivered() -> bool:
        items = (await api.client.get("/api/v1/deliveries")).json()["items"]
        return bool(items) and items[0]["status"] == "delivered"

    await eventually(delivered)
    (delivery,) = (await api.client.get("/api/v1/deliveries")).json()["items"]
    reader = (await api.client.post("/api/v1/tokens", json={"name": "r", "scopes": ["read"]})
              ).json()["token"]
    details = (f"/integrations/{hook['id']}", f"/integrations/{hook['id']}/delete",
               f"/triggers/{trigger['id']}", f"/triggers/{trigger['id']}/delete",
               f"/alerts/{ids[0]}", f"/alerts/{ids[1]}", f"/deliveries/{delivery['id']}",
               f"/deliveries?integration_id={hook['id']}&status=delivered",
               "/alerts?filter=rule%20%3D%20%22Write%20below%20binary%20dir%22",
               "/alerts?filter=(Action", "/integrations?search=ho&status=active")
    for token in (ADMIN_TOKEN, reader):
        browser.cookies.clear()
        await _log_in(browser, token)
        for path in (*PAGES[1:], *details):
            page = await browser.get(path)
            assert page.status_code == 200, (token, path, page.text[:500])
        assert "abcdefgh12345" not in (await browser.get(f"/integrations/{hook['id']}")).text
    assert (await browser.get("/alerts/alr_missing")).status_code == 404
    assert "Not found" in (await browser.get("/deliveries/dlv_missing")).text
