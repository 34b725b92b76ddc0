"""`teams`: a Microsoft Teams message for a Workflows (Power Automate) webhook, carrying one
Adaptive Card 1.4.

Shape (https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/
how-to/add-incoming-webhook): `{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": <AdaptiveCard>}]}`.
Teams refuses messages over 28 KB, so the card is budgeted to stay under 27,000 bytes. A
Workflows webhook answers 202 Accepted, which is among the default success codes.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from alertwire.domain.templates._base import JSON, Rendered, Template, TemplateOptions
from alertwire.domain.templates._summary import Summary, summarize
from alertwire.domain.templates._text import dumps, json_bytes, json_size, truncate

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
MAX_BYTES = 27_000
HEADLINE_LIMIT = 1000
FACT_LIMIT = 500
MESSAGE_LIMIT = 2000
DETAILS_LIMIT = 3000


class TeamsOptions(TemplateOptions):
    include_alert_json: bool = Field(
        True, description="Add the alert as received (cut to fit) behind a button.")
    full_width: bool = Field(True, description="Use the whole width of the Teams channel.")


def _color(summary: Summary) -> str:
    if summary.severity is None:
        return "Default"
    if summary.severity >= 7:
        return "Attention"
    return "Warning" if summary.severity >= 4 else "Default"


def _text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _card(summary: Summary, options: TeamsOptions) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        _text_block(summary.title, size="Large", weight="Bolder", color=_color(summary)),
        _text_block(truncate(summary.headline, HEADLINE_LIMIT)),
        {"type": "FactSet", "facts": [
            {"title": label, "value": truncate(value, FACT_LIMIT)}
            for label, value in summary.facts()
        ]},
    ]
    if summary.message:
        body.append(_text_block(truncate(summary.message, MESSAGE_LIMIT), isSubtle=True))
    if summary.details:
        body.append(_text_block(truncate("\n\n".join(summary.details), DETAILS_LIMIT)))
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard", "version": CARD_VERSION, "body": body,
    }
    if options.full_width:
        card["msteams"] = {"width": "Full"}
    return card


def _message(card: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "attachments": [
        {"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card},
    ]}


def render(options: TeamsOptions, body: bytes) -> Rendered:
    summary = summarize(body)
    card = _card(summary, options)
    if options.include_alert_json:
        alert_json = dumps(summary.alert, indent=2)
        shown = _text_block("", fontType="Monospace", size="Small")
        card["actions"] = [{"type": "Action.ShowCard", "title": "Alert as received",
                            "card": {"type": "AdaptiveCard", "body": [shown]}}]
        # Whatever room the rest of the card leaves, measured as the JSON it becomes.
        room = MAX_BYTES - json_size(_message(card))
        shown["text"] = truncate(alert_json, max(room, 200),
                                 measure=lambda s: len(json.dumps(s, ensure_ascii=False)
                                                       .encode()) - 2)
    return Rendered(JSON, json_bytes(_message(card)))


TEMPLATE = Template("teams", "Microsoft Teams (Workflows webhook): an Adaptive Card 1.4.",
                    TeamsOptions, render)
