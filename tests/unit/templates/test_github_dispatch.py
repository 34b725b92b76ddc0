"""`github_dispatch`: `{"event_type", "client_payload"}` within GitHub's limits (event type
≤ 100 characters, at most 10 top-level client_payload properties)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from alertwire.domain.templates import github_dispatch, validate_options
from tests.unit.templates.support import (
    FIXTURE_PARAMS,
    HUGE_ALERTS,
    MARKER,
    assert_mentions,
    load,
    render_body,
    render_json,
)


def assert_dispatch(event: dict[str, Any], size: int = 0) -> dict[str, Any]:
    assert set(event) == {"event_type", "client_payload"}
    assert 0 < len(event["event_type"]) <= 100
    payload: dict[str, Any] = event["client_payload"]
    assert isinstance(payload, dict) and len(payload) <= 10
    assert size <= github_dispatch.MAX_BYTES
    return payload


@pytest.mark.parametrize("path", FIXTURE_PARAMS)
def test_every_fixture_is_a_dispatch_naming_what_matters(path: Path) -> None:
    """Each sample nests the whole alert beside nine summary fields; the summary names
    policy, action, process, resource, host or pod, and severity."""
    body, alert = load(path)
    payload = assert_dispatch(render_json("github_dispatch", {"event_type": "kubearmor"}, body))
    assert payload["alert"] == alert
    assert_mentions(payload["summary"], alert)


@pytest.mark.parametrize("make", HUGE_ALERTS)
def test_huge_alerts_stay_under_64_kib(make: Callable[[], Any]) -> None:
    body = render_body("github_dispatch", {}, json.dumps(make()).encode())
    assert_dispatch(json.loads(body), len(body))
    assert MARKER in body.decode()


def test_selected_fields_instead_of_the_alert() -> None:
    """`fields` sends just those values (dotted paths reach nested ones)."""
    body = (b'{"Action": "Block", "PolicyName": "p", "Owner": {"Name": "mysql"},'
            b' "output_fields": {"fd.name": "/bin/x"}}')
    event = render_json("github_dispatch", {"fields": ["PolicyName", "Owner.Name",
                                                       "output_fields.fd.name", "Missing"]},
                        body)
    assert event["client_payload"] == {"PolicyName": "p", "Owner.Name": "mysql",
                                       "output_fields.fd.name": "/bin/x", "Missing": None}


@pytest.mark.parametrize(
    ("options", "field"),
    [({"event_type": "e" * 101}, "event_type"), ({"event_type": ""}, "event_type"),
     ({"fields": [f"f{i}" for i in range(11)]}, "fields"), ({"fields": ["a", "a"]}, "fields")],
)
def test_options_beyond_github_limits_are_refused(options: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_options("github_dispatch", options)
    assert caught.value.errors()[0]["loc"][0] == field
