"""The request an integration sends: body or query string, headers, Standard Webhooks signature."""

from __future__ import annotations

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from alertwire.domain.integrations import IntegrationConfig
from alertwire.domain.outbound import build_request
from alertwire.domain.redaction import DEFAULT_REDACTOR
from alertwire.domain.signing import generate_secret

ALERT = b'{"Action":"Block","Owner":{"Name":"mysql"},"Severity":"5","PID":167}'


def test_post_sends_the_payload_bytes_signed() -> None:
    """POST carries the exact bytes; the official library verifies the signature."""
    secret = generate_secret()
    config = IntegrationConfig(url="https://r.example.com/", headers={"X-Team": "sec"})
    request = build_request(config, ALERT, message_id="msg_1", timestamp=int(time.time()),
                            secrets=[secret],
                            redactor=DEFAULT_REDACTOR)
    assert request.body == ALERT
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Team"] == "sec"
    assert request.headers["webhook-id"] == "msg_1"
    assert Webhook(secret).verify(ALERT, request.headers) == json.loads(ALERT)
    tampered = ALERT.replace(b"Block", b"Allow")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(ALERT, request.headers)


def test_rotation_signs_with_both_secrets() -> None:
    """During a rotation receivers holding either the old or the new secret verify."""
    old, new = generate_secret(), generate_secret()
    config = IntegrationConfig(url="https://r.example.com/")
    request = build_request(config, ALERT, message_id="m", timestamp=int(time.time()),
                            secrets=[new, old],
                            redactor=DEFAULT_REDACTOR)
    for secret in (old, new):
        Webhook(secret).verify(ALERT, request.headers)
    assert len(request.headers["webhook-signature"].split(" ")) == 2


def test_get_puts_top_level_fields_in_the_query() -> None:
    """GET sends no body; nested values are JSON-encoded parameters."""
    config = IntegrationConfig(method="GET", url="https://r.example.com/hook")
    request = build_request(config, ALERT, message_id="m", timestamp=1, secrets=[generate_secret()],
                            redactor=DEFAULT_REDACTOR)
    assert request.body is None
    assert request.params == {
        "Action": "Block", "Owner": '{"Name":"mysql"}', "Severity": "5", "PID": "167"
    }
    assert "Content-Type" not in request.headers


def test_user_content_type_wins() -> None:
    """An integration that sets its own Content-Type keeps it."""
    config = IntegrationConfig(url="https://r.example.com/",
                               headers={"content-type": "application/x-ndjson"})
    request = build_request(config, ALERT, message_id="m", timestamp=1, secrets=[generate_secret()],
                            redactor=DEFAULT_REDACTOR)
    assert "Content-Type" not in request.headers
    assert request.headers["content-type"] == "application/x-ndjson"
