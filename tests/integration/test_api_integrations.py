"""`/api/v1/integrations` end to end over HTTP, against real receivers on 127.0.0.1 (SPEC §2)."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import AppHarness, make_settings, start_app
from tests.receiver import Receiver


def body(url: str, **changes: Any) -> dict[str, Any]:
    return {"name": "Receiver", "url": url, "method": "POST"} | changes


async def create(api: AppHarness, url: str, **changes: Any) -> dict[str, Any]:
    response = await api.client.post("/api/v1/integrations", json=body(url, **changes))
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"method": "PATCH"}, "method"),
        ({"url": "gopher://x.example.com/"}, "url"),
        ({"url": "http://10.0.0.1/hook"}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
        ({"success_codes": []}, "success_codes"),
        ({"success_codes": [200, 700]}, "success_codes"),
        ({"headers": {"X-Evil": "a\nb"}}, "headers"),
        ({"name": ""}, "name"),
    ],
)
async def test_validation_answers_422_naming_the_field(
    api: AppHarness, changes: dict[str, Any], field: str
) -> None:
    """Each §2 rule answers 422 with a message that starts with the field's name."""
    response = await api.client.post(
        "/api/v1/integrations", json=body("https://hooks.example.com/x") | changes
    )
    assert response.status_code == 422
    data = response.json()
    assert data["field"] == field
    assert data["message"].startswith(field)


async def test_duplicate_name_is_422(api: AppHarness, receiver: Receiver) -> None:
    """Names are unique regardless of case."""
    await create(api, receiver.url, name="Slack")
    response = await api.client.post("/api/v1/integrations", json=body(receiver.url, name="SLACK"))
    assert response.status_code == 422
    assert response.json()["field"] == "name"


