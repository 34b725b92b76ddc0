"""Structured JSON logs and the masking of credentials in them (SPEC §8, §9)."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest

from alertwire.domain.redaction import redact_text
from alertwire.logs import configure_logging


def events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_object_per_event_with_its_fields(captured: io.StringIO) -> None:
    """Each event is one line of JSON with time, level, logger and message, plus the fields
    passed as `extra`; an exception comes with its traceback."""
    configure_logging("info", captured)
    log = logging.getLogger("alertwire.delivery")
    log.info("delivery %s attempt %d: %s", "dlv_1", 2, "delivered",
             extra={"event": "delivery_attempt", "delivery_id": "dlv_1", "attempt": 2,
                    "status_code": 200, "latency_ms": 3.5, "error": None})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("recording failed")
    first, second = events(captured)
    assert first["time"].endswith("Z") and first["time"][10] == "T"
    assert {k: v for k, v in first.items() if k != "time"} == {
        "level": "info", "logger": "alertwire.delivery",
        "message": "delivery dlv_1 attempt 2: delivered", "event": "delivery_attempt",
        "delivery_id": "dlv_1", "attempt": 2, "status_code": 200, "latency_ms": 3.5,
        "error": None,
    }
    assert second["level"] == "error" and second["message"] == "recording failed"
    assert second["exception"].startswith("Traceback") and "ValueError: boom" in second["exception"]


def test_level_applies_to_alertwire_and_libraries_stay_quiet(captured: io.StringIO) -> None:
    """ALERTWIRE_LOG_LEVEL filters alertwire's events; libraries log warnings and above only,
    even at debug (SQLAlchemy's debug output would show statement parameters)."""
    configure_logging("warning", captured)
    logging.getLogger("alertwire.delivery").info("sent")
    logging.getLogger("alertwire.delivery").warning("failed")
    configure_logging("debug", captured)  # replaces the handler: nothing is written twice
    logging.getLogger("alertwire.delivery").debug("details")
    logging.getLogger("sqlalchemy.engine").info("INSERT … ('http://u:p@h/')")
    logging.getLogger("aiohttp.client").debug("headers")
    logging.getLogger("uvicorn.error").error("listener failed")
    assert [(e["logger"], e["message"]) for e in events(captured)] == [
        ("alertwire.delivery", "failed"), ("alertwire.delivery", "details"),
        ("uvicorn.error", "listener failed"),
    ]


def test_secrets_in_messages_fields_and_tracebacks_are_masked(captured: io.StringIO) -> None:
    """Whatever an event carries (message, `extra` fields, nested values, a traceback), URL
    credentials, secret query parameters, authorization values and token shapes are
    replaced by [REDACTED] before the line is written."""
    configure_logging("debug", captured)
    url = "https://alice:hunter2hunter2@example.test/hook?token=q-secret-123&channel=ops"
    try:
        raise RuntimeError(f"cannot send to {url}")
    except RuntimeError:
        logging.getLogger("alertwire.x").exception(
            "sending with Authorization: Bearer abc123def456ghi", extra={
                "error": f"invalid URL {url!r}", "nested": {"list": ["whsec_" + "A" * 32]}})
    (line,) = captured.getvalue().splitlines()
    for secret in ("hunter2hunter2", "q-secret-123", "abc123def456ghi", "whsec_AAAA"):
        assert secret not in line
    event = json.loads(line)
    assert event["message"] == "sending with Authorization: Bearer [REDACTED]"
    assert event["error"] == ("invalid URL 'https://[REDACTED]@example.test/hook"
                              "?token=[REDACTED]&channel=ops'")
    assert event["nested"] == {"list": ["[REDACTED]"]}
    assert "RuntimeError: cannot send to https://[REDACTED]@example.test/hook?token=[REDACTED]" \
        in event["exception"]


@pytest.mark.parametrize(("text", "expected"), [
    ("http://user:pass@10.1.2.3:8080/x", "http://[REDACTED]@10.1.2.3:8080/x"),
    ("postgresql://aw:pw@db/aw", "postgresql://[REDACTED]@db/aw"),
    ("/hook?api_key=k1&x=1&X-Amz-Signature=abc", "/hook?api_key=[REDACTED]&x=1&X-Amz-Signature=[REDACTED]"),
    ("Authorization: token ghp_" + "a1" * 18, "Authorization: token [REDACTED]"),
    ("Basic YWxpY2U6czNjcmV0", "Basic [REDACTED]"),
    ("xoxb-1234-5678-abcdefghij in text", "[REDACTED] in text"),
    ("aw_" + "Zx9" * 10, "[REDACTED]"),
    ("https://hooks.slack.com/services/T00/B00/XXXX", "https://hooks.slack.com/services/[REDACTED]"),
    ("delivery dlv_1 attempt 2: failed (status 503)", "delivery dlv_1 attempt 2: failed (status 503)"),
    ("unknown or revoked token", "unknown or revoked token"),
    ("connection refused by 127.0.0.1:9", "connection refused by 127.0.0.1:9"),
])
def test_redact_text(text: str, expected: str) -> None:
    """Credentials are masked; ordinary operational text is left as it is."""
    assert redact_text(text) == expected
