"""Templates on the wire: Test Connection and real deliveries send the rendered body, signed
over exactly what is sent, to a real receiver on 127.0.0.1; `raw` stays byte for byte."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa
from standardwebhooks.webhooks import Webhook

from alertwire.domain.digests import next_period_start, period_start
from alertwire.store.schema import deliveries as deliveries_table
from tests.conftest import AppHarness
from tests.integration.test_delivery import (
    FIM,
    active_integration,
    deliveries,
    post_alerts,
    trigger,
)
from tests.receiver import Receiver, eventually
from tests.unit.templates.support import assert_mentions


async def secret_of(api: AppHarness, integration_id: str) -> str:
    got = await api.client.get(f"/api/v1/integrations/{integration_id}/secret")
    return str(got.json()["secret"])


async def test_slack_body_signed_in_test_connection_and_delivery(
    api: AppHarness, receiver: Receiver
) -> None:
    """A `slack` integration's Test Connection and its deliveries carry the Slack message
    with a valid signature over it; a `raw` integration on the same trigger still gets the
    alert byte for byte."""
    slack = await active_integration(api, receiver.url + "/slack", name="slack",
                                     template="slack")
    secret = await secret_of(api, slack["id"])
    (tested,) = receiver.requests  # Test Connection, with the sample alert
    message = json.loads(tested.body)
    assert set(message) == {"text", "blocks"}
    assert "harden-mysql-file-integrity-monitoring" in message["text"]
    assert tested.header("Content-Type") == "application/json"
    Webhook(secret).verify(tested.body, dict(tested.headers))

    raw = await active_integration(api, receiver.url + "/raw", name="raw")
    await trigger(api, [slack["id"], raw["id"]])
    receiver.requests.clear()
    await post_alerts(api, FIM)
    await eventually(lambda: len(receiver.requests) == 2)
    by_path = {r.path: r for r in receiver.requests}

    sent = by_path["/slack"]
    message = json.loads(sent.body)
    assert_mentions(message["text"], json.loads(FIM))
    assert len(message["blocks"]) <= 50
    Webhook(secret).verify(sent.body, dict(sent.headers))

    assert by_path["/raw"].body == FIM.strip()
    Webhook(await secret_of(api, raw["id"])).verify(by_path["/raw"].body,
                                                    dict(by_path["/raw"].headers))


async def test_failing_custom_template_still_delivers_the_alert(
    api: AppHarness, receiver: Receiver
) -> None:
    """A custom template that fails on an alert does not stop it: the alert goes as
    received, wrapped with the reason, and the delivery log's request headers show it."""
    hook = await active_integration(api, receiver.url + "/custom", template="custom",
                                    template_options={"template": '{"n": {{ 1 // 0 }}}'})
    await trigger(api, [hook["id"]])
    receiver.requests.clear()
    await post_alerts(api, FIM)
    await eventually(lambda: len(receiver.requests) == 1)
    got = receiver.requests[0]
    body = json.loads(got.body)
    assert body["alert"] == json.loads(FIM)
    assert "ZeroDivisionError" in body["alertwire_template_error"]
    assert "line 1" in (got.header("alertwire-template-error") or "")
    Webhook(await secret_of(api, hook["id"])).verify(got.body, dict(got.headers))

    async def logged() -> bool:
        items = await deliveries(api, integration_id=hook["id"], include="attempts")
        return bool(items) and items[0]["status"] == "delivered"

    await eventually(logged)
    (delivery,) = await deliveries(api, integration_id=hook["id"], include="attempts")
    headers = delivery["attempts"][0]["request"]["headers"]
    assert "ZeroDivisionError" in headers["alertwire-template-error"]


async def test_a_large_digest_arrives_in_parts_on_every_channel(
    api: AppHarness, receiver: Receiver
) -> None:
    """120 alerts in a day reach a Slack and a raw channel as 3 digest parts each: Slack
    messages say `part k of 3` and list their alerts; raw parts carry each alert once; the
    `alertwire-alert-count` header says how many alerts a part stands for."""
    slack = await active_integration(api, receiver.url + "/slack", name="slack",
                                     template="slack")
    raw = await active_integration(api, receiver.url + "/raw", name="raw")
    await trigger(api, [slack["id"], raw["id"]], frequency="daily", timezone="UTC")
    alert = json.loads(FIM)
    batch = [alert | {"PodName": f"pod-{i:03d}"} for i in range(120)]
    ids = (await post_alerts(api, json.dumps(batch).encode()))["ids"]
    receiver.requests.clear()
    now = time.time()
    end_of_day = next_period_start("daily", "UTC", period_start("daily", "UTC", now))
    store = api.services.store
    assert await store.send_due_digests(end_of_day + 1) == 6
    async with store.engine.begin() as conn:  # due now, not at the end of the day
        await conn.execute(sa.update(deliveries_table).values(next_attempt_at=time.time()))
    await eventually(lambda: len(receiver.requests) == 6)

    by_part = sorted((r for r in receiver.requests if r.path == "/raw"),
                     key=lambda r: json.loads(r.body)["part"]["index"])
    parts = [json.loads(r.body) for r in by_part]
    assert [p["part"] for p in parts] == [{"index": k, "count": 3} for k in (1, 2, 3)]
    assert sorted(a["id"] for p in parts for a in p["alerts"]) == sorted(ids)
    assert [r.header("alertwire-alert-count") for r in by_part] == ["50", "50", "20"]
    assert all(r.header("alertwire-kind") == "digest" for r in by_part)

    messages = [json.loads(r.body) for r in receiver.requests if r.path == "/slack"]
    for k in (1, 2, 3):
        (message,) = [m for m in messages if f"part {k} of 3" in m["text"]]
        listed = "\n".join(b["text"]["text"] for b in message["blocks"] if "text" in b)
        named = {a["alert"]["PodName"] for a in parts[k - 1]["alerts"]}
        assert all(f"/{pod} " in listed for pod in named), f"part {k} leaves alerts out"