async def test_malformed_json_is_400(api: AppHarness) -> None:
    """A body that is not JSON is a 400 that says so."""
    response = await api.client.post(
        "/api/v1/integrations", content=b'{"name": "x",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]


async def test_auth_401_and_403(api: AppHarness) -> None:
    """No token or a wrong one is 401; a read token cannot write, an ingest token cannot read."""
    no_auth = await api.client.get("/api/v1/integrations", headers={"Authorization": ""})
    assert no_auth.status_code == 401
    wrong = await api.client.get("/api/v1/integrations", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    tokens = {}
    for scope in ("read", "ingest"):
        made = await api.client.post("/api/v1/tokens", json={"name": scope, "scopes": [scope]})
        assert made.status_code == 201
        tokens[scope] = made.json()["token"]
    as_read = {"Authorization": f"Bearer {tokens['read']}"}
    assert (await api.client.get("/api/v1/integrations", headers=as_read)).status_code == 200
    denied = await api.client.post(
        "/api/v1/integrations", json=body("https://x.example.com/"), headers=as_read
    )
    assert denied.status_code == 403
    as_ingest = {"Authorization": f"Bearer {tokens['ingest']}"}
    assert (await api.client.get("/api/v1/integrations", headers=as_ingest)).status_code == 403


async def test_headers_masked_on_read(api: AppHarness, receiver: Receiver) -> None:
    """Secret header values come back masked, in create, get and list answers."""
    created = await create(api, receiver.url, headers={"Authorization": "token ghp_abcdef123456"})
    assert created["headers"] == {"Authorization": "token ghp_…****"}
    got = (await api.client.get(f"/api/v1/integrations/{created['id']}")).json()
    assert got["headers"] == {"Authorization": "token ghp_…****"}
    listed = (await api.client.get("/api/v1/integrations")).json()
    assert listed["items"][0]["headers"] == {"Authorization": "token ghp_…****"}


async def test_list_filters(api: AppHarness, receiver: Receiver) -> None:
    """`search` and `status` narrow the list."""
    first = await create(api, receiver.url, name="Slack #security")
    await create(api, receiver.url, name="Jira SEC")
    found = (await api.client.get("/api/v1/integrations", params={"search": "slack"})).json()
    assert [i["name"] for i in found["items"]] == ["Slack #security"]
    await api.client.post(f"/api/v1/integrations/{first['id']}/disable")
    disabled = (await api.client.get("/api/v1/integrations", params={"status": "disabled"})).json()
    assert [i["name"] for i in disabled["items"]] == ["Slack #security"]
    bad = await api.client.get("/api/v1/integrations", params={"status": "sleeping"})
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("path", "codes", "ok", "status"),
    [
        ("/status/200", None, True, 200),
        ("/status/204", None, True, 204),
        ("/status/422", None, False, 422),
        ("/status/422", [200, 204, 422], True, 422),
        ("/status/500", None, False, 500),
    ],
)
async def test_connection_against_real_receivers(
    api: AppHarness, receiver: Receiver, path: str, codes: list[int] | None, ok: bool, status: int
) -> None:
    """Test Connection really sends, and `ok` follows the success codes."""
    extra = {} if codes is None else {"success_codes": codes}
    created = await create(api, receiver.url + path, **extra)
    result = (await api.client.post(f"/api/v1/integrations/{created['id']}/test")).json()
    assert result["ok"] is ok
    assert result["status_code"] == status
    assert result["latency_ms"] >= 0
    assert len(receiver.requests) == 1
    if status != 204:
        assert result["response_body"] == f"answer {status}"
        assert result["response_headers"]["X-Receiver"] == "yes"
    assert (result["error"] is None) is ok


async def test_connection_sends_the_configured_request(api: AppHarness, receiver: Receiver) -> None:
    """Method, headers, test payload and a verifiable signature arrive at the receiver."""
    created = await create(
        api, receiver.url + "/status/200", method="PUT",
        headers={"Authorization": "Bearer abc123456789", "X-Env": "prod"},
        test_payload={"Action": "Block", "PolicyName": "p"},
    )
    await api.client.post(f"/api/v1/integrations/{created['id']}/test")
    got = receiver.requests[0]
    headers = dict(got.headers)
    assert got.method == "PUT"
    assert headers["Authorization"] == "Bearer abc123456789"
    assert headers["X-Env"] == "prod"
    assert headers["User-Agent"].startswith("alertwire/")
    assert json.loads(got.body) == {"Action": "Block", "PolicyName": "p"}
    secret = (await api.client.get(f"/api/v1/integrations/{created['id']}/secret")).json()["secret"]
    Webhook(secret).verify(got.body, headers)


async def test_default_test_payload_is_a_kubearmor_alert(
    api: AppHarness, receiver: Receiver
) -> None:
    """Without a test payload, a realistic KubeArmor Block alert is sent."""
    created = await create(api, receiver.url)
    await api.client.post(f"/api/v1/integrations/{created['id']}/test")
    sent = json.loads(receiver.requests[0].body)
    assert sent["Action"] == "Block"
    assert sent["Type"] == "MatchedPolicy"
    assert sent["PolicyName"] and sent["ProcessName"] and sent["Resource"]


async def test_connection_timeout_and_closed_port(api: AppHarness, receiver: Receiver) -> None:
    """A slow receiver times out and a closed port fails: both `ok: false` with an error."""
    created = await create(api, receiver.url + "/slow")
    slow = await api.client.post(f"/api/v1/integrations/{created['id']}/test")
    assert slow.status_code == 200
    assert slow.json()["ok"] is False and "timed out" in slow.json()["error"]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    result = (await api.client.post(
        "/api/v1/integrations/test", json={"url": f"http://127.0.0.1:{closed_port}/"}
    )).json()
    assert result["ok"] is False and result["status_code"] is None
    assert result["error"]


async def test_unsaved_config_test(api: AppHarness, receiver: Receiver) -> None:
    """A form not yet saved can be tested; nothing is stored."""
    result = await api.client.post(
        "/api/v1/integrations/test",
        json={"name": "draft form", "url": receiver.url + "/status/204", "method": "POST"},
    )
    assert result.status_code == 200 and result.json()["ok"] is True
    assert (await api.client.get("/api/v1/integrations")).json()["items"] == []


async def test_ssrf_refusal_is_a_result_not_a_500(tmp_path: Path, receiver: Receiver) -> None:
    """With no allowed targets, a loopback host name is refused at send time as `ok: false`."""
    settings = make_settings(tmp_path, allowed_targets=())
    async for harness in start_app(settings):
        port = receiver.url.rsplit(":", 1)[1]
        result = await harness.client.post(
            "/api/v1/integrations/test", json={"url": f"http://localhost:{port}/"}
        )
        assert result.status_code == 200
        assert result.json()["ok"] is False
        assert "refused" in result.json()["error"]
    assert receiver.requests == []


async def test_connect_flow(api: AppHarness, receiver: Receiver) -> None:
    """Connect is 409 until the latest test of the current configuration succeeded."""
    created = await create(api, receiver.url + "/status/500")
    iid = created["id"]
    never = await api.client.post(f"/api/v1/integrations/{iid}/connect")
    assert never.status_code == 409 and "never been tested" in never.json()["message"]
    await api.client.post(f"/api/v1/integrations/{iid}/test")
    failed = await api.client.post(f"/api/v1/integrations/{iid}/connect")
    assert failed.status_code == 409 and "failed" in failed.json()["message"]
    await api.client.patch(f"/api/v1/integrations/{iid}", json={"url": receiver.url + "/status/200"})
    stale = await api.client.post(f"/api/v1/integrations/{iid}/connect")
    assert stale.status_code == 409 and "changed" in stale.json()["message"]
    await api.client.post(f"/api/v1/integrations/{iid}/test")
    connected = await api.client.post(f"/api/v1/integrations/{iid}/connect")
    assert connected.status_code == 200
    assert connected.json()["status"] == "active"
    assert connected.json()["last_test"]["current"] is True
    # A name or description change does not invalidate the test; a header change does.
    await api.client.patch(f"/api/v1/integrations/{iid}", json={"description": "on call"})
    assert (await api.client.get(f"/api/v1/integrations/{iid}")).json()["last_test"]["current"]
    await api.client.patch(f"/api/v1/integrations/{iid}", json={"headers": {"X-New": "1"}})
    assert not (await api.client.get(f"/api/v1/integrations/{iid}")).json()["last_test"]["current"]
    disabled = await api.client.post(f"/api/v1/integrations/{iid}/disable")
    assert disabled.json()["status"] == "disabled"


async def test_patch_keeps_masked_secrets(api: AppHarness, receiver: Receiver) -> None:
    """Sending back the masked header value keeps the real one (the test still sends it)."""
    created = await create(api, receiver.url, headers={"Authorization": "Bearer real-secret-99"})
    patched = await api.client.patch(
        f"/api/v1/integrations/{created['id']}", json={"headers": created["headers"],
                                                        "name": "Renamed"}
    )
    assert patched.status_code == 200, patched.text
    await api.client.post(f"/api/v1/integrations/{created['id']}/test")
    assert dict(receiver.requests[0].headers)["Authorization"] == "Bearer real-secret-99"


async def test_patch_validates_the_merged_result(api: AppHarness, receiver: Receiver) -> None:
    """A PATCH with a bad field answers 422 naming it and changes nothing."""
    created = await create(api, receiver.url)
    bad = await api.client.patch(f"/api/v1/integrations/{created['id']}",
                                 json={"success_codes": [42]})
    assert bad.status_code == 422 and bad.json()["field"] == "success_codes"
    unknown = await api.client.patch(f"/api/v1/integrations/{created['id']}",
                                     json={"colour": "red"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "colour"
    again = (await api.client.get(f"/api/v1/integrations/{created['id']}")).json()
    assert again["success_codes"] == [200, 201, 202, 204]


async def test_delete_and_404(api: AppHarness, receiver: Receiver) -> None:
    """Delete Channel removes it; afterwards it is 404."""
    created = await create(api, receiver.url)
    assert (await api.client.delete(f"/api/v1/integrations/{created['id']}")).status_code == 204
    assert (await api.client.get(f"/api/v1/integrations/{created['id']}")).status_code == 404
    assert (await api.client.delete(f"/api/v1/integrations/{created['id']}")).status_code == 404


async def test_secret_and_rotation(api: AppHarness, receiver: Receiver) -> None:
    """The whsec_ secret reads on demand; rotation reports the previous one still signing."""
    created = await create(api, receiver.url)
    first = (await api.client.get(f"/api/v1/integrations/{created['id']}/secret")).json()
    assert first["secret"].startswith("whsec_") and first["previous_secret"] is None
    rotated = (await api.client.post(
        f"/api/v1/integrations/{created['id']}/secret/rotate")).json()
    assert rotated["secret"] != first["secret"]
    assert rotated["previous_secret"] == first["secret"]
    assert rotated["previous_secret_expires_at"]


async def test_openapi_lists_every_route(api: AppHarness) -> None:
    """`/openapi.json` documents every API route with its request and response schemas."""
    doc = (await api.client.get("/openapi.json")).json()
    paths = doc["paths"]
    for path in ("/api/v1/integrations", "/api/v1/integrations/{integration_id}",
                 "/api/v1/integrations/test", "/api/v1/integrations/{integration_id}/test",
                 "/api/v1/integrations/{integration_id}/connect",
                 "/api/v1/integrations/{integration_id}/disable",
                 "/api/v1/integrations/{integration_id}/secret",
                 "/api/v1/integrations/{integration_id}/secret/rotate", "/healthz"):
        assert path in paths, path
    post = paths["/api/v1/integrations"]["post"]
    assert "requestBody" in post and "201" in post["responses"]
    assert "IntegrationOut" in doc["components"]["schemas"]
    assert "HTTPBearer" in doc["components"]["securitySchemes"]


async def test_health(api: AppHarness) -> None:
    """`/healthz` and `/readyz` answer without a token."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app),
                                 base_url="http://t") as anonymous:
        assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
        ready = await anonymous.get("/readyz")
        assert ready.status_code == 200 and ready.json()["database"] == "sqlite"
