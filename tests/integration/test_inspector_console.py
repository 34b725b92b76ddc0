"""The Inspector console pages over plain HTTP (no browser): bins created, edited and deleted
behind the session and CSRF checks, export in the API's shape, replay through the SSRF guard,
and the session-authenticated live stream (SPEC §7, §8)."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, AppHarness
from tests.receiver import Receiver

SETTINGS = {"name": "payments", "status": "202", "content_type": "application/json",
            "body": '{"ok": true}', "headers": "X-Bin: yes\r\nX-Other: 2", "delay": "0",
            "max_requests": "50"}


@pytest.fixture
async def browser(api: AppHarness) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client without the API's bearer token, logged in as admin."""
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://alertwire.test") as client:
        await log_in(client, ADMIN_TOKEN)
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)"', html)
    assert found is not None
    return found.group(1)


async def log_in(client: httpx.AsyncClient, token: str) -> str:
    """Log in with `token`; the session's CSRF token."""
    client.cookies.clear()
    form = await client.get("/login")
    answer = await client.post("/login", data={"csrf": csrf_of(form.text), "token": token})
    assert answer.status_code == 303
    return csrf_of((await client.get("/bins")).text)


async def new_bin(api: AppHarness) -> str:
    created = await api.client.post("/api/v1/bins", json={"name": "debug"})
    bin_id: str = created.json()["id"]
    return bin_id


async def captures(api: AppHarness, bin_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await api.client.get(
        f"/api/v1/bins/{bin_id}/requests")).json()["items"]
    return items


async def test_pages_need_a_session(api: AppHarness) -> None:
    """Every inspector route leads to /login without a session, the stream included."""
    bin_id = await new_bin(api)
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://alertwire.test") as anon:
        for path in ("/bins", f"/bins/{bin_id}", f"/bins/{bin_id}/stream",
                     f"/bins/{bin_id}/export", f"/bins/{bin_id}/delete"):
            answer = await anon.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login"), path
        assert (await anon.post("/bins", data=SETTINGS)).status_code == 303


async def test_create_edit_and_delete_need_the_csrf_token(
    browser: httpx.AsyncClient, api: AppHarness
) -> None:
    """A bin is created, edited and deleted from forms; without the CSRF token nothing
    changes (403), and invalid settings are explained next to their field (422)."""
    csrf = csrf_of((await browser.get("/bins")).text)
    assert (await browser.post("/bins", data=SETTINGS)).status_code == 403
    assert (await browser.post("/bins", data=SETTINGS | {"csrf": "wrong"})).status_code == 403
    assert (await api.client.get("/api/v1/bins")).json() == []

    bad = await browser.post("/bins", data=SETTINGS | {"csrf": csrf, "status": "abc",
                                                       "delay": "11"})
    assert bad.status_code == 422
    assert 'id="status-error"' in bad.text and 'id="delay-error"' in bad.text
    assert "less than or equal to 10" in bad.text
    assert 'value="payments"' in bad.text  # what was typed is kept

    created = await browser.post("/bins", data=SETTINGS | {"csrf": csrf})
    assert created.status_code == 303
    (bin_,) = (await api.client.get("/api/v1/bins")).json()
    assert created.headers["location"] == f"/bins/{bin_['id']}"
    assert bin_["name"] == "payments" and bin_["max_requests"] == 50
    assert bin_["response"] == {"status": 202, "body": '{"ok": true}',
                                "content_type": "application/json",
                                "headers": {"X-Bin": "yes", "X-Other": "2"}, "delay": 0.0}
    page = (await browser.get(f"/bins/{bin_['id']}")).text
    assert bin_["url"] in page
    assert "X-Bin: yes\nX-Other: 2" in page  # the form shows the headers as typed

    edit = f"/bins/{bin_['id']}"
    for field, value, message in (("headers", "no colon here", "Line 1: write each header"),
                                  ("headers", "Host: x", "set by the bin itself"),
                                  ("headers", "Bad Header: x", "not a valid header name"),
                                  ("headers", "X-A: 1\nx-a: 2", "given twice"),
                                  ("max_requests", "0", "greater than or equal to 1")):
        refused = await browser.post(edit, data=SETTINGS | {"csrf": csrf, field: value})
        assert refused.status_code == 422, (field, value)
        assert message in refused.text, (field, value)
    assert (await browser.post(edit, data=SETTINGS | {"status": "500"})).status_code == 403
    saved = await browser.post(edit, data={"csrf": csrf, "name": "payments", "status": "503",
                                           "delay": "0.5", "headers": ""})
    assert saved.status_code == 303
    answer = (await api.client.get(f"/api/v1/bins/{bin_['id']}")).json()["response"]
    # Blank fields take the defaults, as in the API.
    assert answer == {"status": 503, "body": "", "content_type": "text/plain", "headers": {},
                      "delay": 0.5}

    confirm = await browser.get(f"/bins/{bin_['id']}/delete")
    assert confirm.status_code == 200 and "Delete bin?" in confirm.text
    assert (await browser.post(f"/bins/{bin_['id']}/delete")).status_code == 403
    assert len((await api.client.get("/api/v1/bins")).json()) == 1
    deleted = await browser.post(f"/bins/{bin_['id']}/delete", data={"csrf": csrf})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/bins"
    assert (await api.client.get("/api/v1/bins")).json() == []
    assert (await browser.get(f"/bins/{bin_['id']}")).status_code == 404


