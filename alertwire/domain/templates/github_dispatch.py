"""`github_dispatch`: a `repository_dispatch` event, for
`POST https://api.github.com/repos/<owner>/<repo>/dispatches` with
`Authorization: token <token>`; a workflow `on: repository_dispatch: types: [<event_type>]`
receives it as `github.event.client_payload`. GitHub answers 204 No Content.

Limits (https://docs.github.com/en/rest/repos/repos#create-a-repository-dispatch-event and
the REST API description): `event_type` at most 100 characters; `client_payload` at most 10
top-level properties ("maxProperties": 10, else 422), and "the total size of the JSON payload
must be less than 64KB". So:

- By default the alert is nested under `alert` beside nine summary fields; with the `fields`
  option, only the chosen alert fields (at most 10) are sent.
- A digest's client_payload is the default's ten properties (the digest under `alert`, its
  summary saying `part k of n`); with `fields`, it is `summary`, `source` ("digest"),
  `trigger`, `period`, `total`, `part`, `counts` and `alerts`, each alert reduced to its id
  and the chosen fields, so `fields` never empties a digest.
- The whole body stays under MAX_BYTES, measured with non-ASCII characters as JSON escapes
  (at least as large as UTF-8, whichever way GitHub counts): the largest values are cut
  first, long strings visibly (`… 312 more characters`), then long lists (`… 40 more
  items`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, field_validator

from alertwire.domain.templates._base import JSON, Rendered, Template, TemplateOptions
from alertwire.domain.templates._summary import Summary, field_value, summarize
from alertwire.domain.templates._text import json_bytes, shrink_json, truncate

EVENT_TYPE_LIMIT = 100
MAX_PROPERTIES = 10
MAX_BYTES = 63_000  # "less than 64KB", with a margin for how GitHub counts
SUMMARY_LIMIT = 1000


class GitHubDispatchOptions(TemplateOptions):
    event_type: str = Field(
        "alertwire-alert", min_length=1, max_length=EVENT_TYPE_LIMIT,
        description="The `types:` a workflow's `on: repository_dispatch` listens for.")
    fields: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(
        max_length=MAX_PROPERTIES, description=(
            "Send only these alert fields as client_payload (at most 10; dotted paths reach "
            "nested values, e.g. `Owner.Name`). By default: summary fields and the whole "
            "alert under `alert`. A digest sends them for each of its alerts."))] | None = None

    @field_validator("fields")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len({f for f in value}) != len(value):
            raise ValueError("names a field twice")
        return value


def size(value: Any) -> int:
    """Bytes of `value` as JSON with every non-ASCII character escaped: never less than its
    UTF-8 JSON."""
    return len(json.dumps(value, separators=(",", ":")))


def _selected(alert: Any, fields: list[str]) -> dict[str, Any]:
    return {name: field_value(alert, name) for name in fields}


def _digest_fields(summary: Summary, fields: list[str]) -> dict[str, Any]:
    digest: Mapping[str, Any] = summary.alert
    listed = digest.get("alerts")
    items = [a for a in listed if isinstance(a, Mapping)] if isinstance(listed, list) else []
    return {
        "summary": truncate(summary.headline, SUMMARY_LIMIT),
        "source": summary.kind,
        "trigger": digest.get("trigger"),
        "period": digest.get("period"),
        "total": digest.get("total"),
        "part": digest.get("part"),
        "counts": digest.get("counts"),
        "alerts": [{"id": item.get("id"), "fields": _selected(item.get("alert"), fields)}
                   for item in items],
    }


def client_payload(options: GitHubDispatchOptions, body: bytes) -> dict[str, Any]:
    summary = summarize(body)
    if options.fields:
        if summary.kind == "digest":
            return _digest_fields(summary, options.fields)
        return _selected(summary.alert, options.fields)
    return {
        "summary": truncate(summary.headline, SUMMARY_LIMIT),
        "source": summary.kind,
        "severity": summary.severity,
        "policy": summary.policy,
        "action": summary.action,
        "process": summary.process,
        "resource": summary.resource,
        "host": summary.host,
        "workload": f"{summary.namespace}/{summary.pod}" if summary.pod and summary.namespace
        else summary.pod,
        "alert": summary.alert,
    }


def render(options: GitHubDispatchOptions, body: bytes) -> Rendered:
    payload = client_payload(options, body)
    event = {"event_type": options.event_type, "client_payload": payload}
    total = size(event)
    if total > MAX_BYTES:
        # Shrink the largest values first, each within what the others leave.
        for name in sorted(payload, key=lambda n: size(payload[n]), reverse=True):
            room = MAX_BYTES - (total - size(payload[name]))
            payload[name] = shrink_json(payload[name], max(room, 64), size=size)
            total = size(event)
            if total <= MAX_BYTES:
                break
    return Rendered(JSON, json_bytes(event))


TEMPLATE = Template("github_dispatch", "GitHub repository_dispatch: an event for Actions.",
                    GitHubDispatchOptions, render)
