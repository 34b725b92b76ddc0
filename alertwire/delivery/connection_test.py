"""Test Connection (SPEC §2): send the test payload once and report what came back."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from alertwire.delivery.direct import send_now
from alertwire.delivery.http import HttpClient
from alertwire.domain.crypto import new_id
from alertwire.domain.integrations import IntegrationConfig
from alertwire.domain.redaction import Redactor
from alertwire.domain.samples import kubearmor_file_integrity_alert


def connection_test_payload(config: IntegrationConfig) -> bytes:
    payload = config.test_payload
    if payload is None:
        payload = kubearmor_file_integrity_alert()
    return json.dumps(payload).encode()


async def run_connection_test(
    client: HttpClient, config: IntegrationConfig, *, secrets: Sequence[str], timeout: float,
    redactor: Redactor,
) -> dict[str, Any]:
    """`{ok, status_code, latency_ms, response_headers, response_body, error}`; never raises
    for network, TLS, timeout or SSRF problems: those are `ok: false` with an `error`.
    The test payload is redacted like any alert (`redactor`)."""
    report = await send_now(client, config, connection_test_payload(config),
                            message_id=new_id("msg_test"), secrets=secrets, timeout=timeout,
                            redactor=redactor)
    return {
        "ok": report.ok, "status_code": report.status_code, "latency_ms": report.latency_ms,
        "response_headers": report.response_headers, "response_body": report.response_body,
        "error": report.error,
    }
