"""The shared alert summary and the visible cutting every template relies on."""

from __future__ import annotations

import json

import pytest

from alertwire.domain.templates import summarize
from alertwire.domain.templates._summary import field_value
from alertwire.domain.templates._text import fit_lines, json_size, shrink_json, truncate


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


def test_shrink_json_cuts_long_lists_when_strings_are_not_enough() -> None:
    """A list too long to fit keeps its first items and says how many more there were,
    so a digest keeps as many of its alerts as fit rather than becoming text."""
    digest = {"total": 300, "alerts": [{"id": f"alr_{i:03d}", "n": i} for i in range(300)]}
    shrunk = shrink_json(digest, 2000)
    assert json_size(shrunk) <= 2000 and shrunk["total"] == 300
    *kept, note = shrunk["alerts"]
    assert kept == digest["alerts"][:len(kept)] and len(kept) > 10
    assert note == f"… {300 - len(kept)} more items"


def test_tags_are_cut_whole_and_counted() -> None:
    """Tags beyond a fact's room are counted (`… and N more tags`), never cut midway."""
    tags = [f"MITRE_T{i:04d}" for i in range(200)]
    summary = summarize(json.dumps({"PolicyName": "p", "Action": "Block",
                                    "ATags": tags}).encode())
    value = dict(summary.facts(250))["Tags"]
    shown, _, rest = value.partition(" … and ")
    assert len(value) <= 250 and shown.split(", ") == tags[:len(shown.split(", "))]
    assert rest == f"{200 - len(shown.split(', '))} more tags"
    assert dict(summary.facts())["Tags"].count("MITRE") < 200  # FACT_LIMIT, 1,000 chars


def test_fit_lines_keeps_whole_lines_and_counts_the_rest() -> None:
    lines = [f"• alert {i:02d} " + "x" * 40 for i in range(50)]
    text = fit_lines(lines, 600, lambda n: f"… and {n} more alerts")
    *kept, note = text.split("\n")
    assert len(text) <= 600 and kept == lines[:len(kept)]
    assert note == f"… and {50 - len(kept)} more alerts"
    assert fit_lines(lines[:3], 600, str) == "\n".join(lines[:3])


def test_digest_lines_are_short_and_parts_are_named() -> None:
    """A digest part's title says which part it is; each alert line is cut to 160
    characters so one huge alert cannot crowd out the others."""
    huge = {"PolicyName": "p" * 5000, "Action": "Block", "PodName": "web-1"}
    digest = {"type": "alertwire.digest", "trigger": "t", "total": 120, "counts": {},
              "part": {"index": 2, "count": 3},
              "alerts": [{"id": "a", "alert": huge}, {"id": "b", "alert": {"Action": "x"}}],
              "alerts_left_out": 0}
    summary = summarize(json.dumps(digest).encode())
    assert summary.title == "alertwire digest part 2 of 3: t, 120 alerts"
    assert len(summary.details) == 2 and all(len(d) <= 160 for d in summary.details)
    assert "more characters" in summary.details[0]
    one = summarize(json.dumps({**digest, "part": {"index": 1, "count": 1}}).encode())
    assert one.title == "alertwire digest: t, 120 alerts"
