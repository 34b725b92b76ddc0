"""Alerts in (SPEC §3): exact text kept per object, sources detected, bad bodies refused."""

from __future__ import annotations

import json

import pytest

from alertwire.domain.alerts import (
    MAX_ALERTS_PER_REQUEST,
    MalformedBody,
    detect_source,
    parse_alerts,
)
from alertwire.errors import TooLarge
from tests.fixtures import FIXTURES, fixture_files


def expected_source(path_parts: tuple[str, ...]) -> str:
    return "falco" if "falco" in path_parts else "kubearmor"


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.name)
def test_every_fixture_is_detected(path: object) -> None:
    """Each upstream sample is recognised as KubeArmor (alerts and logs) or Falco."""
    from pathlib import Path

    assert isinstance(path, Path)
    (item,) = parse_alerts(path.read_bytes())
    assert item.source == expected_source(path.relative_to(FIXTURES).parts)
    assert item.raw == path.read_text().strip()


def test_generic_json() -> None:
    """An object from neither agent is `generic`."""
    assert detect_source({"alertname": "HighCPU", "severity": "page"}) == "generic"


def test_array_items_keep_their_exact_text() -> None:
    """Each array item is stored byte for byte: spacing, key order, number spelling."""
    body = b'[ {"b": 1, "a": 1.50, "c": {"z": [1,2]}} ,\n{"PolicyName":"x",  "Action":"Block"}]'
    items = parse_alerts(body)
    assert [i.raw for i in items] == [
        '{"b": 1, "a": 1.50, "c": {"z": [1,2]}}', '{"PolicyName":"x",  "Action":"Block"}'
    ]
    assert list(items[0].alert) == ["b", "a", "c"]
    assert [i.source for i in items] == ["generic", "kubearmor"]


def test_empty_array_is_fine() -> None:
    """`[]` is accepted and holds nothing."""
    assert parse_alerts(b" [ ] ") == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b'{"a": 1', "line 1 column 8"),
        (b'[{"a": 1}, 42]', "item 1: expected a JSON object"),
        (b'[{"a": 1} {"b": 2}]', "item 0: expected ',' or ']'"),
        (b'{"a": 1} trailing', "unexpected data"),
        (b'"just a string"', "expected a JSON object"),
        (b'{"a": NaN}', "NaN is not valid JSON"),
        (b'\xff\xfe{}', "not UTF-8"),
        (b'[{"a": 1},\n {"b": }]', "item 1: malformed JSON at line 2 column 8"),
    ],
)
def test_malformed_bodies_say_what_and_where(body: bytes, message: str) -> None:
    """A bad body is a 400 whose message names the problem and its place."""
    with pytest.raises(MalformedBody) as info:
        parse_alerts(body)
    assert info.value.status_code == 400
    assert message in info.value.message


def test_count_and_size_limits() -> None:
    """More than 10,000 alerts or more than 10 MiB is 413."""
    too_many = json.dumps([{"i": i} for i in range(MAX_ALERTS_PER_REQUEST + 1)]).encode()
    with pytest.raises(TooLarge):
        parse_alerts(too_many)
    exactly = json.dumps([{"i": i} for i in range(MAX_ALERTS_PER_REQUEST)]).encode()
    assert len(parse_alerts(exactly)) == MAX_ALERTS_PER_REQUEST
    with pytest.raises(TooLarge):
        parse_alerts(b'{"x": "' + b"a" * (10 * 1024 * 1024) + b'"}')
