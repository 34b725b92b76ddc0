"""Reading and writing alertwire.yaml: mistakes a plain YAML load would let through silently
are errors that say where, and what is written reads back the same."""

from __future__ import annotations

import pytest

from alertwire.commands._yaml import ConfigFileError, dump, load


def test_a_key_given_twice_is_an_error_with_its_line() -> None:
    """`hook:` twice under `integrations:` would silently drop the first; it is refused."""
    text = "integrations:\n  hook:\n    url: https://a\n  hook:\n    url: https://b\n"
    with pytest.raises(ConfigFileError) as caught:
        load(text, "alertwire.yaml")
    assert str(caught.value) == ("alertwire.yaml: line 4, column 3: found the key 'hook' twice "
                                 "(first given at line 2, column 3)")


def test_syntax_errors_name_line_and_column() -> None:
    """The file, line and column of the problem, and what the parser expected."""
    with pytest.raises(ConfigFileError) as caught:
        load("integrations:\n  hook:\n    url: \"unclosed\n  other: 1\n", "x.yaml")
    assert str(caught.value) == (
        "x.yaml: line 5, column 1: found unexpected end of stream "
        "(while scanning a quoted scalar at line 3, column 10)")


def test_dates_stay_text_and_the_top_must_be_a_mapping() -> None:
    """A date-looking value stays the string written (the API sends JSON); a file that is a
    list or a string is refused; an empty file is an empty configuration."""
    assert load("integrations:\n  h:\n    description: 2024-01-02\n", "f") == {
        "integrations": {"h": {"description": "2024-01-02"}}}
    with pytest.raises(ConfigFileError, match="expected a mapping"):
        load("- a\n- b\n", "f")
    assert load("", "f") == {}


def test_dump_reads_back_the_same_with_readable_text() -> None:
    """Multi-line text (a custom template) is written as a literal block; values that YAML
    would read as something else (`on`, `123`, `${VAR}`) come back as they were."""
    document = {"version": 1, "integrations": {"c": {
        "template": "custom", "template_options": {"template": "{{ alert.Action }}\nline 2\n"},
        "headers": {"X-Flag": "on", "X-Id": "123", "Authorization": "${ALERTWIRE_SECRET_C}"},
        "success_codes": [200, 204], "rate_limit": 2.5, "test_payload": None}}}
    text = dump(document)
    assert "template: |\n" in text
    assert load(text, "f") == document