async def test_read_only_token_views_but_cannot_change(
    browser: httpx.AsyncClient, api: AppHarness, receiver: Receiver
) -> None:
    """A `read` token sees bins, details and exports; creating, editing, replaying and
    deleting are refused with 403 even with a valid CSRF token."""
    bin_id = await new_bin(api)
    await api.client.post(f"/hooks/{bin_id}", content=b"x")
    (item,) = await captures(api, bin_id)
    reader = (await api.client.post("/api/v1/tokens", json={"name": "r", "scopes": ["read"]})
              ).json()["token"]
    csrf = await log_in(browser, reader)
    for path in ("/bins", f"/bins/{bin_id}", f"/bins/{bin_id}?request={item['id']}",
                 f"/bins/{bin_id}/export", f"/bins/{bin_id}/delete"):
        assert (await browser.get(path)).status_code == 200, path
    for path, data in (("/bins", SETTINGS), (f"/bins/{bin_id}", SETTINGS),
                       (f"/bins/{bin_id}/requests/{item['id']}/replay", {"url": receiver.url}),
                       (f"/bins/{bin_id}/delete", {})):
        answer = await browser.post(path, data=data | {"csrf": csrf})
        assert answer.status_code == 403, path
        assert "changes need admin" in answer.text
    assert receiver.requests == []
    assert len((await api.client.get("/api/v1/bins")).json()) == 1


