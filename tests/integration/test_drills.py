"""Fire drills over the API (issue #12): a labelled test alert through every trigger to every
integration, against a real receiver on 127.0.0.1, reported per integration, leaving no
alert and no delivery behind."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from alertwire.domain.drills import DRILL_LABEL
from alertwire.domain.integrations import IntegrationCreate
from alertwire.store.schema import alerts, deliveries
from tests.conftest import FIXTURES, AppHarness
from tests.integration.test_console import _csrf, _log_in
from tests.integration.test_delivery import trigger
from tests.receiver import Receiver

FALCO = json.loads((FIXTURES / "falco/falco-write-below-binary-dir.json").read_bytes())


async def integration(api: AppHarness, name: str, url: str, status: str = "active",
                      **changes: Any) -> str:
    """An integration in `status`; "active" as if it had been tested and connected earlier
    (Test Connection would send to the receiver, and these tests count what it gets)."""
    created = await api.client.post("/api/v1/integrations",
                                     json={"name": name, "url": url} | changes)
    assert created.status_code == 201, created.text
    iid: str = created.json()["id"]
    if status == "active":
        await api.services.store.integrations.set_status(iid, "active")
    elif status == "disabled":
        assert (await api.client.post(f"/api/v1/integrations/{iid}/disable")).status_code == 200
    return iid


async def drill(api: AppHarness, body: Any = None) -> dict[str, Any]:
    answer = await api.client.post("/api/v1/drills", json=body)
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


async def row_counts(api: AppHarness) -> tuple[int, int]:
    async with api.services.store.engine.connect() as conn:
        stored = (await conn.execute(sa.select(sa.func.count()).select_from(alerts))).scalar()
        queued = (await conn.execute(sa.select(sa.func.count()).select_from(deliveries))).scalar()
    return int(stored or 0), int(queued or 0)


async def test_drill_reports_every_integration(api: AppHarness, receiver: Receiver) -> None:
    """Delivered, failed (500, timeout, SSRF) and skipped (disabled, draft, filter or threat
    level did not match, trigger disabled, no trigger) each come back with their status code,
    latency and reason; an integration two triggers route to gets one request; a digest-only
    one gets the alert at once."""
    ok = await integration(api, "ok-204", f"{receiver.url}/status/204/ok",
                           success_codes=[200, 204])
    failing = await integration(api, "err-500", f"{receiver.url}/status/500/err",
                                success_codes=[200, 204])
    slow = await integration(api, "slow", f"{receiver.url}/slow")
    digest_only = await integration(api, "digest-only", f"{receiver.url}/status/200/digest")
    disabled = await integration(api, "disabled", f"{receiver.url}/status/204/disabled",
                                 status="disabled")
    draft = await integration(api, "draft", f"{receiver.url}/status/204/draft", status="draft")
    unmatched = await integration(api, "unmatched", f"{receiver.url}/status/204/unmatched")
    too_high = await integration(api, "too-high", f"{receiver.url}/status/204/too-high")
    switched_off = await integration(api, "switched-off", f"{receiver.url}/status/204/off")
    orphan = await integration(api, "orphan", f"{receiver.url}/status/204/orphan")
    # Connected while ALERTWIRE_ALLOWED_TARGETS still allowed 10.0.0.0/8; the guard refuses
    # the literal private address before any packet is sent.
    store = api.services.store.integrations
    ssrf = (await store.create(IntegrationCreate(name="ssrf", url="http://10.255.255.1/hook"))).id
    await store.set_status(ssrf, "active")

    blocks = (await trigger(api, [ok, failing, slow, disabled, draft, ssrf], name="blocks"))["id"]
    daily = (await trigger(api, [ok], name="daily-blocks", frequency="daily"))["id"]
    weekly = (await trigger(api, [digest_only], name="weekly-blocks", frequency="weekly"))["id"]
    falco = (await trigger(api, [unmatched], name="falco-errors", filter="priority = Error"))["id"]
    high = (await trigger(api, [too_high], name="high-only", threat_level="high"))["id"]
    off = (await trigger(api, [switched_off], name="off", enabled=False))["id"]
    receiver.requests.clear()

    report = await drill(api)

    assert report["id"].startswith("drl_")
    assert report["started_at"] <= report["finished_at"]
    assert report["summary"] == {"delivered": 2, "failed": 3, "skipped": 6}
    by_name = {i["name"]: i for i in report["integrations"]}
    assert list(by_name) == sorted(by_name)  # by name, as the integrations list
    assert by_name["ok-204"] | {"latency_ms": None} == {
        "integration_id": ok, "name": "ok-204", "status": "delivered", "reason": None,
        "status_code": 204, "latency_ms": None,
        "triggers": [
            {"trigger_id": blocks, "name": "blocks", "matched": True, "reason": None},
            {"trigger_id": daily, "name": "daily-blocks", "matched": True,
             "reason": "a daily digest trigger: the drill alert is sent now, on its own, "
                       "not held for the digest"}]}
    assert by_name["ok-204"]["latency_ms"] >= 0
    assert by_name["digest-only"]["status"] == "delivered"
    assert by_name["digest-only"]["status_code"] == 200
    assert by_name["digest-only"]["triggers"][0]["trigger_id"] == weekly
    assert "weekly digest" in by_name["digest-only"]["triggers"][0]["reason"]

    def outcome(name: str) -> tuple[str, str | None, int | None]:
        found = by_name[name]
        return found["status"], found["reason"], found["status_code"]

    assert outcome("err-500") == (
        "failed", "status 500 is not one of the success codes 200, 204", 500)
    assert outcome("slow") == ("failed", "timed out after 2.0 s", None)
    status, reason, code = outcome("ssrf")
    assert (status, code) == ("failed", None)
    assert reason == "refused by the SSRF guard: 10.255.255.1 is a private address", reason
    assert outcome("disabled") == ("skipped", "integration is disabled (disabled by a user)", None)
    assert outcome("draft") == ("skipped", "integration is a draft (not connected)", None)
    assert outcome("unmatched") == (
        "skipped", "filter did not match: falco-errors: priority = Error", None)
    assert by_name["unmatched"]["triggers"] == [{
        "trigger_id": falco, "name": "falco-errors", "matched": False,
        "reason": "filter did not match: priority = Error"}]
    assert outcome("too-high") == (
        "skipped", "threat level did not match: high-only: high (the drill alert's is medium)",
        None)
    assert by_name["too-high"]["triggers"][0]["trigger_id"] == high
    assert outcome("switched-off") == ("skipped", "no enabled trigger routes to it", None)
    assert by_name["switched-off"]["triggers"] == [{
        "trigger_id": off, "name": "off", "matched": False, "reason": "trigger is disabled"}]
    assert outcome("orphan") == ("skipped", "no enabled trigger routes to it", None)
    assert by_name["orphan"]["triggers"] == []
    assert [by_name[n]["integration_id"] for n in ("disabled", "draft", "ssrf", "orphan")] == [
        disabled, draft, ssrf, orphan]
    for skipped in ("disabled", "draft", "unmatched", "too-high", "switched-off", "orphan"):
        assert by_name[skipped]["latency_ms"] is None

    # Exactly one request per integration sent to, labelled and signed with its secret.
    assert sorted(r.path for r in receiver.requests) == [
        "/slow", "/status/200/digest", "/status/204/ok", "/status/500/err"]
    assert report["alert"]["alertwire_drill"] is True
    assert report["alert"]["alertwire_drill_id"] == report["id"]
    assert report["alert"]["Message"].startswith(DRILL_LABEL + " ")
    for got in receiver.requests:
        iid = {"/slow": slow, "/status/200/digest": digest_only, "/status/204/ok": ok,
               "/status/500/err": failing}[got.path]
        assert json.loads(got.body) == report["alert"]
        assert got.header("alertwire-kind") == "drill"
        assert got.header("alertwire-drill-id") == report["id"]
        secret = (await api.client.get(f"/api/v1/integrations/{iid}/secret")).json()["secret"]
        Webhook(secret).verify(got.body, dict(got.headers))

    # A drill leaves nothing behind: no alert, no delivery.
    assert (await api.client.get("/api/v1/alerts")).json()["items"] == []
    assert (await api.client.get("/api/v1/deliveries")).json()["items"] == []
    assert await row_counts(api) == (0, 0)


async def test_drill_with_an_alert_of_ones_own(api: AppHarness, receiver: Receiver) -> None:
    """A Falco event given in the body is matched as it is (without the label) and sent
    labelled in its `output`, which Falco receivers show; the sample's filter misses it."""
    hook = await integration(api, "falco-hook", f"{receiver.url}/falco")
    kubearmor = await integration(api, "kubearmor-hook", f"{receiver.url}/kubearmor")
    await trigger(api, [hook], name="falco-errors", filter="priority = Error")
    await trigger(api, [kubearmor], name="kubearmor-blocks")
    report = await drill(api, {"alert": FALCO})
    by_name = {i["name"]: i for i in report["integrations"]}
    assert by_name["falco-hook"]["status"] == "delivered"
    assert by_name["kubearmor-hook"]["reason"] == (
        "filter did not match: kubearmor-blocks: Action = Block")
    (sent,) = receiver.requests
    body = json.loads(sent.body)
    assert body["output"] == f"{DRILL_LABEL} {FALCO['output']}"
    assert body["rule"] == FALCO["rule"] and body["alertwire_drill"] is True
    assert "Message" not in body


