"""`pagerduty`: Events API v2 triggers with a mapped severity and a stable dedup key."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from alertwire.domain.severity import destination_severity
from alertwire.domain.templates import pagerduty, summarize, validate_options
from tests.unit.templates.support import (
    FIXTURE_PARAMS,
    HUGE_ALERTS,
    MARKER,
    assert_mentions,
    load,
    render_body,
    render_json,
)

KEY = "R0123456789abcdef0123456789ABCDE"
OPTIONS = {"routing_key": KEY}


def assert_event(event: dict[str, Any], size: int = 0) -> dict[str, Any]:
    assert event["routing_key"] == KEY
    assert event["event_action"] == "trigger"
    assert 0 < len(event["dedup_key"]) <= 255
    payload: dict[str, Any] = event["payload"]
    assert 0 < len(payload["summary"]) <= 1024
    assert isinstance(payload["source"], str) and payload["source"]
    assert payload["severity"] in {"critical", "error", "warning", "info"}
    assert size <= 512 * 1000
    return payload


@pytest.mark.parametrize("path", FIXTURE_PARAMS)
def test_every_fixture_triggers_with_a_summary_naming_what_matters(path: Path) -> None:
    """Each sample is a valid trigger whose summary names policy, action, process, resource,
    host or pod, and severity; severity follows the documented mapping."""
    body, alert = load(path)
    payload = assert_event(render_json("pagerduty", OPTIONS, body))
    assert_mentions(payload["summary"], alert)
    expected = destination_severity(summarize(body).severity).pagerduty
    assert payload["severity"] == expected
    assert payload["custom_details"]["alert"] == alert


@pytest.mark.parametrize("make", HUGE_ALERTS)
def test_huge_alerts_fit_the_event_limits(make: Callable[[], Any]) -> None:
    body = render_body("pagerduty", OPTIONS, json.dumps(make()).encode())
    assert_event(json.loads(body), len(body))
    assert MARKER in body.decode()


def test_dedup_key_groups_repeats_and_can_be_chosen() -> None:
    """By default repeats of a policy on a pod by a process share a key; `dedup_fields`
    picks the fields instead; an overlong key stays unique and within 255."""
    def key(alert: dict[str, Any], **options: Any) -> str:
        event = render_json("pagerduty", OPTIONS | options, json.dumps(alert).encode())
        return str(event["dedup_key"])

    a = {"Action": "Block", "PolicyName": "p", "PodName": "web-1", "ProcessName": "/bin/sh",
         "Resource": "/etc/a"}
    assert key(a) == key(a | {"Resource": "/etc/b"}) != key(a | {"PodName": "web-2"})
    assert key(a, dedup_fields=["Resource"]) == "alertwire//etc/a"
    long_a, long_b = key(a | {"PolicyName": "x" * 400}), key(a | {"PolicyName": "x" * 401})
    assert len(long_a) <= 255 and long_a != long_b


def test_routing_key_is_required_and_checked() -> None:
    """The 32-character integration key is required; anything else is refused."""
    for options in ({}, {"routing_key": "short"}, {"routing_key": "x" * 31 + "!"}):
        with pytest.raises(ValidationError) as caught:
            validate_options("pagerduty", options)
        assert caught.value.errors()[0]["loc"] == ("routing_key",)
    assert pagerduty.SUMMARY_LIMIT == 1024
