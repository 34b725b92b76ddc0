"""What every destination's tests share: the upstream fixtures, what a message must name for
each of them (read straight from the fixture, not from the code under test), and huge alerts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alertwire.domain.templates import render
from tests.fixtures import FIXTURES, fixture_files

FIXTURE_FILES = fixture_files()
FIXTURE_PARAMS = [
    pytest.param(path, id=str(path.relative_to(FIXTURES))) for path in FIXTURE_FILES
]
MARKER = "more characters"


def is_falco(alert: dict[str, Any]) -> bool:
    return "rule" in alert and "priority" in alert


def must_mention(alert: dict[str, Any]) -> dict[str, str]:
    """Policy, action, process, resource, host or pod, and severity, as the fixture states
    them: what a person on call needs to read in the message."""
    if is_falco(alert):
        fields = alert.get("output_fields", {})
        need = {"policy": alert["rule"], "severity": alert["priority"],
                "where": alert["hostname"]}
        process = fields.get("proc.cmdline") or fields.get("proc.name")
        if process:
            need["process"] = process
        if fields.get("fd.name"):
            need["resource"] = fields["fd.name"]
        return need
    need = {
        "policy": alert.get("PolicyName", "no policy"),
        "process": alert.get("ProcessName") or alert["Source"],
        "resource": alert.get("Resource") or alert["Data"],
        "where": alert.get("PodName") or alert["HostName"],
        "severity": f"{alert['Severity']}/10" if "Severity" in alert else "not stated",
    }
    if "Action" in alert:
        need["action"] = alert["Action"]
    return need


def assert_mentions(text: str, alert: dict[str, Any]) -> None:
    for what, value in must_mention(alert).items():
        assert value in text, f"the message does not name the {what} {value!r}:\n{text}"


def render_body(template: str, options: dict[str, Any], body: bytes) -> bytes:
    """The body as sent (sizes are measured on these bytes)."""
    rendered = render(template, options, body, strict=True)
    assert rendered.content_type == "application/json"
    assert rendered.error is None
    return rendered.body


def render_json(template: str, options: dict[str, Any], body: bytes) -> Any:
    return json.loads(render_body(template, options, body))


def load(path: Path) -> tuple[bytes, dict[str, Any]]:
    body = path.read_bytes()
    return body, json.loads(body)


def huge_kubearmor_alert() -> dict[str, Any]:
    """Every field a person reads, far beyond any destination's limits."""
    alert: dict[str, Any] = json.loads(
        (FIXTURES / "kubearmor/alerts/container-file-block.json").read_bytes())
    alert.update({
        "PolicyName": "policy-" + "p" * 5000,
        "Resource": "/data/" + "r" * 100_000,
        "Source": "/bin/sh -c " + "s" * 60_000,
        "Message": "M" * 50_000,
        "ATags": [f"TAG_{i}" for i in range(300)],
        "Severity": "9",
    })
    alert.update({f"extra_{i}": "x" * 500 for i in range(2000)})
    return alert


def huge_falco_alert() -> dict[str, Any]:
    alert: dict[str, Any] = json.loads(
        (FIXTURES / "falco/falco-write-below-binary-dir.json").read_bytes())
    alert["output"] = "O" * 300_000
    alert["output_fields"]["proc.cmdline"] = "touch " + "c" * 200_000
    return alert


def many_small_fields_alert() -> dict[str, Any]:
    """Too many short values to fit anywhere by cutting strings alone (over 1 MB)."""
    return {"Action": "Block", "PolicyName": "wide", "HostName": "h1",
            **{f"k{i}": i for i in range(100_000)}}


HUGE_ALERTS = [
    pytest.param(huge_kubearmor_alert, id="huge-kubearmor"),
    pytest.param(huge_falco_alert, id="huge-falco"),
    pytest.param(many_small_fields_alert, id="many-fields"),
]
