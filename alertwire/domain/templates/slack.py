"""`slack`: a Slack incoming-webhook message, `{"text", "blocks"}`.

Limits, documented (https://api.slack.com/reference/block-kit/blocks): at most 50 blocks; a
section's text at most 3,000 characters; a section's `fields` at most 10, each at most 2,000;
a header's plain text at most 150; a context block at most 10 elements; a message's `text`
is cut by Slack beyond 40,000 characters (https://api.slack.com/changelog/
2018-04-truncating-really-long-messages). Not documented but observed: Slack refuses a
message whose blocks add up to roughly 13,000 characters (`msg_blocks_too_long`,
slackapi/bolt-js#2509), so the text of all blocks is budgeted to stay under MESSAGE_BUDGET.

`text` (the notification and accessibility fallback) is the headline, cut to 3,000. Every
part is cut visibly (`… 312 more characters`, tags as `… and 180 more tags`). A digest lists
its alerts one line each (each line cut to 160 characters) in up to three sections; lines
that do not fit are counted (`… and 12 more alerts not listed here`), and a digest part says
`part k of n` in its header and text. A digest carries no "Alert as received" block: its
alerts are the lines (the whole digest is in the delivery log).
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
MESSAGE_BUDGET = 11_000  # characters of text in all blocks together
HEADLINE_LIMIT = 1000
FACT_LIMIT = 250
MESSAGE_LIMIT = 1500
DETAILS_LIMIT = 8200  # a digest's alert lines: 50 lines of 160 characters and a note
DETAILS_SECTION_LIMIT = 2900  # leaves room for the title of the first section
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


def _text_size(blocks: list[dict[str, Any]]) -> int:
    """Characters of text in `blocks`, as Slack counts them against MESSAGE_BUDGET."""
    size = 0
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            size += len(text["text"])
        size += sum(len(item["text"]) for item in block.get("fields", []))
        size += sum(len(item["text"]) for item in block.get("elements", []))
    return size


def _sections(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, split between lines."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        line = truncate(line, limit)  # only a line alone longer than a section is cut
        if current and len(current) + 1 + len(line) > limit:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        pieces.append(current)
    return pieces


def blocks_for(summary: Summary, options: SlackOptions, mention: str | None) -> list[Any]:
    lead = f"{mention} " if mention else ""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "emoji": False,
                                     "text": truncate(summary.title, HEADER_LIMIT)}},
        _section(lead + truncate(summary.headline, HEADLINE_LIMIT, escape=escape)),
    ]
    facts = summary.facts(FACT_LIMIT)
    for start in range(0, len(facts), FIELDS_PER_SECTION):
        chunk = facts[start:start + FIELDS_PER_SECTION]
        blocks.append({"type": "section", "fields": [
            _mrkdwn(_titled(label, value, FACT_LIMIT)) for label, value in chunk
        ]})
    if summary.message:
        title = "Output" if summary.kind == "falco" else "Message"
        blocks.append(_section(_titled(title, summary.message, MESSAGE_LIMIT)))
    context = {"type": "context", "elements": [
        _mrkdwn(f"Sent by alertwire · {summary.source_name}"),
    ][:CONTEXT_ELEMENTS]}
    if summary.details:
        room = min(DETAILS_LIMIT, MESSAGE_BUDGET - _text_size([*blocks, context]))
        lines = summary.detail_lines(room, escape=escape)
        for index, piece in enumerate(_sections(lines, DETAILS_SECTION_LIMIT)):
            blocks.append(_section(f"*Alerts*\n{piece}" if index == 0 else piece))
    blocks.append(context)
    if options.include_alert_json and summary.kind != "digest":
        blocks.append(_section("*Alert as received*\n" + _code(dumps(summary.alert, indent=2),
                                                               ALERT_JSON_LIMIT)))
    return blocks[:MAX_BLOCKS]  # a safety net: at most 10 blocks are made


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
