"""Sending one payload to an integration now, outside the delivery queue, and saying what
came back: Test Connection (SPEC §2) and fire drills. Nothing is recorded here."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from alertwire.delivery.http import HttpClient, SendError
from alertwire.domain.integrations import IntegrationConfig
from alertwire.domain.outbound import build_request
from alertwire.domain.redaction import Redactor

RESPONSE_BODY_LIMIT = 4096


@dataclass(frozen=True)
class SendReport:
    """`ok` only when the status is one of the success codes. Without an HTTP answer,
    `status_code` is None and `error_kind` is SendError's kind (`refused` by the SSRF guard,
    `timeout`, `connect`, `tls`, `invalid_url`, `other`)."""

    ok: bool
    status_code: int | None
    latency_ms: float
    error: str | None
    error_kind: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str | None = None


async def send_now(
    client: HttpClient,
    config: IntegrationConfig,
    payload: bytes,
    *,
    message_id: str,
    secrets: Sequence[str],
    timeout: float,
    redactor: Redactor,
    extra_headers: Mapping[str, str] | None = None,
) -> SendReport:
    """Send `payload` as the integration would (redaction rules, method, URL, headers,
    template, signature) and report the answer; never raises for network, TLS, timeout or
    SSRF problems."""
    request = build_request(config, payload, message_id=message_id,
                            timestamp=int(time.time()), secrets=secrets, redactor=redactor)
    if extra_headers:
        request.headers.update(extra_headers)
    started = time.perf_counter()
    try:
        response = await client.send(
            request.method, request.url, headers=request.headers, body=request.body,
            params=request.params, timeout=timeout, max_body=RESPONSE_BODY_LIMIT,
        )
    except SendError as exc:
        return SendReport(ok=False, status_code=None,
                          latency_ms=round((time.perf_counter() - started) * 1000, 1),
                          error=exc.message, error_kind=exc.kind)
    ok = response.status in config.success_codes
    return SendReport(
        ok=ok, status_code=response.status, latency_ms=round(response.latency_ms, 1),
        error=None if ok else (
            f"status {response.status} is not one of the success codes "
            f"{', '.join(map(str, config.success_codes))}"
        ),
        response_headers=response.merged_headers(),
        response_body=response.body.decode("utf-8", errors="replace"),
    )
