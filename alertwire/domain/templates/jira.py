"""`jira`: a Jira create-issue body, for `POST /rest/api/2/issue` or `/rest/api/3/issue`.

`{"fields": {"project": {"key"}, "issuetype": {"name"}, "summary", "description", "labels",
"priority": {"name"}}}` (https://developer.atlassian.com/cloud/jira/platform/rest/v3/
api-group-issues/#api-rest-api-3-issue-post). API v2 takes the description as wiki markup
text, v3 as an Atlassian Document Format document
(https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/). Data Center
and Server only speak v2, which is why it is the default.

Limits: the summary is one line of at most 255 characters (Jira refuses longer: "Summary must
be less than 255 characters"); a text field such as the description holds at most 32,767
characters (Jira Cloud; Data Center's `jira.text.field.character.limit` is often set to the
same). The description stays under 32,000 characters, counted on the wiki text (v2) or on the
ADF document's JSON (v3, the stricter reading). It holds the alert's summary (at most
TEXT_LIMIT characters; a digest's alert lines whole, the ones that do not fit counted) and
then the alert as received in the room left, cut visibly (`… 312 more characters`). ADF text
nodes are never empty (Jira refuses those). A digest part says `part k of n` in its summary.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator

from alertwire.domain.severity import destination_severity
from alertwire.domain.templates._base import JSON, Rendered, Template, TemplateOptions
from alertwire.domain.templates._summary import Summary, summarize
from alertwire.domain.templates._text import dumps, json_bytes, one_line, truncate

SUMMARY_LIMIT = 255
DESCRIPTION_LIMIT = 32_000  # Jira's is 32,767; the rest is margin
TEXT_LIMIT = 16_000  # of the description, before the alert JSON
ADF_FACT_LIMIT = 500
RESERVED_FIELDS = frozenset({"project", "issuetype", "summary", "description"})


def _upper_strip(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


class JiraOptions(TemplateOptions):
    project_key: Annotated[str, BeforeValidator(_upper_strip), Field(
        pattern=r"^[A-Z][A-Z0-9_]+$", max_length=255,
        description="The project's key, e.g. `SEC` (an uppercase letter, then uppercase "
                    "letters, digits or `_`).")]
    issue_type: Annotated[str, Field(min_length=1, max_length=255,
                                     description="Issue type name, e.g. `Task`, `Bug`.")] = "Task"
    api_version: Annotated[int, Field(ge=2, le=3, description=(
        "2: description as wiki markup (Cloud, Data Center, Server); "
        "3: as Atlassian Document Format (Cloud)."))] = 2
    labels: list[str] = Field(default_factory=lambda: ["alertwire"], max_length=20,
                              description="Labels to set (no spaces).")
    set_priority: bool = Field(
        True, description="Set `priority` from the alert's severity (turn off when the "
                          "project's create screen has no Priority field).")
    extra_fields: dict[str, Any] = Field(
        default_factory=dict,
        description="More fields to set as given, e.g. `{\"components\": [{\"name\": \"k8s\"}]}`.")

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        for label in value:
            if not label or len(label) > 255 or any(c.isspace() for c in label):
                raise ValueError(f"{label!r} is not a Jira label (1-255 characters, no spaces)")
        return value

    @field_validator("extra_fields")
    @classmethod
    def _extra(cls, value: dict[str, Any]) -> dict[str, Any]:
        clash = sorted(RESERVED_FIELDS & set(value))
        if clash:
            raise ValueError(f"{', '.join(clash)} is set by the template; use the options")
        return value


def _plain(text: str) -> str:
    # Inside {noformat} and {code} nothing is markup except the closing macro itself.
    return text.replace("{noformat", "{ noformat").replace("{code", "{ code")


def wiki_description(summary: Summary) -> str:
    text = "{noformat}\n" + _plain(summary.text(TEXT_LIMIT)) + "\n{noformat}\n"
    head = text + "h4. Alert as received\n{code:json}\n"
    tail = "\n{code}"
    room = DESCRIPTION_LIMIT - len(head) - len(tail)
    return head + truncate(_plain(dumps(summary.alert, indent=2)), room) + tail


def _adf_text(text: str, *marks: str) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": text}
    if marks:
        node["marks"] = [{"type": m} for m in marks]
    return node


def _paragraph(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def adf_description(summary: Summary) -> dict[str, Any]:
    """An ADF document: headline, the facts as a list, message, digest lines, and the alert
    as JSON."""
    content: list[dict[str, Any]] = [_paragraph(_adf_text(truncate(summary.headline, 1000),
                                                          "strong"))]
    items = []
    for label, value in summary.facts(ADF_FACT_LIMIT):
        items.append({"type": "listItem", "content": [
            _paragraph(_adf_text(f"{label}: ", "strong"), _adf_text(value))]})
    if items:
        content.append({"type": "bulletList", "content": items})
    if summary.message:
        content.append(_paragraph(_adf_text(truncate(summary.message, TEXT_LIMIT // 4))))
    if summary.details:
        lines = summary.detail_lines(TEXT_LIMIT // 2)
        content.append(_paragraph(*_with_breaks(lines)))
    code: dict[str, Any] = _adf_text("{}")  # ADF text nodes must not be empty
    content += [
        {"type": "heading", "attrs": {"level": 4}, "content": [_adf_text("Alert as received")]},
        {"type": "codeBlock", "attrs": {"language": "json"}, "content": [code]},
    ]
    doc = {"type": "doc", "version": 1, "content": content}
    room = DESCRIPTION_LIMIT - len(dumps(doc))
    code["text"] = truncate(dumps(summary.alert, indent=2), max(room, 40),
                            measure=lambda s: len(json.dumps(s, ensure_ascii=False))) or "…"
    return doc


def _with_breaks(text: str) -> list[dict[str, Any]]:
    """Text nodes with ADF hard breaks between the lines (an empty line gets none)."""
    nodes: list[dict[str, Any]] = []
    for line in text.split("\n"):
        if nodes:
            nodes.append({"type": "hardBreak"})
        if line:
            nodes.append(_adf_text(line))
    return nodes or [_adf_text("…")]


def render(options: JiraOptions, body: bytes) -> Rendered:
    summary = summarize(body)
    fields: dict[str, Any] = dict(options.extra_fields)
    fields.update({
        "project": {"key": options.project_key},
        "issuetype": {"name": options.issue_type},
        "summary": truncate(one_line(summary.headline), SUMMARY_LIMIT),
        "description": adf_description(summary) if options.api_version == 3
        else wiki_description(summary),
    })
    if options.labels:
        fields["labels"] = list(options.labels)
    if options.set_priority:
        fields["priority"] = {"name": destination_severity(summary.severity).jira_priority}
    return Rendered(JSON, json_bytes({"fields": fields}))


TEMPLATE = Template("jira", "Jira: create an issue (REST API v2 or v3).", JiraOptions, render)
