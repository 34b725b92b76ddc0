"""The template registry and the one place it is used: `build_request` renders through the
integration's template before signing; `raw` stays byte for byte."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from standardwebhooks.webhooks import Webhook

from alertwire.domain.digests import DigestAlert, build_digest
from alertwire.domain.integrations import IntegrationConfig
from alertwire.domain.outbound import TEMPLATE_ERROR_HEADER, build_request
from alertwire.domain.redaction import DEFAULT_REDACTOR
from alertwire.domain.signing import generate_secret
from alertwire.domain.templates import (
    TEMPLATES,
    Rendered,
    Template,
    TemplateOptions,
    describe,
    names,
    render,
)
from tests.unit.templates.support import FIXTURE_FILES, load

REQUIRED = {"jira": {"project_key": "SEC"}, "pagerduty": {"routing_key": "k" * 32},
            "custom": {"template": "{{ headline }}", "content_type": "text/plain"}}
ALL = [(name, REQUIRED.get(name, {})) for name in names()]


def test_every_destination_of_spec_6_is_registered() -> None:
    assert names() == ("raw", "slack", "teams", "jira", "servicenow", "splunk_hec", "elastic",
                       "pagerduty", "github_dispatch", "custom")
    schemas = {t["name"]: t["options_schema"] for t in describe()}
    assert set(schemas["jira"]["required"]) == {"project_key"}
    assert schemas["raw"]["properties"] == {}


def test_raw_is_byte_for_byte() -> None:
    """Spacing, key order and escapes of the alert survive untouched."""
    body = b'{ "b":1,\n  "a" : "\\u00e9", "Severity":"5" }'
    assert render("raw", {}, body) == Rendered("application/json", body)


@pytest.mark.parametrize(("name", "options"), ALL)
def test_unknown_options_are_refused_naming_them(name: str, options: dict[str, Any]) -> None:
    config = {"url": "https://r.example.com/", "template": name,
              "template_options": options | {"colour": "red"}}
    with pytest.raises(ValidationError) as caught:
        IntegrationConfig.model_validate(config)
    assert caught.value.errors()[0]["loc"] == ("template_options", "colour")


def test_unknown_template_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        IntegrationConfig(url="https://r.example.com/", template="smoke-signals")
    assert caught.value.errors()[0]["loc"] == ("template",)
    assert "known: raw, slack" in caught.value.errors()[0]["msg"]


@pytest.mark.parametrize(("name", "options"), ALL)
@pytest.mark.parametrize(
    "payload",
    [b'"just a string"', b"[1, 2, 3]", b"{}", b"not json at all", b'{"Severity": "high"}',
     b'{"time": "inf", "Timestamp": 1e300, "UpdatedTime": "9999-12-31T23:59:59+14:00"}',
     b'{"PolicyName": null, "Action": ["Block"], "Owner": "x", "output_fields": 3}'],
    ids=["string", "array", "empty", "not-json", "generic", "odd-times", "odd-types"],
)
def test_no_template_rejects_any_test_payload(
    name: str, options: dict[str, Any], payload: bytes
) -> None:
    """A test payload may be any JSON value: every template renders it."""
    rendered = render(name, options, payload, strict=True)
    assert rendered.error is None and rendered.body


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=30,
)
_KEYS = st.sampled_from(["PolicyName", "Action", "Severity", "ProcessName", "Resource",
                         "HostName", "PodName", "Owner", "ATags", "Tags", "UpdatedTime",
                         "Timestamp", "rule", "priority", "output", "output_fields", "time",
                         "hostname", "severity", "type", "counts", "alerts", "message"])


_DIGESTS = st.fixed_dictionaries(
    {"type": st.just("alertwire.digest"),
     "counts": st.dictionaries(st.sampled_from(["Severity", "PolicyName", "Action",
                                                "Namespace/Host"]), _JSON),
     "alerts": st.lists(st.fixed_dictionaries({"alert": _JSON}), max_size=3)},
    optional={"total": _JSON, "period": _JSON, "alerts_left_out": _JSON, "trigger": _JSON},
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alert=st.dictionaries(_KEYS, _JSON, max_size=12) | _DIGESTS)
def test_no_template_rejects_any_alert_shape(alert: dict[str, Any]) -> None:
    """Whatever the fields hold (KubeArmor, Falco and digest names with any JSON values),
    every template renders; none falls back."""
    body = json.dumps(alert).encode()
    for name, options in ALL:
        if name != "custom":  # the custom template is covered in test_custom.py
            assert render(name, options, body, strict=True).error is None


@pytest.mark.parametrize(("name", "options"), ALL)
def test_digests_render_with_their_counts(name: str, options: dict[str, Any]) -> None:
    """A digest names its trigger and total, and lists the alerts it summarises."""
    alerts = [DigestAlert(f"alr_{i}", 1_700_000_000 + i, "kubearmor", load(p)[1])
              for i, p in enumerate(FIXTURE_FILES)]
    digest = build_digest("Blocked in prod", "daily", "UTC", 1_699_999_000, 1_700_086_400,
                          alerts)
    body = render(name, options, json.dumps(digest).encode(), strict=True).body.decode()
    if name in {"slack", "teams", "jira", "servicenow", "custom"}:
        assert "Blocked in prod" in body and f"{len(alerts)} alerts" in body
    if name in {"slack", "teams", "servicenow"}:
        assert "harden-wordpress-pkg-mngr-exec" in body


def test_a_failing_template_falls_back_to_the_alert(monkeypatch: pytest.MonkeyPatch) -> None:
    """A template that breaks on an alert never loses it: the alert goes as received, wrapped
    with the reason."""
    def broken(options: TemplateOptions, body: bytes) -> Rendered:
        raise KeyError("boom")

    monkeypatch.setitem(TEMPLATES, "slack", Template("slack", "", TEMPLATES["slack"].options,
                                                     broken))
    rendered = render("slack", {}, b'{"Action": "Block"}')
    assert rendered.error == "slack template failed: KeyError: 'boom'"
    assert json.loads(rendered.body) == {"alertwire_template_error": rendered.error,
                                         "alert": {"Action": "Block"}}


def test_build_request_signs_the_rendered_body() -> None:
    """A Slack integration sends the Slack body, with its content type, signed over exactly
    those bytes; the official library verifies it."""
    secret = generate_secret()
    body, _ = load(FIXTURE_FILES[0])
    config = IntegrationConfig(url="https://hooks.slack.example/T/B/x", template="slack")
    request = build_request(config, body, message_id="msg_1", timestamp=int(time.time()),
                            secrets=[secret],
                            redactor=DEFAULT_REDACTOR)
    assert request.body is not None
    assert set(json.loads(request.body)) == {"text", "blocks"}
    assert request.headers["Content-Type"] == "application/json"
    Webhook(secret).verify(request.body, request.headers)
    assert TEMPLATE_ERROR_HEADER not in request.headers


def test_get_puts_the_rendered_fields_in_the_query() -> None:
    """GET sends the rendered body's top-level fields; a text body goes as `payload`."""
    config = IntegrationConfig(method="GET", url="https://r.example.com/", template="github_dispatch",
                               template_options={"event_type": "alert"})
    request = build_request(config, b'{"Action": "Block"}', message_id="m", timestamp=1,
                            secrets=[generate_secret()],
                            redactor=DEFAULT_REDACTOR)
    assert request.body is None and request.params is not None
    assert request.params["event_type"] == "alert"
    assert json.loads(request.params["client_payload"])["action"] == "Block"
    text = IntegrationConfig(method="GET", url="https://r.example.com/", template="custom",
                             template_options={"template": "{{ action }} & co"})
    request = build_request(text, b'{"Action": "Block"}', message_id="m", timestamp=1,
                            secrets=[generate_secret()],
                            redactor=DEFAULT_REDACTOR)
    assert request.params == {"payload": "Block & co"}


