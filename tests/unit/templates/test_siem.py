"""SIEM forwarding: `splunk_hec` events and `elastic` documents keep the alert as received
and add what a search needs (time, host, a readable summary)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from alertwire.domain.templates import splunk_hec
from tests.unit.templates.support import (
    FIXTURE_PARAMS,
    HUGE_ALERTS,
    MARKER,
    assert_mentions,
    load,
    render_body,
    render_json,
)


@pytest.mark.parametrize("path", FIXTURE_PARAMS)
def test_splunk_event_for_every_fixture(path: Path) -> None:
    """`{"time", "host", "source", "sourcetype", "event", "fields"}`: time in epoch seconds,
    the alert unchanged as the event, indexed fields as strings naming what matters."""
    body, alert = load(path)
    event = render_json("splunk_hec", {"index": "security"}, body)
    assert set(event) == {"time", "host", "source", "sourcetype", "index", "event", "fields"}
    assert isinstance(event["time"], float) and event["time"] > 9e8  # Falco's test: 2001
    assert event["host"] == alert.get("HostName", alert.get("hostname"))
    assert event["sourcetype"] == "_json" and event["index"] == "security"
    assert event["event"] == alert
    assert all(isinstance(v, str) for v in event["fields"].values())
    assert_mentions(event["fields"]["alertwire_summary"], alert)


@pytest.mark.parametrize("max_event_bytes", [None, 400_000])
@pytest.mark.parametrize("make", HUGE_ALERTS)
def test_splunk_event_stays_under_truncate_and_max_content_length(
    make: Callable[[], Any], max_event_bytes: int | None
) -> None:
    """An event's JSON stays within `max_event_bytes` (10,000 by default: Splunk's TRUNCATE,
    beyond which it cuts the JSON silently), the request within HEC's 1,000,000 bytes;
    larger alerts are cut visibly, smaller ones go whole."""
    alert = make()
    options = {} if max_event_bytes is None else {"max_event_bytes": max_event_bytes}
    limit = max_event_bytes or 10_000
    sent = render_body("splunk_hec", options, json.dumps(alert).encode())
    assert len(sent) <= splunk_hec.MAX_BYTES
    event = json.loads(sent)["event"]
    assert len(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()) <= limit
    if len(json.dumps(alert, ensure_ascii=False, separators=(",", ":"))) > limit:
        assert MARKER in json.dumps(event)
    else:
        assert event == alert


@pytest.mark.parametrize("path", FIXTURE_PARAMS)
def test_elastic_document_for_every_fixture(path: Path) -> None:
    """A document with an ISO `@timestamp`, an ECS `message` naming what matters, and the
    alert as received under `alert`."""
    body, alert = load(path)
    doc = render_json("elastic", {}, body)
    assert datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00")).year >= 2001
    assert doc["event"]["kind"] == "alert"
    assert doc["alert"] == alert
    assert_mentions(doc["message"], alert)


def test_elastic_alert_as_string_under_another_field() -> None:
    """`alert_encoding: string` avoids mapping clashes; `alert_field` names the field."""
    doc = render_json("elastic", {"alert_field": "kubearmor", "alert_encoding": "string"},
                      b'{"Action": "Block", "PolicyName": "p"}')
    assert json.loads(doc["kubearmor"]) == {"Action": "Block", "PolicyName": "p"}
    assert "alert" not in doc


def test_alert_without_time_gets_the_current_time() -> None:
    """A generic alert stating no time is stamped when it is sent."""
    doc: dict[str, Any] = render_json("elastic", {}, b'{"msg": "hello"}')
    stamped = datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00"))
    assert abs(stamped.timestamp() - datetime.now().timestamp()) < 60


@pytest.mark.parametrize(("alert", "why"), [
    ({"rule": "r", "priority": "Error", "output": "o", "output_fields": {
        "container.image": "nginx", "container.image.repository": "nginx"}},
     "alert.output_fields.container.image is both a value and an object"),
    ({"Action": "Block", **{f"k{i}": f"v{i}" for i in range(400)}},
     "the alert would map 803 fields"),  # the object, 401 strings as text + keyword
    ({"Action": "Block", "deep": json.loads('{"a":' * 25 + '1' + '}' * 25)},
     "the alert nests 27 levels deep"),
])
def test_elastic_alert_a_document_cannot_map_goes_as_text_with_a_note(
    alert: dict[str, Any], why: str
) -> None:
    """Elasticsearch refuses a document whose fields clash (Falco's `container.image` beside
    `container.image.repository`), or that maps more fields or nests deeper than an index
    allows: such an alert goes as JSON text, and the document says why."""
    doc = render_json("elastic", {}, json.dumps(alert).encode())
    assert "alert" not in doc
    assert doc["alertwire"]["alert_note"].startswith(why)
    assert json.loads(doc["alertwire"]["alert_json"]) == alert
