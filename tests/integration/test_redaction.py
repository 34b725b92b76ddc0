"""Redaction on the wire (SPEC §8): the deployment's and an integration's rules, and the
defaults, on deliveries, GET query strings, templates, Test Connection, replays, digests and
bin replays; the stored alert keeps the original; the rules API and its preview."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from alertwire.domain.digests import next_period_start, period_start
from alertwire.domain.redaction import RedactionRule, redact_text
from alertwire.domain.samples import falco_alert_with_secrets
from alertwire.store import schema
from tests.conftest import AppHarness
from tests.integration.test_delivery import active_integration, deliveries, post_alerts, trigger
from tests.integration.test_efficiency import sql_statements
from tests.receiver import Receiver, eventually

SECRETS = ("Tr0ub4dor-3", "AKIAZ7EXAMPLE4RQ2XPL", "ghp_R2x9mQv7LkT4nB8cW1zYdF6hJ3sP5aE0uKiO")
ALERT = falco_alert_with_secrets() | {"Action": "Block", "customer": "ACME-7731",
                                      "note": "order ticket-4410 escalated"}
DEPLOYMENT_RULES = [{"name": "customer ids", "field": "customer"}]
OWN_RULES = [{"name": "tickets", "pattern": r"ticket-(\d+)"}]


def leaked(received: bytes | str) -> list[str]:
    text = received.decode("utf-8", "replace") if isinstance(received, bytes) else received
    return [s for s in (*SECRETS, "ACME-7731", "ticket-4410") if s in text]


def sent(r: Any) -> str:
    return r.body.decode() + json.dumps(r.query) + json.dumps(r.headers)


async def put_rules(api: AppHarness, rules: list[dict[str, Any]]) -> None:
    response = await api.client.put("/api/v1/redaction", json={"rules": rules})
    assert response.status_code == 200, response.text


async def test_rules_apply_to_every_delivery_and_template(api: AppHarness,
                                                          receiver: Receiver) -> None:
    """Raw POST, GET (query string) and Slack integrations all get the alert without the
    default rules' secrets, the deployment's field and the integration's own pattern; an
    integration without that rule keeps the ticket number; the stored alert is untouched."""
    await put_rules(api, DEPLOYMENT_RULES)
    raw = await active_integration(api, receiver.url + "/raw", name="raw",
                                   redaction_rules=OWN_RULES)
    get = await active_integration(api, receiver.url + "/get", name="get", method="GET",
                                   redaction_rules=OWN_RULES)
    slack = await active_integration(api, receiver.url + "/slack", name="slack",
                                     template="slack", redaction_rules=OWN_RULES)
    plain = await active_integration(api, receiver.url + "/plain", name="plain")
    assert raw["redaction_rules"] == OWN_RULES
    await trigger(api, [raw["id"], get["id"], slack["id"], plain["id"]])
    receiver.requests.clear()
    accepted = await post_alerts(api, json.dumps(ALERT).encode())
    await eventually(lambda: len(receiver.requests) == 4)
    by_path = {r.path: r for r in receiver.requests}
    for path in ("/raw", "/get", "/slack"):
        assert leaked(sent(by_path[path])) == [], path
    assert leaked(sent(by_path["/plain"])) == ["ticket-4410"]
    body = json.loads(by_path["/raw"].body)
    assert body["customer"] == "[REDACTED]" and body["note"] == "order ticket-[REDACTED] escalated"
    assert body["output_fields"]["proc.cmdline"] == \
        "psql postgresql://[REDACTED]@db.internal:5432/orders"
    assert by_path["/get"].query["customer"] == "[REDACTED]"
    stored = (await api.client.get(f"/api/v1/alerts/{accepted['ids'][0]}")).json()
    assert json.dumps(stored).count("Tr0ub4dor-3") == 3 and "ACME-7731" in json.dumps(stored)


async def test_tests_replays_digests_and_bin_replays_are_redacted(
        api: AppHarness, receiver: Receiver) -> None:
    """Test Connection's payload, a replay after the rules changed, a digest, a bin
    replay and a fire drill leave through the same rules."""
    hook = await active_integration(api, receiver.url + "/hook", test_payload=ALERT)
    assert leaked(receiver.requests[-1].body) == ["ACME-7731", "ticket-4410"]  # no rules yet
    await put_rules(api, DEPLOYMENT_RULES + OWN_RULES)
    tested = await api.client.post(f"/api/v1/integrations/{hook['id']}/test")
    assert tested.json()["ok"] and leaked(receiver.requests[-1].body) == []

    await api.client.put("/api/v1/redaction", json={"rules": []})
    await trigger(api, [hook["id"]], name="realtime")
    await post_alerts(api, json.dumps(ALERT).encode())
    await eventually(lambda: len(receiver.requests) == 3)
    assert leaked(receiver.requests[-1].body) == ["ACME-7731", "ticket-4410"]
    await put_rules(api, DEPLOYMENT_RULES + OWN_RULES)
    (delivery,) = await deliveries(api)
    await eventually(lambda: _status(api, delivery["id"], "delivered"))
    assert (await api.client.post(f"/api/v1/deliveries/{delivery['id']}/retry")).status_code == 200
    await eventually(lambda: len(receiver.requests) == 4)
    assert leaked(receiver.requests[-1].body) == []

    await trigger(api, [hook["id"]], name="daily", frequency="daily")
    await post_alerts(api, json.dumps(ALERT).encode())
    now = time.time()
    end = next_period_start("daily", "UTC", period_start("daily", "UTC", now))
    store = api.services.store
    assert await store.send_due_digests(end + 1) == 1
    async with store.engine.begin() as conn:  # the digest of "today", due now rather than at midnight
        await conn.execute(schema.deliveries.update().where(schema.deliveries.c.kind == "digest")
                           .values(next_attempt_at=now))
    api.services.wake_workers()
    await eventually(lambda: any(r.header("alertwire-kind") == "digest"
                                 for r in receiver.requests))
    digest = next(r for r in receiver.requests if r.header("alertwire-kind") == "digest")
    assert leaked(digest.body) == [] and json.loads(digest.body)["total"] == 1

    bin_ = (await api.client.post("/api/v1/bins")).json()
    await api.client.post("/hooks/" + bin_["id"], content=json.dumps(ALERT).encode())
    (captured,) = (await api.client.get(f"/api/v1/bins/{bin_['id']}/requests")).json()["items"]
    assert "ACME-7731" in captured["body"]  # the inspector shows what arrived
    replayed = await api.client.post(
        f"/api/v1/bins/{bin_['id']}/requests/{captured['id']}/replay",
        json={"url": receiver.url + "/replayed"})
    assert replayed.json()["ok"], replayed.text
    assert receiver.requests[-1].path == "/replayed" and leaked(receiver.requests[-1].body) == []

    drill = (await api.client.post("/api/v1/drills", json={"alert": ALERT})).json()
    assert drill["summary"]["delivered"] == 1, drill
    assert receiver.requests[-1].header("alertwire-kind") == "drill"
    assert leaked(receiver.requests[-1].body) == []


async def _status(api: AppHarness, delivery_id: str, status: str) -> bool:
    got = (await api.client.get(f"/api/v1/deliveries/{delivery_id}")).json()
    return bool(got["status"] == status)


async def test_rules_api_preview_and_logs(api: AppHarness) -> None:
    """GET lists the deployment's rules and the defaults; PUT replaces them (admin only)
    and log lines follow; the preview shows each redaction on the sample alert with
    secrets or on any alert, with an integration's own rules added."""
    got = (await api.client.get("/api/v1/redaction")).json()
    assert got["rules"] == [] and "url-credentials" in [d["name"] for d in got["defaults"]]
    await put_rules(api, [{"name": "tickets", "pattern": r"ticket-\d+"}])
    assert (await api.client.get("/api/v1/redaction")).json()["rules"] == [
        {"name": "tickets", "pattern": r"ticket-\d+"}]
    assert redact_text("see ticket-42") == "see [REDACTED]"

    sample = (await api.client.post("/api/v1/redaction/preview", json={})).json()
    assert leaked(json.dumps(sample["alert"])) == []
    assert {"path": 'output_fields."proc.env"', "rule": "token-shapes"} in sample["redactions"]

    hook = (await api.client.post("/api/v1/integrations", json={
        "name": "h", "url": "http://127.0.0.1:9/x",
        "redaction_rules": [{"field": "Owner.Name"}]})).json()
    preview = (await api.client.post("/api/v1/redaction/preview", json={
        "integration_id": hook["id"], "rules": [{"field": "Labels"}],
        "alert": {"Owner": {"Name": "mysql"}, "Labels": "app=db", "note": "ticket-9"}})).json()
    assert preview == {
        "alert": {"Owner": {"Name": "[REDACTED]"}, "Labels": "[REDACTED]", "note": "ticket-9"},
        "redactions": [{"path": "Owner.Name", "rule": "field Owner.Name"},
                       {"path": "Labels", "rule": "field Labels"}]}
    await put_rules(api, [])
    assert redact_text("see ticket-42") == "see ticket-42"


