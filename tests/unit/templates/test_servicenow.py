"""`servicenow`: a Table API incident with urgency and impact from the alert's severity."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alertwire.domain.severity import destination_severity
from alertwire.domain.templates import summarize
from tests.unit.templates.support import (
    FIXTURE_PARAMS,
    HUGE_ALERTS,
    MARKER,
    assert_mentions,
    load,
    render_json,
)


def assert_incident(incident: dict[str, Any]) -> str:
    short = incident["short_description"]
    assert isinstance(short, str) and 0 < len(short) <= 160 and "\n" not in short
    assert isinstance(incident["description"], str) and len(incident["description"]) <= 4000
    assert incident["urgency"] in {"1", "2", "3"} and incident["impact"] in {"1", "2", "3"}
    assert 0 < len(incident["correlation_id"]) <= 100
    return short + "\n" + incident["description"]


@pytest.mark.parametrize("path", FIXTURE_PARAMS)
def test_every_fixture_is_an_incident_naming_what_matters(path: Path) -> None:
    """Each sample becomes an incident naming policy, action, process, resource, host or pod,
    and severity, with urgency and impact from the documented mapping."""
    body, alert = load(path)
    incident = render_json("servicenow", {"assignment_group": "SecOps"}, body)
    assert_mentions(assert_incident(incident), alert)
    mapping = destination_severity(summarize(body).severity)
    assert incident["urgency"] == str(mapping.servicenow_urgency)
    assert incident["impact"] == str(mapping.servicenow_impact)
    assert incident["assignment_group"] == "SecOps"


@pytest.mark.parametrize("make", HUGE_ALERTS)
def test_huge_alerts_fit_the_fields(make: Callable[[], Any]) -> None:
    """Short description and description are cut visibly, never refused."""
    incident = render_json("servicenow", {}, json.dumps(make()).encode())
    assert MARKER in assert_incident(incident)


def test_repeats_share_a_correlation_id() -> None:
    """Two alerts of one policy on one pod correlate; another pod does not."""
    def cid(pod: str) -> str:
        body = json.dumps({"Action": "Block", "PolicyName": "p", "PodName": pod,
                           "NamespaceName": "ns", "ProcessName": "/bin/sh"}).encode()
        return str(render_json("servicenow", {}, body)["correlation_id"])

    assert cid("a") == cid("a") != cid("b")
