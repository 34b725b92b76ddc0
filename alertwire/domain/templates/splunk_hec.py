"""`splunk_hec`: one event for Splunk's HTTP Event Collector, `POST /services/collector/event`
with `Authorization: Splunk <token>`.

`{"time", "host", "source", "sourcetype", "index"?, "event", "fields"?}`
(https://help.splunk.com/splunk-enterprise/get-data-in/collect-http-event-data/
format-events-for-http-event-collector): `time` in epoch seconds, `event` the alert object as
received (searchable by its own field names), `fields` indexed string fields. HEC refuses
requests over `max_content_length` (1,000,000 bytes in older defaults), so a larger alert has
its long strings cut visibly.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from pydantic import Field

from alertwire.domain.templates._base import JSON, Rendered, Template, TemplateOptions
from alertwire.domain.templates._summary import summarize
from alertwire.domain.templates._text import json_bytes, json_size, shrink_json, truncate

MAX_BYTES = 1_000_000
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


def render(options: SplunkHecOptions, body: bytes) -> Rendered:
    summary = summarize(body)
    event: dict[str, Any] = {
        "time": round(summary.timestamp if summary.timestamp is not None else time.time(), 3),
        "host": options.host or summary.host or summary.pod or "alertwire",
        "source": options.source,
        "sourcetype": options.sourcetype,
    }
    if options.index:
        event["index"] = options.index
    if options.indexed_fields:
        event["fields"] = {
            "alertwire_source": summary.kind,
            "alertwire_severity": str(summary.severity) if summary.severity else "none",
            "alertwire_summary": truncate(summary.headline, SUMMARY_LIMIT),
        }
    room = MAX_BYTES - json_size(event) - len(',"event":')
    event["event"] = shrink_json(summary.alert, room)
    return Rendered(JSON, json_bytes(event))


TEMPLATE = Template("splunk_hec", "Splunk HTTP Event Collector: one event.", SplunkHecOptions,
                    render)
