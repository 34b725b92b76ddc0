"""`slack`: a Slack incoming-webhook message, `{"text", "blocks"}`.

Limits (https://api.slack.com/reference/block-kit/blocks): at most 50 blocks; a section's
text at most 3,000 characters; a section's `fields` at most 10, each at most 2,000; a header's
plain text at most 150. `text` stays as the notification and accessibility fallback. Slack
also refuses messages whose blocks add up to roughly 13,000 characters (`msg_blocks_too_long`,
slackapi/bolt-js#2509), so the parts below are budgeted to stay under about 12,000.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from alertwire.domain.templates._base import JSON, Rendered, Template, TemplateOptions
from alertwire.domain.templates._summary import Summary, summarize
from alertwire.domain.templates._text import dumps, json_bytes, truncate

MAX_BLOCKS = 50
SECTION_TEXT_LIMIT = 3000
FIELD_TEXT_LIMIT = 2000
FIELDS_PER_SECTION = 10
HEADER_LIMIT = 150
CONTEXT_ELEMENTS = 10
# Budget per part (see the module docstring).
TEXT_LIMIT = 3000
HEADLINE_LIMIT = 1000
FACT_LIMIT = 250
MESSAGE_LIMIT = 1500
DETAILS_LIMIT = 1500
ALERT_JSON_LIMIT = 2500


class SlackOptions(TemplateOptions):
    mention: str | None = Field(
        None, max_length=200,
        description="Put before the message of severe alerts, e.g. `<!here>`, `<@U024BE7LH>` "
                    "or `<!subteam^SAZ94GDB8>`.",
    )
    mention_min_severity: int = Field(
        7, ge=1, le=10, description="Alerts at or above this severity (1-10) get the mention.")
    include_alert_json: bool = Field(
        True, description="Add the alert as received (cut to fit) in a code block.")


def escape(text: str) -> str:
    """Slack treats `&`, `<` and `>` as control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}  # callers keep within SECTION_TEXT_LIMIT


def _titled(title: str, text: str, limit: int) -> str:
    return f"*{title}*\n" + truncate(text, limit, escape=escape)


def _code(text: str, limit: int) -> str:
    # A fence inside the JSON would end the code block early.
    inner = truncate(text.replace("```", "'''"), limit - 8, escape=escape)
    return f"```\n{inner}\n```"


def blocks_for(summary: Summary, options: SlackOptions, mention: str | None) -> list[Any]:
    lead = f"{mention} " if mention else ""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": False,
                                     "text": truncate(summary.title, HEADER_LIMIT)}},
        _section(lead + truncate(summary.headline, HEADLINE_LIMIT, escape=escape)),
    ]
    facts = summary.facts()
    for start in range(0, len(facts), FIELDS_PER_SECTION):
        chunk = facts[start:start + FIELDS_PER_SECTION]
        blocks.append({"type": "section", "fields": [
            _mrkdwn(_titled(label, value, FACT_LIMIT)) for label, value in chunk
        ]})
    if summary.message:
        title = "Output" if summary.kind == "falco" else "Message"
        blocks.append(_section(_titled(title, summary.message, MESSAGE_LIMIT)))
    if summary.details:
        blocks.append(_section(_titled("Alerts", "\n".join(summary.details), DETAILS_LIMIT)))
    blocks.append({"type": "context", "elements": [
        _mrkdwn(f"Sent by alertwire · {summary.source_name}"),
    ][:CONTEXT_ELEMENTS]})
    if options.include_alert_json:
        blocks.append(_section("*Alert as received*\n" + _code(dumps(summary.alert, indent=2),
                                                               ALERT_JSON_LIMIT)))
    return blocks[:MAX_BLOCKS]


def render(options: SlackOptions, body: bytes) -> Rendered:
    summary = summarize(body)
    mention = options.mention if (
        options.mention and summary.severity is not None
        and summary.severity >= options.mention_min_severity
    ) else None
    lead = f"{mention} " if mention else ""
    message = {
        "text": lead + truncate(summary.headline, TEXT_LIMIT - len(lead), escape=escape),
        "blocks": blocks_for(summary, options, mention),
    }
    return Rendered(JSON, json_bytes(message))


TEMPLATE = Template("slack", "Slack incoming webhook: a Block Kit message.", SlackOptions,
                    render)
