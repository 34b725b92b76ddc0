"""`github_dispatch`: a `repository_dispatch` event, for
`POST https://api.github.com/repos/<owner>/<repo>/dispatches` with
`Authorization: token <token>`; a workflow `on: repository_dispatch: types: [<event_type>]`
receives it as `github.event.client_payload`.

`{"event_type", "client_payload"}` (https://docs.github.com/en/rest/repos/repos#
create-a-repository-dispatch-event): `event_type` at most 100 characters; `client_payload`
at most 10 top-level properties, so the alert is nested under `alert` beside nine summary
fields, or only the fields chosen in `fields` are sent. GitHub answers 204 No Content. The
body is kept under 64 KiB by cutting the alert's long strings visibly.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from alertwire.domain.templates._base import JSON, Rendered, Template, TemplateOptions
from alertwire.domain.templates._summary import field_value, summarize
from alertwire.domain.templates._text import json_bytes, json_size, shrink_json, truncate

EVENT_TYPE_LIMIT = 100
MAX_PROPERTIES = 10
MAX_BYTES = 64 * 1024
SUMMARY_LIMIT = 1000


class GitHubDispatchOptions(TemplateOptions):
    event_type: str = Field(
        "alertwire-alert", min_length=1, max_length=EVENT_TYPE_LIMIT,
        description="The `types:` a workflow's `on: repository_dispatch` listens for.")
    fields: Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(
        max_length=MAX_PROPERTIES, description=(
            "Send only these alert fields as client_payload (at most 10; dotted paths reach "
            "nested values, e.g. `Owner.Name`). By default: summary fields and the whole "
            "alert under `alert`."))] | None = None

    @field_validator("fields")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len({f for f in value}) != len(value):
            raise ValueError("names a field twice")
        return value


def client_payload(options: GitHubDispatchOptions, body: bytes) -> dict[str, Any]:
    summary = summarize(body)
    if options.fields:
        return {name: field_value(summary.alert, name) for name in options.fields}
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
    size = json_size(event)
    if size > MAX_BYTES:
        # Shrink the largest values first, each within what the others leave.
        for name in sorted(payload, key=lambda n: json_size(payload[n]), reverse=True):
            room = MAX_BYTES - (size - json_size(payload[name]))
            payload[name] = shrink_json(payload[name], max(room, 64))
            size = json_size(event)
            if size <= MAX_BYTES:
                break
    return Rendered(JSON, json_bytes(event))


TEMPLATE = Template("github_dispatch", "GitHub repository_dispatch: an event for Actions.",
                    GitHubDispatchOptions, render)
