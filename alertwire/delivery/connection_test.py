"""Test Connection (SPEC §2): send the test payload once and report what came back."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from alertwire.delivery.http import HttpClient, SendError
from alertwire.domain.crypto import new_id
from alertwire.domain.integrations import IntegrationConfig
from alertwire.domain.outbound import build_request
from alertwire.domain.redaction import Redactor
from alertwire.domain.samples import kubearmor_file_integrity_alert

RESPONSE_BODY_LIMIT = 4096


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
    request = build_request(
        config, connection_test_payload(config), message_id=new_id("msg_test"),
        timestamp=int(time.time()), secrets=secrets, redactor=redactor,
    )
    started = time.perf_counter()
    try:
        response = await client.send(
            request.method, request.url, headers=request.headers, body=request.body,
            params=request.params, timeout=timeout, max_body=RESPONSE_BODY_LIMIT,
        )
    except SendError as exc:
        return {
            "ok": False, "status_code": None,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            "response_headers": {}, "response_body": None, "error": exc.message,
        }
    ok = response.status in config.success_codes
    return {
        "ok": ok, "status_code": response.status, "latency_ms": round(response.latency_ms, 1),
        "response_headers": response.merged_headers(),
        "response_body": response.body.decode("utf-8", errors="replace"),
        "error": None if ok else (
            f"status {response.status} is not one of the success codes "
            f"{', '.join(map(str, config.success_codes))}"
        ),
    }
