"""`teams`: a Microsoft Teams message for a Workflows (Power Automate) webhook, carrying one
Adaptive Card 1.4.

Shape (https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/
how-to/add-incoming-webhook): `{"type": "message", "attachments": [{"contentType":
"application/vnd.microsoft.card.adaptive", "contentUrl": null, "content": <AdaptiveCard>}]}`.
A Workflows webhook answers 202 Accepted, which is among the default success codes.

Limits: Teams refuses a message over 28 KB ("The message size limit is 28 KB", same page,
for connectors and Workflows alike), so the whole message, measured as the UTF-8 JSON sent,
stays under MAX_BYTES (27,000 bytes: a margin for what Teams adds). Adaptive Cards document
no per-text or per-fact limits; the parts below are budgeted so the card reads well, each cut
visibly (`… 312 more characters`, tags as `… and 180 more tags`), and when text in wide
characters still makes the card too large, every part is cut further until it fits. A
digest lists its alerts one line each (each cut to 160 characters; those that do not fit are
counted), and a digest part says `part k of n` in its title. The alert as received fills the
room left, behind the "Alert as received" button.
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
DETAILS_LIMIT = 8500  # a digest's alert lines: 50 lines of 160 characters and a note
# When the card is still too large (text in wide characters), every limit is scaled down.
_SCALES = (1.0, 0.5, 0.25, 0.1)
ALERT_JSON_MIN = 200  # bytes of the alert as received shown, at least


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


def _card(summary: Summary, options: TeamsOptions, scale: float = 1.0) -> dict[str, Any]:
    def limit(n: int) -> int:
        return int(n * scale)

    body: list[dict[str, Any]] = [
        _text_block(truncate(summary.title, limit(HEADLINE_LIMIT)), size="Large",
                    weight="Bolder", color=_color(summary)),
        _text_block(truncate(summary.headline, limit(HEADLINE_LIMIT))),
    ]
    facts = summary.facts(limit(FACT_LIMIT))
    if facts:
        body.append({"type": "FactSet", "facts": [
            {"title": label, "value": value} for label, value in facts
        ]})
    if summary.message:
        body.append(_text_block(truncate(summary.message, limit(MESSAGE_LIMIT)),
                                isSubtle=True))
    if summary.details:
        # Markdown in a TextBlock needs a blank line to break a line.
        lines = summary.detail_lines(limit(DETAILS_LIMIT)).replace("\n", "\n\n")
        body.append(_text_block(lines))
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


def _json_text_size(text: str) -> int:
    """Bytes `text` takes as a JSON string, quotes left out."""
    return len(json.dumps(text, ensure_ascii=False).encode()) - 2


def render(options: TeamsOptions, body: bytes) -> Rendered:
    summary = summarize(body)
    reserve = ALERT_JSON_MIN + 200 if options.include_alert_json else 0
    for scale in _SCALES:
        card = _card(summary, options, scale)
        if json_size(_message(card)) + reserve <= MAX_BYTES:
            break
    if options.include_alert_json:
        shown = _text_block("", fontType="Monospace", size="Small")
        card["actions"] = [{"type": "Action.ShowCard", "title": "Alert as received",
                            "card": {"type": "AdaptiveCard", "body": [shown]}}]
        # Whatever room the rest of the card leaves, measured as the JSON it becomes.
        room = MAX_BYTES - json_size(_message(card))
        shown["text"] = truncate(dumps(summary.alert, indent=2), max(room, ALERT_JSON_MIN),
                                 measure=_json_text_size)
    return Rendered(JSON, json_bytes(_message(card)))


TEMPLATE = Template("teams", "Microsoft Teams (Workflows webhook): an Adaptive Card 1.4.",
                    TeamsOptions, render)
