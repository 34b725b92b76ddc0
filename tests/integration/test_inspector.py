"""The request inspector (SPEC §7): bins capture anything sent to them, answer as told,
stream live, replay through the SSRF guard, and work as integration URLs."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import AppHarness, make_settings, start_app
from tests.receiver import Receiver


async def new_bin(api: AppHarness, **spec: Any) -> dict[str, Any]:
    response = await api.client.post("/api/v1/bins", json=spec or None)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def hook_path(bin_: dict[str, Any]) -> str:
    return "/hooks/" + bin_["id"]


async def captured(api: AppHarness, bin_: dict[str, Any], **params: Any) -> dict[str, Any]:
    response = await api.client.get(f"/api/v1/bins/{bin_['id']}/requests", params=params)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_any_method_is_recorded_in_full(api: AppHarness) -> None:
    """Method, path below the bin, query, ordered headers with repeats, body and size."""
    bin_ = await new_bin(api, name="debug")
    assert bin_["url"].endswith(hook_path(bin_))
    assert len(bin_["id"]) >= 32  # unguessable
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app),
                                  base_url="http://alertwire.test")
    async with anonymous:
        sent = await anonymous.request(
            "PATCH", hook_path(bin_) + "/deep/er?x=1&x=2&y=z", content=b'{"a": 1}',
            headers=[("X-Repeat", "one"), ("X-Repeat", "two"), ("Content-Type", "text/x")],
        )
        assert sent.status_code == 200
        await anonymous.get(hook_path(bin_))
    items = (await captured(api, bin_))["items"]
    assert [i["method"] for i in items] == ["GET", "PATCH"]
    patch = items[1]
    assert patch["path"] == hook_path(bin_) + "/deep/er"
    assert patch["query"] == "x=1&x=2&y=z"
    names = [name.lower() for name, _ in patch["headers"]]
    repeats = [v for n, v in patch["headers"] if n.lower() == "x-repeat"]
    assert repeats == ["one", "two"]
    assert names.index("x-repeat") < names.index("content-type")
    assert patch["body"] == '{"a": 1}' and patch["body_base64"] is None
    assert patch["size"] == 8 and patch["ip"] and patch["received_at"]


async def test_binary_body_is_base64(api: AppHarness) -> None:
    """A body that is not UTF-8 reads as `body_base64`, byte for byte."""
    bin_ = await new_bin(api)
    raw = bytes(range(256))
    await api.client.post(hook_path(bin_), content=raw)
    (item,) = (await captured(api, bin_))["items"]
    assert item["body"] is None
    assert base64.b64decode(item["body_base64"]) == raw


async def test_configured_response(api: AppHarness) -> None:
    """The bin answers with its status, body, content type, headers and delay."""
    bin_ = await new_bin(api, response={"status": 422, "body": '{"error":"nope"}',
                                        "content_type": "application/json",
                                        "headers": {"X-Bin": "1"}, "delay": 0.3})
    started = time.monotonic()
    answer = await api.client.post(hook_path(bin_), json={"a": 1})
    assert time.monotonic() - started >= 0.3
    assert answer.status_code == 422
    assert answer.json() == {"error": "nope"}
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-bin"] == "1"
    too_slow = await api.client.post("/api/v1/bins", json={"response": {"delay": 11}})
    assert too_slow.status_code == 422 and too_slow.json()["field"] == "response.delay"
    changed = await api.client.patch(f"/api/v1/bins/{bin_['id']}",
                                     json={"response": {"status": 204}})
    assert changed.json()["response"]["status"] == 204
    assert (await api.client.post(hook_path(bin_), json={})).status_code == 204


async def test_cap_drops_oldest_and_paging(api: AppHarness) -> None:
    """Beyond `max_requests` the oldest captures go; the list is newest first and pages."""
    bin_ = await new_bin(api, max_requests=5)
    for i in range(8):
        await api.client.post(hook_path(bin_), content=str(i).encode())
    first = await captured(api, bin_, limit=3)
    assert [i["body"] for i in first["items"]] == ["7", "6", "5"]
    rest = await captured(api, bin_, limit=3, cursor=first["next_cursor"])
    assert [i["body"] for i in rest["items"]] == ["4", "3"]
    assert rest["next_cursor"] is None


async def test_body_cap_is_413_and_nothing_stored(api: AppHarness) -> None:
    """A body over 1 MiB is refused with a clear 413."""
    bin_ = await new_bin(api)
    answer = await api.client.post(hook_path(bin_), content=b"x" * (1024 * 1024 + 1))
    assert answer.status_code == 413
    assert "1 MiB" in answer.json()["message"]
    assert (await captured(api, bin_))["items"] == []


async def test_unknown_bin_and_delete(api: AppHarness) -> None:
    """Sending to a missing bin is 404; a deleted bin is gone with its requests."""
    assert (await api.client.post("/hooks/bin_nope", content=b"x")).status_code == 404
    bin_ = await new_bin(api)
    await api.client.post(hook_path(bin_), content=b"x")
    assert (await api.client.delete(f"/api/v1/bins/{bin_['id']}")).status_code == 204
    assert (await api.client.get(f"/api/v1/bins/{bin_['id']}/requests")).status_code == 404
    assert (await api.client.get("/api/v1/bins")).json() == []


async def test_curl_command(api: AppHarness) -> None:
    """Copy as curl reproduces method, headers and body."""
    bin_ = await new_bin(api)
    await api.client.put(hook_path(bin_) + "?a=b", content=b"it's here",
                         headers={"X-Key": "v"})
    (item,) = (await captured(api, bin_))["items"]
    curl = (await api.client.get(
        f"/api/v1/bins/{bin_['id']}/requests/{item['id']}/curl")).text
    assert curl.startswith("curl -X PUT ")
    assert "?a=b" in curl and "'x-key: v'" in curl.lower()
    assert "--data-raw 'it'\"'\"'s here'" in curl


async def test_replay_goes_through_the_guard(api: AppHarness, receiver: Receiver,
                                             tmp_path: Path) -> None:
    """Replay sends the captured request from the server; a private target is refused
    unless allowed."""
    bin_ = await new_bin(api)
    await api.client.post(hook_path(bin_), content=b'{"k": 1}',
                          headers={"Content-Type": "application/json", "X-Trace": "t1"})
    (item,) = (await captured(api, bin_))["items"]
    result = (await api.client.post(
        f"/api/v1/bins/{bin_['id']}/requests/{item['id']}/replay",
        json={"url": receiver.url + "/status/201"})).json()
    assert result["ok"] is True and result["status_code"] == 201
    got = receiver.requests[-1]
    assert got.method == "POST" and got.body == b'{"k": 1}'
    assert {k.lower(): v for k, v in got.headers}["x-trace"] == "t1"
    async for closed in start_app(make_settings(tmp_path / "strict", allowed_targets=())):
        strict_bin = (await closed.client.post("/api/v1/bins")).json()
        await closed.client.post("/hooks/" + strict_bin["id"], content=b"x")
        (one,) = (await closed.client.get(
            f"/api/v1/bins/{strict_bin['id']}/requests")).json()["items"]
        refused = (await closed.client.post(
            f"/api/v1/bins/{strict_bin['id']}/requests/{one['id']}/replay",
            json={"url": receiver.url + "/status/200"})).json()
        assert refused["ok"] is False and "refused" in refused["error"]
    assert len(receiver.requests) == 1


async def test_own_bin_urls_pass_validation_without_allowing_loopback(tmp_path: Path) -> None:
    """With no allowed targets, an integration may point at one of the server's own bins,
    but not at any other loopback URL (the delivery itself is tested end to end in
    tests/e2e/test_inspector_flow.py)."""
    settings = make_settings(tmp_path, allowed_targets=(), port=8080)
    async for api in start_app(settings):
        bin_ = await new_bin(api)
        assert bin_["url"] == f"http://127.0.0.1:8080/hooks/{bin_['id']}"
        own = api.services.own_bins
        assert own.matches(bin_["url"])
        assert own.matches(f"http://localhost:8080/hooks/{bin_['id']}/x")
        assert not own.matches("http://127.0.0.1:8080/api/v1/tokens")
        assert not own.matches("http://127.0.0.1:8080/hooks/../api/v1/tokens")
        assert not own.matches("http://127.0.0.1:9999/hooks/x")
        assert not own.matches("http://10.0.0.1:8080/hooks/x")
        refused = await api.client.post("/api/v1/integrations", json={
            "name": "other", "url": "http://127.0.0.1:8080/api/v1/alerts"})
        assert refused.status_code == 422
        created = await api.client.post("/api/v1/integrations", json={
            "name": "bin", "url": bin_["url"]})
        assert created.status_code == 201, created.text
