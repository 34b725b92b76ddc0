"""`pagerduty`: an Events API v2 `trigger`, for `POST https://events.pagerduty.com/v2/enqueue`.

`{"routing_key", "event_action": "trigger", "dedup_key", "payload": {"summary", "source",
"severity", "timestamp", "component", "group", "class", "custom_details"}, "client"}`
(https://developer.pagerduty.com/docs/events-api-v2/trigger-events/): `routing_key` is the
32-character integration key; `severity` one of critical, error, warning, info.

Limits, documented on the same page: `summary` at most 1,024 characters (cut visibly,
`… 312 more characters`); `dedup_key` at most 255 (an id: when too long it keeps a hash
instead); a whole event at most 512 KB (kept under 512,000 bytes: the alert as received, in
`custom_details`, has its long strings cut visibly first, then long lists, `… 40 more
items`). `source`, `component`, `group` and `class` have no documented limit; alertwire cuts
them to 255 characters, a conservative choice. A digest part says `part k of n` in its
summary.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

from pydantic import Field

from alertwire.domain.severity import destination_severity
from alertwire.domain.templates._base import (
    JSON,
    SECRET,
    Rendered,
    Template,
    TemplateOptions,
)
from alertwire.domain.templates._summary import Summary, field_value, summarize
from alertwire.domain.templates._text import (
    dumps,
    json_bytes,
    json_size,
    one_line,
    shrink_json,
    truncate,
)

SUMMARY_LIMIT = 1024
DEDUP_KEY_LIMIT = 255
MAX_BYTES = 512 * 1000
FIELD_LIMIT = 255


class PagerDutyOptions(TemplateOptions):
    routing_key: str = Field(pattern=r"^[A-Za-z0-9]{32}$", json_schema_extra=SECRET,
                             description="The service's 32-character Events API v2 "
                                         "integration key.")
    dedup_fields: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(
        max_length=10, description=(
            "Alert fields whose values make the dedup key (repeats with equal values "
            "update one PagerDuty alert). Default: source, policy, action, namespace, "
            "pod or host, process."))] | None = None
    source: str | None = Field(None, max_length=255,
                               description="Fixed `payload.source`; by default the alert's "
                                           "pod or host.")
    client_url: str | None = Field(None, max_length=2048, pattern=r"^https?://\S+$",
                                   description="Link shown in PagerDuty, e.g. the console.")


def dedup_key(summary: Summary, options: PagerDutyOptions) -> str:
    if options.dedup_fields:
        values = [field_value(summary.alert, f) for f in options.dedup_fields]
        identity = "/".join("" if v is None else dumps(v).strip('"') for v in values)
    else:
        identity = summary.identity()
    key = f"alertwire/{identity}"
    if len(key) <= DEDUP_KEY_LIMIT:
        return key
    # A key is an id, not text for people: keep it unique rather than visibly cut.
    return key[:DEDUP_KEY_LIMIT - 17] + "#" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _field(value: str | None) -> str | None:
    return truncate(value, FIELD_LIMIT) if value else None


def render(options: PagerDutyOptions, body: bytes) -> Rendered:
    summary = summarize(body)
    payload: dict[str, Any] = {
        "summary": truncate(one_line(summary.headline), SUMMARY_LIMIT),
        "source": _field(options.source or (f"{summary.namespace}/{summary.pod}"
                                            if summary.pod and summary.namespace
                                            else summary.pod or summary.host)) or "alertwire",
        "severity": destination_severity(summary.severity).pagerduty,
    }
    optional = {
        "timestamp": summary.iso_time(),
        "component": _field(summary.container or summary.process),
        "group": _field(summary.namespace or summary.cluster),
        "class": _field(summary.operation or summary.policy),
    }
    payload.update({k: v for k, v in optional.items() if v})
    event: dict[str, Any] = {
        "routing_key": options.routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(summary, options),
        "payload": payload,
        "client": "alertwire",
    }
    if options.client_url:
        event["client_url"] = options.client_url
    details = {"facts": dict(summary.facts()), "alert": summary.alert}
    room = MAX_BYTES - json_size(event) - len(',"custom_details":')
    payload["custom_details"] = shrink_json(details, room)
    return Rendered(JSON, json_bytes(event))


TEMPLATE = Template("pagerduty", "PagerDuty Events API v2: trigger an alert.", PagerDutyOptions,
                    render)
