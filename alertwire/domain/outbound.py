"""The exact HTTP request an integration sends for a payload: body or query, headers, signature."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from alertwire.domain.integrations import IntegrationConfig
from alertwire.domain.redaction import Redactor
from alertwire.domain.signing import webhook_headers
from alertwire.domain.templates import render

# Set when the integration's template failed on this alert and the fallback body was sent:
# the delivery log (which records request headers) shows why.
TEMPLATE_ERROR_HEADER = "alertwire-template-error"
_HEADER_VALUE_LIMIT = 500


@dataclass(frozen=True)
class OutboundRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    params: dict[str, str] | None


def query_params(payload: bytes) -> dict[str, str]:
    """GET deliveries: top-level fields as parameters, nested values JSON-encoded. A body
    that is not JSON (a custom template's text) goes as one `payload` parameter."""
    try:
        value = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        return {"payload": payload.decode("utf-8", "replace")}
    if not isinstance(value, dict):
        return {"payload": json.dumps(value, separators=(",", ":"))}
    return {
        key: item if isinstance(item, str) else json.dumps(item, separators=(",", ":"))
        for key, item in value.items()
    }


def build_request(
    config: IntegrationConfig,
    payload: bytes,
    *,
    message_id: str,
    timestamp: int,
    secrets: Sequence[str],
    redactor: Redactor,
) -> OutboundRequest:
    """`payload` is the alert (or digest, or test payload) as JSON bytes. The redaction rules
    apply first (SPEC §8), so no template can send what they remove; then the integration's
    template renders it (`raw`: the bytes exactly as received, unless a rule matched), and
    the signature covers what is sent. The template's Content-Type applies unless the
    integration sets its own."""
    rendered = render(config.template, config.template_options, redactor.redact_json(payload))
    headers = dict(config.headers)
    if rendered.error is not None:
        reason = " ".join(rendered.error.split()).encode("ascii", "replace").decode()
        headers[TEMPLATE_ERROR_HEADER] = reason[:_HEADER_VALUE_LIMIT]
    if config.method == "GET":
        body: bytes | None = None
        params: dict[str, str] | None = query_params(rendered.body)
        signed = b""
    else:
        body, params, signed = rendered.body, None, rendered.body
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = rendered.content_type
    headers.update(webhook_headers(secrets, message_id, timestamp, signed))
    return OutboundRequest(config.method, config.url, headers, body, params)