def test_content_type_from_template_unless_configured() -> None:
    """A custom template's content type is sent, but the integration's own header wins."""
    options = {"template": "{{ action }}", "content_type": "text/plain"}
    plain = IntegrationConfig(url="https://r.example.com/", template="custom",
                              template_options=options)
    own = IntegrationConfig(url="https://r.example.com/", template="custom",
                            template_options=options, headers={"content-type": "text/x-alert"})
    for config, expected in ((plain, "text/plain"), (own, "text/x-alert")):
        request = build_request(config, b'{"Action": "Block"}', message_id="m", timestamp=1,
                                secrets=[generate_secret()],
                            redactor=DEFAULT_REDACTOR)
        sent = {k.lower(): v for k, v in request.headers.items()}
        assert sent["content-type"] == expected and request.body == b"Block"


def test_fallback_is_marked_in_a_header() -> None:
    """When the template fails, the request says so (the delivery log records it)."""
    config = IntegrationConfig(url="https://r.example.com/", template="custom",
                               template_options={"template": "{{ 1 // 0 }}"})
    request = build_request(config, b'{"Action": "Block"}', message_id="m", timestamp=1,
                            secrets=[generate_secret()],
                            redactor=DEFAULT_REDACTOR)
    reason = request.headers[TEMPLATE_ERROR_HEADER]
    assert reason.startswith("custom template failed: line 1: ZeroDivisionError")
    assert reason.isascii()
    assert json.loads(request.body or b"")["alert"] == {"Action": "Block"}