async def test_drill_with_nothing_configured(api: AppHarness) -> None:
    """No integration: an empty report, still with the labelled sample alert; an empty body
    and `{}` do the same."""
    for answer in (await api.client.post("/api/v1/drills"), await api.client.post(
            "/api/v1/drills", json={})):
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert report["integrations"] == []
        assert report["summary"] == {"delivered": 0, "failed": 0, "skipped": 0}
        assert report["alert"]["PolicyName"] and report["alert"]["alertwire_drill"] is True


async def test_drill_validation_and_scope(api: AppHarness) -> None:
    """The alert must be an object and nothing else may be in the body (422 naming the
    field); a drill sends to real destinations, so it needs an admin token (403)."""
    not_object = await api.client.post("/api/v1/drills", json={"alert": [FALCO]})
    assert not_object.status_code == 422
    assert not_object.json()["field"] == "alert"
    unknown = await api.client.post("/api/v1/drills", json={"alret": FALCO})
    assert unknown.status_code == 422 and unknown.json()["field"] == "alret"
    bad_json = await api.client.post("/api/v1/drills", content=b"{",
                                     headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400
    token = (await api.client.post("/api/v1/tokens", json={
        "name": "reader", "scopes": ["read"]})).json()["token"]
    denied = await api.client.post("/api/v1/drills",
                                   headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403


async def test_drill_sends_concurrently_but_bounded(api: AppHarness, receiver: Receiver) -> None:
    """Ten integrations that each take 0.5 s to answer are sent to eight at a time: one slow
    destination does not hold up the others, and a drill does not open a request per
    integration at once."""
    ids = [await integration(api, f"slow-{n}", f"{receiver.url}/delay/0.5?n={n}")
           for n in range(10)]
    await trigger(api, ids, name="blocks")
    report = await drill(api)
    assert report["summary"]["delivered"] == 10
    assert receiver.max_in_flight == 8
    assert len(receiver.requests) == 10


async def test_console_drill(api: AppHarness, receiver: Receiver,
                             console: tuple[httpx.AsyncClient, str]) -> None:
    """Run fire drill on the Integrations page leads to a confirmation naming who would get a
    real message (nothing sent yet); its button posts (with the CSRF token) and answers the
    report: a row per integration with its result, status code, latency and reason, and the
    labelled alert. Without the token, or for a read-only token, nothing is sent."""
    client, csrf = console
    ok = await integration(api, "ok-204", f"{receiver.url}/status/204/ok")
    await integration(api, "draft", f"{receiver.url}/status/204/draft", status="draft")
    await trigger(api, [ok], name="blocks")
    listing = await client.get("/integrations")
    assert 'href="/integrations/drill"' in listing.text and "Run fire drill" in listing.text
    confirm = await client.get("/integrations/drill")
    assert "This sends a real, labelled message to 1 integration:</strong> ok-204." in confirm.text
    assert 'action="/integrations/drill"' in confirm.text and receiver.requests == []

    assert (await client.post("/integrations/drill", data={})).status_code == 403
    assert receiver.requests == []

    page = await client.post("/integrations/drill", data={"csrf": csrf})
    assert page.status_code == 200, page.text[:500]
    rows = dict(re.findall(r'<tr data-integration="([^"]+)" data-result="([^"]+)">', page.text))
    assert rows == {"draft": "skipped", "ok-204": "delivered"}
    assert "integration is a draft (not connected)" in page.text
    assert "[alertwire fire drill — test, no action needed]" in page.text
    assert len(receiver.requests) == 1
    assert (await client.get("/integrations/drill")).status_code == 200  # a reload: no resend
    assert len(receiver.requests) == 1

    reader = (await api.client.post("/api/v1/tokens", json={
        "name": "reader", "scopes": ["read"]})).json()["token"]
    client.cookies.clear()
    await _log_in(client, reader)
    read_csrf = _csrf((await client.get("/integrations")).text)
    assert "Run fire drill" not in (await client.get("/integrations")).text
    assert (await client.post("/integrations/drill", data={"csrf": read_csrf})).status_code == 403
    assert len(receiver.requests) == 1
