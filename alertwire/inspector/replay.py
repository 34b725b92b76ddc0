"""Server-side replay of a captured request to another URL, through the SSRF guard."""

from __future__ import annotations

from typing import Any

from multidict import CIMultiDict

from alertwire.delivery.http import HttpClient, SendError
from alertwire.domain.bins import replayable_headers
from alertwire.domain.redaction import Redactor
from alertwire.store import CapturedRequest

RESPONSE_BODY_LIMIT = 4096


async def replay(
    client: HttpClient, request: CapturedRequest, url: str, *, timeout: float,
    redactor: Redactor,
) -> dict[str, Any]:
    """Send the captured method, headers and body to `url`; report like Test Connection.
    The body leaves through the redaction rules like everything else (SPEC §8)."""
    # A multidict: a header the request repeated is replayed repeated, in its order.
    headers = CIMultiDict(replayable_headers(request.headers))
    body = redactor.redact_json(request.body) \
        if request.body or request.method not in ("GET", "HEAD") else None
    try:
        response = await client.send(request.method, url, headers=headers, body=body,
                                     timeout=timeout, max_body=RESPONSE_BODY_LIMIT)
    except SendError as exc:
        return {"ok": False, "status_code": None, "latency_ms": None, "response_headers": {},
                "response_body": None, "error": exc.message}
    return {
        "ok": 200 <= response.status < 300, "status_code": response.status,
        "latency_ms": round(response.latency_ms, 1),
        "response_headers": response.merged_headers(),
        "response_body": response.body.decode("utf-8", "replace"), "error": None,
    }
