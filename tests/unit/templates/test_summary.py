"""The shared alert summary and the visible cutting every template relies on."""

from __future__ import annotations

import json

import pytest

from alertwire.domain.templates import summarize
from alertwire.domain.templates._summary import field_value
from alertwire.domain.templates._text import json_size, shrink_json, truncate


def test_truncate_says_how_much_was_left_out() -> None:
    """A cut text ends with '… N more characters', N counted in the original, and fits."""
    text = "a" * 1000
    cut = truncate(text, 100)
    assert len(cut) <= 100 and cut.endswith("more characters")
    kept = len(cut) - len(cut[cut.index("…"):])
    assert cut.endswith(f"… {1000 - kept} more characters")
    assert truncate("short", 100) == "short"


def test_truncate_never_splits_an_escape() -> None:
    """Cutting happens before escaping, so an entity like `&amp;` is never cut in half."""
    cut = truncate("&" * 500, 103, escape=lambda s: s.replace("&", "&amp;"))
    assert len(cut) <= 103
    head = cut[:cut.index("…")]
    assert head == "&amp;" * (len(head) // 5)


def test_shrink_json_cuts_long_strings_then_falls_back_to_text() -> None:
    """Long strings are cut first, keeping the structure; a value made of many small parts
    becomes its JSON text, cut visibly. Either way it fits."""
    wide = {"a": "x" * 10_000, "b": [1, 2, 3]}
    shrunk = shrink_json(wide, 2000)
    assert json_size(shrunk) <= 2000 and shrunk["b"] == [1, 2, 3]
    assert "more characters" in shrunk["a"]
    many = {f"k{i}": i for i in range(5000)}
    text = shrink_json(many, 3000)
    assert isinstance(text, str) and json_size(text) <= 3000 and text.startswith('{"k0":0')


@pytest.mark.parametrize(
    ("alert", "headline"),
    [
        ({"Action": "Block", "n": 1}, "Alert Block: Action=Block, n=1 [severity not stated]"),
        ({"msg": "disk full", "host": "db1", "severity": "critical"},
         "Alert: disk full [severity 8/10 (high)] — on host db1"),
        ("just text", "Alert: just text [severity not stated]"),
        ([1, 2], "Alert: [1,2] [severity not stated]"),
    ],
)
def test_generic_alerts_still_say_something(alert: object, headline: str) -> None:
    """An alert of no known shape is described by its first fields, never left blank."""
    assert summarize(json.dumps(alert).encode()).headline == headline


def test_field_paths_reach_dotted_keys_and_nesting() -> None:
    alert = {"Owner": {"Name": "mysql"}, "output_fields": {"fd.name": "/bin/x"}, "a.b": 1}
    assert field_value(alert, "Owner.Name") == "mysql"
    assert field_value(alert, "output_fields.fd.name") == "/bin/x"
    assert field_value(alert, "a.b") == 1
    assert field_value(alert, "owner.name") == "mysql"  # case-insensitive, as in filters
    assert field_value(alert, "Owner.Missing") is None