async def test_details_export_and_replay(
    browser: httpx.AsyncClient, api: AppHarness, receiver: Receiver
) -> None:
    """The details pane shows the request; Export JSON downloads it (or all of them) exactly
    as the API reads them; Replay reports the receiver's answer, a refusal by the SSRF guard
    (no packet sent) or an invalid URL."""
    bin_id = await new_bin(api)
    await api.client.post(f"/hooks/{bin_id}/x?q=1", content=b'{"b": [1, 2]}',
                          headers=[("X-Dup", "a"), ("X-Dup", "b")])
    await api.client.post(f"/hooks/{bin_id}", content=b"\xff\xfe")
    binary, json_item = await captures(api, bin_id)
    page = await browser.get(f"/bins/{bin_id}?request={json_item['id']}")
    assert page.status_code == 200
    assert '"b": [\n    1,\n    2\n  ]' in html.unescape(page.text)  # pretty-printed
    assert page.text.count("<th scope=\"row\">x-dup</th>") == 2
    assert "curl -X POST" in page.text
    newest = await browser.get(f"/bins/{bin_id}")  # the newest is selected by default
    assert "Not UTF-8 text: shown as base64." in newest.text
    assert binary["body_base64"] in newest.text
    assert (await browser.get(f"/bins/{bin_id}?request=req_missing")).status_code == 404

    one = await browser.get(f"/bins/{bin_id}/export", params={"request": json_item["id"]})
    assert one.headers["content-disposition"].startswith("attachment;")
    assert json.loads(one.text) == json_item
    every = await browser.get(f"/bins/{bin_id}/export")
    assert json.loads(every.text) == [binary, json_item]
    assert (await browser.get("/bins/bin_missing/export")).status_code == 404

    csrf = csrf_of(page.text)
    replay = f"/bins/{bin_id}/requests/{json_item['id']}/replay"
    assert (await browser.post(replay, data={"url": receiver.url})).status_code == 403
    done = await browser.post(replay, data={"csrf": csrf, "url": receiver.url + "/status/201"})
    assert done.status_code == 200
    assert "Status code: 201" in done.text and "answer 201" in done.text
    (got,) = receiver.requests
    assert got.body == b'{"b": [1, 2]}' and got.path == "/status/201"
    assert [v for k, v in got.headers if k.lower() == "x-dup"] == ["a", "b"]

    refused = await browser.post(replay, data={"csrf": csrf,
                                               "url": "http://169.254.169.254/latest/"})
    assert refused.status_code == 200
    assert "Replay failed" in refused.text and "link-local" in refused.text
    invalid = await browser.post(replay, data={"csrf": csrf, "url": "ftp://example.com/"})
    assert invalid.status_code == 422
    assert "http:// or https://" in invalid.text
    assert len(receiver.requests) == 1
    missing = await browser.post(f"/bins/{bin_id}/requests/req_missing/replay",
                                 data={"csrf": csrf, "url": receiver.url})
    assert missing.status_code == 404


async def test_export_of_every_request(browser: httpx.AsyncClient, api: AppHarness) -> None:
    """Export JSON of a whole bin holds every capture it keeps, newest first, however many
    pages of the store that takes; an empty bin exports an empty list."""
    bin_id = await new_bin(api)
    assert json.loads((await browser.get(f"/bins/{bin_id}/export")).text) == []
    for number in range(120):
        await api.client.post(f"/hooks/{bin_id}", content=str(number).encode())
    exported = await browser.get(f"/bins/{bin_id}/export")
    assert exported.headers["content-disposition"] == f'attachment; filename="{bin_id}.json"'
    assert [i["body"] for i in json.loads(exported.text)] == [str(n) for n in range(119, -1, -1)]


async def _stream_events(api: AppHarness, client: httpx.AsyncClient, path: str,
                         count: int) -> list[dict[str, Any]]:
    """The first `count` events of an SSE route, read straight from the ASGI app (httpx's
    ASGI transport would wait for the endless body), then a disconnect."""
    body = b""
    enough = asyncio.Event()
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())

    async def receive() -> dict[str, Any]:
        await enough.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal body
        if message["type"] == "http.response.start":
            assert message["status"] == 200
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")
            if body.count(b"event: request") >= count:
                enough.set()

    route, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": route, "raw_path": route.encode(),
             "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"alertwire.test"), (b"cookie", cookie.encode())],
             "client": ("127.0.0.1", 1), "server": ("alertwire.test", 80)}
    await asyncio.wait_for(api.app(scope, receive, send), 10)
    return [json.loads(line.removeprefix("data: ")) for line in body.decode().splitlines()
            if line.startswith("data: ")]


async def test_live_stream_behind_the_session(browser: httpx.AsyncClient, api: AppHarness) -> None:
    """The console's stream sends the captures after the page's newest one, in the API's
    shape plus the list row the page shows; an unknown bin is a 404."""
    bin_id = await new_bin(api)
    for body in (b"first", b"second", b"third"):
        await api.client.post(f"/hooks/{bin_id}", content=body)
    third, second, first = await captures(api, bin_id)
    events = await _stream_events(api, browser, f"/bins/{bin_id}/stream?after={first['id']}", 2)
    assert [{k: v for k, v in e.items() if k != "row"} for e in events] == [second, third]
    assert f'data-request-id="{second["id"]}"' in events[0]["row"]
    assert f"?request={second['id']}" in events[0]["row"]
    assert (await browser.get("/bins/bin_missing/stream")).status_code == 404
