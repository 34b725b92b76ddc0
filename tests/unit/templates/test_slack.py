"""`slack`: a Block Kit incoming-webhook message within Slack's documented limits."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alertwire.domain.templates import slack
from tests.unit.templates.support import (
    FIXTURE_PARAMS,
    HUGE_ALERTS,
    MARKER,
    assert_mentions,
    load,
    render_json,
)


def texts(message: dict[str, Any]) -> list[str]:
    """Every piece of text Slack shows, unescaped."""
    found = [message["text"]]
    for block in message["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found += [f["text"] for f in block.get("fields", [])]
        found += [e["text"] for e in block.get("elements", [])]
    return [html.unescape(t) for t in found]


def assert_within_slack_limits(message: dict[str, Any]) -> None:
    assert set(message) == {"text", "blocks"}
    assert isinstance(message["text"], str) and message["text"]
    assert len(message["text"]) <= slack.TEXT_LIMIT
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= slack.MAX_BLOCKS
    total = 0
    for block in blocks:
        assert block["type"] in {"header", "section", "context"}
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= slack.HEADER_LIMIT
        if block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert block["text"]["type"] == "mrkdwn"
                assert 0 < len(block["text"]["text"]) <= slack.SECTION_TEXT_LIMIT
            fields = block.get("fields", [])
            assert len(fields) <= slack.FIELDS_PER_SECTION
            for field in fields:
                assert field["type"] == "mrkdwn"
                assert 0 < len(field["text"]) <= slack.FIELD_TEXT_LIMIT
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= slack.CONTEXT_ELEMENTS
        total += len(json.dumps(block))
    assert total < 13_000  # Slack's msg_blocks_too_long threshold, roughly


@pytest.mark.parametrize("path", FIXTURE_PARAMS)
def test_every_fixture_is_a_valid_message_naming_what_matters(path: Path) -> None:
    """Each KubeArmor and Falco sample becomes a message within the limits whose text names
    the policy, action, process, resource, host or pod, and severity."""
    body, alert = load(path)
    message = render_json("slack", {}, body)
    assert_within_slack_limits(message)
    assert_mentions(message["text"], alert)  # the notification itself says it all
    assert_mentions("\n".join(texts(message)), alert)


@pytest.mark.parametrize("make", HUGE_ALERTS)
def test_huge_alerts_are_cut_visibly_within_limits(make: Callable[[], Any]) -> None:
    """An alert far beyond Slack's limits is still sent, each part cut with a visible
    '… N more characters'."""
    message = render_json("slack", {}, json.dumps(make()).encode())
    assert_within_slack_limits(message)
    assert any(MARKER in t for t in texts(message))


def test_control_characters_are_escaped() -> None:
    """`<`, `>` and `&` in alert values cannot turn into Slack links or mentions."""
    alert = {"Action": "Block", "PolicyName": "p", "Source": "sh -c 'cat x > /etc/passwd && "
             "echo <!channel>'", "HostName": "h"}
    message = render_json("slack", {}, json.dumps(alert).encode())
    raw = json.dumps(message)
    assert "<!channel>" not in raw
    assert "&gt; /etc/passwd &amp;&amp; echo &lt;!channel&gt;" in raw


def test_mention_only_for_severe_alerts() -> None:
    """The configured mention leads the message at or above the threshold only."""
    options = {"mention": "<!here>", "mention_min_severity": 7}
    severe = render_json("slack", options, b'{"Action": "Block", "PolicyName": "p", "Severity": "8"}')
    mild = render_json("slack", options, b'{"Action": "Block", "PolicyName": "p", "Severity": "3"}')
    assert severe["text"].startswith("<!here> ")
    assert severe["blocks"][1]["text"]["text"].startswith("<!here> ")
    assert "<!here>" not in json.dumps(mild)


def test_alert_json_can_be_left_out() -> None:
    """`include_alert_json: false` drops the code block with the raw alert."""
    body = b'{"Action": "Block", "PolicyName": "p", "Secret": "not-for-slack"}'
    assert "not-for-slack" in json.dumps(render_json("slack", {}, body))
    assert "not-for-slack" not in json.dumps(
        render_json("slack", {"include_alert_json": False}, body))
