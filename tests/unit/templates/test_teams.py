"""`teams`: a Workflows message carrying one Adaptive Card 1.4, under Teams' 28 KB."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from alertwire.domain.templates import teams
from tests.unit.templates.support import (
    FIXTURE_PARAMS,
    HUGE_ALERTS,
    MARKER,
    assert_mentions,
    load,
    render_json,
)

TEAMS_LIMIT = 28 * 1024


def card_texts(card: dict[str, Any]) -> str:
    parts: list[str] = []
    for item in card["body"]:
        if item["type"] == "TextBlock":
            parts.append(item["text"])
        if item["type"] == "FactSet":
            parts += [f"{f['title']}: {f['value']}" for f in item["facts"]]
    for action in card.get("actions", []):
        parts.append(card_texts(action["card"]))
    return "\n".join(parts)


def assert_valid_teams_message(message: dict[str, Any], size: int) -> dict[str, Any]:
    assert size <= TEAMS_LIMIT
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "contentUrl" in attachment and attachment["contentUrl"] is None
    card: dict[str, Any] = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["body"] and all(i["type"] in {"TextBlock", "FactSet"} for i in card["body"])
    for item in card["body"]:
        if item["type"] == "TextBlock":
            assert isinstance(item["text"], str) and item["text"]
        else:
            assert all(isinstance(f["title"], str) and isinstance(f["value"], str)
                       for f in item["facts"])
    for action in card.get("actions", []):
        assert action["type"] == "Action.ShowCard"
        assert action["card"]["type"] == "AdaptiveCard"
    return card


@pytest.mark.parametrize("path", FIXTURE_PARAMS)
def test_every_fixture_is_an_adaptive_card_naming_what_matters(path: Path) -> None:
    """Each sample becomes a valid card whose text names policy, action, process, resource,
    host or pod, and severity; the alert as received is behind a button."""
    body, alert = load(path)
    rendered = teams.render(teams.TeamsOptions(), body)
    card = assert_valid_teams_message(json.loads(rendered.body), len(rendered.body))
    assert_mentions(card_texts(card), alert)
    assert json.loads(card["actions"][0]["card"]["body"][0]["text"]) == alert


@pytest.mark.parametrize("make", HUGE_ALERTS)
def test_huge_alerts_stay_under_28_kb(make: Callable[[], Any]) -> None:
    """However large the alert, the message stays under 28 KB, cut visibly."""
    body = json.dumps(make()).encode()
    rendered = teams.render(teams.TeamsOptions(), body)
    card = assert_valid_teams_message(json.loads(rendered.body), len(rendered.body))
    assert MARKER in card_texts(card)


def test_severe_alerts_are_coloured_attention() -> None:
    """High severity shows in red (Attention), without the raw alert when turned off."""
    card = render_json("teams", {"include_alert_json": False},
                       b'{"Action": "Block", "PolicyName": "p", "Severity": "9"}'
                       )["attachments"][0]["content"]
    assert card["body"][0]["color"] == "Attention"
    assert "actions" not in card