async def test_bad_rules_are_refused_with_the_reason(api: AppHarness) -> None:
    for rules, message in [
        ([{"pattern": "(open"}], "pattern is not a valid regular expression"),
        ([{"name": "empty"}], "a rule needs a field, a pattern, or both"),
        ([{"field": "a"}] * 101, "at most 100 items"),
    ]:
        response = await api.client.put("/api/v1/redaction", json={"rules": rules})
        assert response.status_code == 422, response.text
        assert message in response.json()["message"]
    bad = await api.client.post("/api/v1/integrations", json={
        "name": "h", "url": "http://127.0.0.1:9/x", "redaction_rules": [{"field": 'a."b'}]})
    assert bad.status_code == 422 and bad.json()["field"].startswith("redaction_rules")
    token = (await api.client.post("/api/v1/tokens", json={
        "name": "reader", "scopes": ["read"]})).json()["token"]
    refused = await api.client.put("/api/v1/redaction", json={"rules": []},
                                   headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    unknown = await api.client.post("/api/v1/redaction/preview", json={"integration_id": "itg_x"})
    assert unknown.status_code == 422
    assert unknown.json()["message"] == "integration_id: no integration with id 'itg_x'"


async def test_stale_rules_are_read_once_for_all_waiting_deliveries(api: AppHarness) -> None:
    """When the cached rules are stale, 200 deliveries needing them share one read (not one
    connection each); a read that began before a write does not bring old rules back."""
    store = api.services.store.redaction
    await put_rules(api, [{"field": "customer"}])
    store._cached = None  # stale, as 2 s later in another process
    with sql_statements(api.services.store.engine) as statements:
        results = await asyncio.gather(*(store.rules() for _ in range(200)))
    assert len([s for s in statements if "settings" in s]) == 1
    assert {r[0].field for r in results} == {"customer"}
    # A read that began before the write finishes after it: its (old) answer is dropped.
    began = time.monotonic()
    await store.replace([RedactionRule(field="other")])
    store._remember(began, (RedactionRule(field="customer"),))
    assert [r.field for r in await store.rules()] == ["other"]


async def test_template_preview_shows_the_redacted_alert(api: AppHarness) -> None:
    """`POST /integrations/preview` renders what a delivery would send: after the default
    rules, the deployment's and the rules given with the preview."""
    await put_rules(api, DEPLOYMENT_RULES)
    answer = await api.client.post("/api/v1/integrations/preview", json={
        "template": "slack", "alert": ALERT, "redaction_rules": OWN_RULES})
    assert answer.status_code == 200, answer.text
    assert leaked(json.dumps(answer.json()["body"])) == []
    plain = await api.client.post("/api/v1/integrations/preview", json={
        "template": "raw", "alert": ALERT})
    assert leaked(json.dumps(plain.json()["body"])) == ["ticket-4410"]
