"""Templates on the wire: Test Connection and real deliveries send the rendered body, signed
over exactly what is sent, to a real receiver on 127.0.0.1; `raw` stays byte for byte."""

from __future__ import annotations

import json

from standardwebhooks.webhooks import Webhook

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
