"""`servicenow`: an incident for the Table API, `POST /api/now/table/incident`.

Fields of the `incident` table (https://developer.servicenow.com/dev.do#!/reference/api/latest/
rest/c_TableAPI): `short_description`, `description`, `urgency` and `impact` (`1` High, `2`
Medium, `3` Low; the instance derives `priority` from the two), and `correlation_id` so
repeats of one problem can be matched by a business rule.

Limits: the base system dictionary gives `short_description` 160 characters, `description`
4,000 and `correlation_id` 100 (an instance's admin may change them; the Table API does not
refuse longer values but the instance cuts them without a mark). So alertwire cuts first,
visibly: the short description is the headline cut to 160 (`… 312 more characters`); the
description is the alert's summary, then the alert as received, together cut to 4,000. A
digest's description keeps its counts short and lists as many alert lines as fit, counting
the rest (`… and 30 more alerts not listed here`); a digest part says `part k of n` in the
short description. `correlation_id` is an id, not text: when too long it keeps a hash.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import Field, field_validator

from alertwire.domain.severity import destination_severity
from alertwire.domain.templates._base import JSON, Rendered, Template, TemplateOptions
from alertwire.domain.templates._summary import summarize
from alertwire.domain.templates._text import dumps, json_bytes, one_line, truncate

SHORT_DESCRIPTION_LIMIT = 160
DESCRIPTION_LIMIT = 4000
CORRELATION_ID_LIMIT = 100
RESERVED_FIELDS = frozenset({"short_description", "description", "urgency", "impact"})


class ServiceNowOptions(TemplateOptions):
    assignment_group: str | None = Field(None, max_length=255,
                                         description="Group name or sys_id to assign to.")
    caller_id: str | None = Field(None, max_length=255, description="Caller user name or sys_id.")
    category: str | None = Field(None, max_length=255, description="e.g. `security`.")
    subcategory: str | None = Field(None, max_length=255)
    cmdb_ci: str | None = Field(None, max_length=255, description="Configuration item.")
    extra_fields: dict[str, Any] = Field(
        default_factory=dict, description="More incident fields to set as given.")

    @field_validator("extra_fields")
    @classmethod
    def _extra(cls, value: dict[str, Any]) -> dict[str, Any]:
        clash = sorted(RESERVED_FIELDS & set(value))
        if clash:
            raise ValueError(f"{', '.join(clash)} is set by the template from the alert")
        return value


def correlation_id(identity: str) -> str:
    key = f"alertwire/{identity}"
    if len(key) <= CORRELATION_ID_LIMIT:
        return key
    # An id, not text for people: keep it unique rather than visibly cut.
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return key[:CORRELATION_ID_LIMIT - 17] + "#" + digest


def render(options: ServiceNowOptions, body: bytes) -> Rendered:
    summary = summarize(body)
    mapping = destination_severity(summary.severity)
    if summary.details:  # a digest: its alert lines first, the digest's JSON if room is left
        text = summary.text(DESCRIPTION_LIMIT - 100) + "\n\nAlert as received:\n"
    else:
        text = summary.text() + "\n\nAlert as received:\n"
    description = truncate(text + dumps(summary.alert, indent=2), DESCRIPTION_LIMIT)
    incident: dict[str, Any] = dict(options.extra_fields)
    incident.update({
        "short_description": truncate(one_line(summary.headline), SHORT_DESCRIPTION_LIMIT),
        "description": description,
        "urgency": str(mapping.servicenow_urgency),
        "impact": str(mapping.servicenow_impact),
        "correlation_id": correlation_id(summary.identity()),
        "correlation_display": "alertwire",
    })
    for name in ("assignment_group", "caller_id", "category", "subcategory", "cmdb_ci"):
        value = getattr(options, name)
        if value:
            incident[name] = value
    return Rendered(JSON, json_bytes(incident))


TEMPLATE = Template("servicenow", "ServiceNow: create an incident (Table API).",
                    ServiceNowOptions, render)
