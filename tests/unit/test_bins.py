"""What a bin may be told to answer (SPEC §7), and the console form that sets it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alertwire.console.bins import bin_values, read_bin
from alertwire.console.session import Form
from alertwire.domain.bins import BinResponse


@pytest.mark.parametrize(("headers", "message"), [
    ({"Bad Header": "x"}, "not a valid header name"),
    ({"X-Mark": "\u2713"}, "Latin-1 only"),
    ({"X-Split": "a\r\nInjected: yes"}, "must not contain CR, LF or NUL"),
    ({"Content-Length": "1"}, "set by the bin itself"),
    ({"X-A": "1", "x-a": "2"}, "given twice"),
])
def test_response_headers_that_would_break_every_answer_are_refused(
    headers: dict[str, str], message: str
) -> None:
    """A header the HTTP server cannot send would drop the connection of every request to
    the bin, so it is refused when the bin is set up."""
    with pytest.raises(ValidationError, match=message):
        BinResponse(headers=headers)


def test_content_type_is_one_header_value() -> None:
    with pytest.raises(ValidationError, match="CR, LF or NUL"):
        BinResponse(content_type="text/plain\r\nX-Injected: 1")
    assert BinResponse(content_type="application/json; charset=utf-8").content_type


def test_form_reads_headers_per_line_and_blank_fields_as_defaults() -> None:
    """`Name: value` lines (values may hold colons), CRLF from a textarea, blank fields
    taking the API's defaults; what was typed is kept for showing the form again."""
    spec, state = read_bin(Form([("name", " "), ("status", "201"), ("delay", ""),
                                 ("body", "a\r\nb"),
                                 ("headers", "X-Url: http://x:1/\r\n\r\nX-Two:  2 ")]))
    assert state.errors == {}
    assert spec is not None
    assert spec.name == "bin" and spec.max_requests == 500
    assert spec.response.status == 201 and spec.response.delay == 0
    assert spec.response.body == "a\nb"
    assert spec.response.headers == {"X-Url": "http://x:1/", "X-Two": "2"}
    assert state.values["headers"] == "X-Url: http://x:1/\n\nX-Two:  2 "


def test_form_errors_are_keyed_by_field() -> None:
    spec, state = read_bin(Form([("status", "abc"), ("delay", "10.5"), ("max_requests", "0"),
                                 ("headers", "X-A: 1\nno colon\nx-a: 2")]))
    assert spec is None
    assert set(state.errors) == {"status", "delay", "max_requests", "headers"}
    assert state.errors["headers"] == "Line 2: write each header as Name: value"
    assert "less than or equal to 10" in state.errors["delay"]


def test_form_values_of_a_new_bin_are_the_defaults() -> None:
    assert bin_values(None) == {"name": "", "status": "200", "content_type": "text/plain",
                                "body": "", "headers": "", "delay": "0",
                                "max_requests": "500"}


def test_form_refuses_a_header_given_twice() -> None:
    """Typed twice, a header would silently keep only its last value."""
    for lines in ("X-A: 1\nX-A: 2", "X-A: 1\nx-a: 2"):
        spec, state = read_bin(Form([("headers", lines)]))
        assert spec is None
        assert "given twice" in state.errors["headers"]
