"""The exact HTTP request an integration sends for a payload: body or query, headers, signature."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from alertwire.domain.integrations import IntegrationConfig
from alertwire.domain.signing import webhook_headers


@dataclass(frozen=True)
class OutboundRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    params: dict[str, str] | None


def query_params(payload: bytes) -> dict[str, str]:
    """GET deliveries: top-level fields as parameters, nested values JSON-encoded."""
    value = json.loads(payload)
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
) -> OutboundRequest:
    """`payload` is the rendered body (for `raw`, the alert bytes exactly as received)."""
    headers = dict(config.headers)
    if config.method == "GET":
        body: bytes | None = None
        params: dict[str, str] | None = query_params(payload)
        signed = b""
    else:
        body, params, signed = payload, None, payload
        if not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json"
    headers.update(webhook_headers(secrets, message_id, timestamp, signed))
    return OutboundRequest(config.method, config.url, headers, body, params)
