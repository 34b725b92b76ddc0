"""`jira`: create-issue bodies for REST API v2 (wiki text) and v3 (Atlassian Document
Format), within Jira's field limits."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from alertwire.domain.templates import jira, validate_options
from tests.unit.templates.support import (
    FIXTURE_PARAMS,
    HUGE_ALERTS,
    MARKER,
    assert_mentions,
    load,
    render_json,
)

OPTIONS = {"project_key": "SEC", "issue_type": "Bug"}
JIRA_TEXT_LIMIT = 32_767


def adf_texts(node: Any) -> list[str]:
    """Every text node of an ADF document, checking each node's shape on the way."""
    assert isinstance(node, dict) and isinstance(node["type"], str)
    if node["type"] == "text":
        assert isinstance(node["text"], str) and node["text"]  # ADF: text is never empty
        return [node["text"]]
    found: list[str] = []
    for child in node.get("content", []):
        found += adf_texts(child)
    return found


def assert_issue(body: dict[str, Any], version: int) -> str:
    """Check the create-issue shape; return the text a person reads (summary, description)."""
    fields = body["fields"]
    assert fields["project"] == {"key": "SEC"}
    assert fields["issuetype"] == {"name": "Bug"}
    summary = fields["summary"]
    assert isinstance(summary, str) and 0 < len(summary) <= 255 and "\n" not in summary
    assert fields["priority"]["name"] in {"Highest", "High", "Medium", "Low", "Lowest"}
    assert fields["labels"] == ["alertwire"]
    description = fields["description"]
    if version == 2:
        assert isinstance(description, str)
        assert len(description) <= JIRA_TEXT_LIMIT
        return summary + "\n" + description
    assert description["type"] == "doc" and description["version"] == 1
    assert len(json.dumps(description, ensure_ascii=False)) <= JIRA_TEXT_LIMIT
    return summary + "\n" + "\n".join(adf_texts(description))


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("path", FIXTURE_PARAMS)
def test_every_fixture_is_an_issue_naming_what_matters(path: Path, version: int) -> None:
    """Each sample becomes a create-issue body (v2 and v3) naming policy, action, process,
    resource, host or pod, and severity, with the alert as received in the description."""
    body, alert = load(path)
    issue = render_json("jira", OPTIONS | {"api_version": version}, body)
    text = assert_issue(issue, version)
    assert_mentions(text, alert)
    assert alert.get("ContainerID", alert.get("hostname", "")) in text


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("make", HUGE_ALERTS)
def test_huge_alerts_fit_jira_limits(make: Callable[[], Any], version: int) -> None:
    """Summary and description are cut visibly to Jira's limits, not refused."""
    issue = render_json("jira", OPTIONS | {"api_version": version},
                        json.dumps(make()).encode())
    assert MARKER in assert_issue(issue, version)


def test_options_are_validated_and_normalised() -> None:
    """A lowercase key is accepted as uppercase; invalid keys, labels with spaces and
    clashing extra fields are refused, naming the option."""
    assert validate_options("jira", {"project_key": " sec "}) == {"project_key": "SEC"}
    cases = [({}, "project_key"), ({"project_key": "1SEC"}, "project_key"),
             ({"project_key": "SEC", "api_version": 4}, "api_version"),
             ({"project_key": "SEC", "labels": ["two words"]}, "labels"),
             ({"project_key": "SEC", "extra_fields": {"summary": "x"}}, "extra_fields"),
             ({"project_key": "SEC", "colour": "red"}, "colour")]
    for options, field in cases:
        with pytest.raises(ValidationError) as caught:
            validate_options("jira", options)
        assert caught.value.errors()[0]["loc"][0] == field, options


def test_extra_fields_and_priority_off() -> None:
    """Extra fields are set as given; `set_priority: false` leaves priority out."""
    issue = render_json("jira", OPTIONS | {"set_priority": False, "labels": [],
                                           "extra_fields": {"components": [{"name": "k8s"}]}},
                        b'{"Action": "Block", "PolicyName": "p"}')
    assert issue["fields"]["components"] == [{"name": "k8s"}]
    assert "priority" not in issue["fields"] and "labels" not in issue["fields"]


def test_wiki_markup_in_alerts_stays_literal() -> None:
    """A value containing `{noformat}` cannot end the literal block early."""
    issue = render_json("jira", OPTIONS, b'{"Action": "Block", "PolicyName": "x{noformat}y"}')
    assert issue["fields"]["description"].count("{noformat}") == 2
    assert jira.DESCRIPTION_LIMIT < JIRA_TEXT_LIMIT
