"""`splunk_hec`: events for Splunk's HTTP Event Collector, `POST /services/collector/event`
with `Authorization: Splunk <token>`.

`{"time", "host", "source", "sourcetype", "index"?, "event", "fields"?}`
(https://help.splunk.com/splunk-enterprise/get-data-in/collect-http-event-data/
format-events-for-http-event-collector): `time` in epoch seconds, `event` the alert object as
received (searchable by its own field names), `fields` indexed string fields.

Limits: HEC refuses a request larger than `max_content_length` (limits.conf `[http_input]`;
1,000,000 bytes in older releases, larger in recent ones): alertwire keeps every request
under MAX_BYTES = 1,000,000, a conservative choice that suits every release. Within a request
Splunk does not refuse a long event but cuts its `_raw` at the sourcetype's `TRUNCATE`
(props.conf, 10,000 bytes by default, `_json` included), silently and in the middle of the
JSON, so its fields are lost. So each event's JSON is kept under `max_event_bytes` (default
10,000; raise it to the sourcetype's TRUNCATE): long strings are cut visibly first
(`… 312 more characters`), then long lists (`… 40 more items`), and only when neither is
enough does the event become the alert's JSON as one visibly cut string.

A digest (or digest part) is split into several events in one request (HEC takes events one
after another in one body): first the digest itself, its counts and the ids of its alerts
(`alertwire_source` `digest`, the summary saying `part k of n`), then each of its alerts as
its own event (`alertwire_digest` names the digest), so every alert is searchable and none
has to be cut to fit a single event.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from alertwire.domain.templates._base import JSON, Rendered, Template, TemplateOptions
from alertwire.domain.templates._summary import Summary, summarize, summarize_value
from alertwire.domain.templates._text import json_bytes, json_size, shrink_json, truncate

MAX_BYTES = 1_000_000
DEFAULT_EVENT_BYTES = 10_000
MIN_EVENT_BYTES = 1_000
SUMMARY_LIMIT = 1000
_Name = Annotated[str, Field(min_length=1, max_length=1024)]


class SplunkHecOptions(TemplateOptions):
    sourcetype: _Name = Field("_json", description="`_json` extracts the alert's fields.")
    source: _Name = "alertwire"
    index: _Name | None = Field(None, description="Index to write to (the token's default "
                                                  "when absent).")
    host: _Name | None = Field(None, description="Fixed host; by default the alert's host.")
    indexed_fields: bool = Field(
        True, description="Add indexed `fields`: alertwire_source, alertwire_severity, "
                          "alertwire_summary.")
    max_event_bytes: int = Field(
        DEFAULT_EVENT_BYTES, ge=MIN_EVENT_BYTES, le=MAX_BYTES // 2, description=(
            "Largest event JSON sent, in bytes: the sourcetype's TRUNCATE (props.conf; "
            "10,000 by default), beyond which Splunk cuts an event's JSON silently. Larger "
            "alerts are cut visibly to fit."))


def _envelope(options: SplunkHecOptions, summary: Summary,
              extra: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An event without its `event`: time, host, source, sourcetype, index, fields."""
    envelope: dict[str, Any] = {
        "time": round(summary.timestamp if summary.timestamp is not None else time.time(), 3),
        "host": options.host or summary.host or summary.pod or "alertwire",
        "source": options.source,
        "sourcetype": options.sourcetype,
    }
    if options.index:
        envelope["index"] = options.index
    if options.indexed_fields:
        envelope["fields"] = {
            "alertwire_source": summary.kind,
            "alertwire_severity": str(summary.severity) if summary.severity else "none",
            "alertwire_summary": truncate(summary.headline, SUMMARY_LIMIT),
            **(extra or {}),
        }
    return envelope


def _event(envelope: dict[str, Any], value: Any, max_bytes: int) -> dict[str, Any]:
    return {**envelope, "event": shrink_json(value, max_bytes)}


def _digest_events(options: SplunkHecOptions, summary: Summary) -> list[dict[str, Any]]:
    digest = summary.alert
    listed = digest.get("alerts")
    items = [a for a in listed if isinstance(a, Mapping)] if isinstance(listed, list) else []
    head = {key: value for key, value in digest.items() if key != "alerts"}
    head["alert_ids"] = [a.get("id") for a in items]
    envelopes: list[tuple[dict[str, Any], Any]] = [(_envelope(options, summary), head)]
    name = truncate(summary.title, SUMMARY_LIMIT)
    for item in items:
        inner = item.get("alert", item)
        extra = {"alertwire_digest": name}
        if isinstance(item.get("id"), str):
            extra["alertwire_alert_id"] = item["id"]
        envelopes.append((_envelope(options, summarize_value(inner), extra), inner))
    # Every event gets the same share of the request, at most max_event_bytes.
    overhead = sum(json_size(e) + len(',"event":') + 1 for e, _ in envelopes)
    share = min(options.max_event_bytes, (MAX_BYTES - overhead) // len(envelopes))
    return [_event(envelope, value, max(share, 64)) for envelope, value in envelopes]


def render(options: SplunkHecOptions, body: bytes) -> Rendered:
    summary = summarize(body)
    if summary.kind == "digest":
        events = _digest_events(options, summary)
        return Rendered(JSON, b"\n".join(json_bytes(e) for e in events))
    envelope = _envelope(options, summary)
    room = min(options.max_event_bytes, MAX_BYTES - json_size(envelope) - len(',"event":'))
    return Rendered(JSON, json_bytes(_event(envelope, summary.alert, room)))


TEMPLATE = Template("splunk_hec", "Splunk HTTP Event Collector: one event (a digest: one "
                    "event per alert, after the digest's).", SplunkHecOptions, render)
