"""`custom`: the user's Jinja2 template, sandboxed: no internals, a time limit, an output
limit, errors naming the line, and a visible fallback when one fails at delivery time."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from alertwire.domain.templates import TemplateRenderError, render, validate_options
from alertwire.domain.templates._sandbox import MAX_OUTPUT, RENDER_TIMEOUT
from tests.unit.templates.support import FIXTURE_PARAMS, assert_mentions, load

ALERT = b'{"Action": "Block", "PolicyName": "p", "HostName": "h", "_id": "doc-1"}'


def custom(template: str, body: bytes = ALERT, **options: str) -> str:
    rendered = render("custom", {"template": template, **options}, body, strict=True)
    return rendered.body.decode()


def refusal(template: str) -> TemplateRenderError:
    with pytest.raises(TemplateRenderError) as caught:
        custom(template)
    return caught.value


@pytest.mark.parametrize("path", FIXTURE_PARAMS)
def test_summary_fields_are_available_for_every_fixture(path: Path) -> None:
    """`headline`, `facts` and `alert` let a template say everything for any source."""
    body, alert = load(path)
    out = custom('{"text": {{ headline|tojson }}, "facts": {{ facts|tojson }}, '
                 '"alert": {{ alert|tojson }}}', body)
    parsed = json.loads(out)
    assert parsed["alert"] == alert
    assert_mentions(parsed["text"] + json.dumps(parsed["facts"]), alert)


def test_content_type_and_text_output() -> None:
    """Any text can be produced; the content type is the option's; missing fields of
    another source's shape render empty instead of failing."""
    rendered = render("custom", {"template": "{{ policy }} by {{ alert.output_fields.x }}!",
                                 "content_type": "text/plain; charset=utf-8"}, ALERT)
    assert rendered.body == b"p by !"
    assert rendered.content_type == "text/plain; charset=utf-8"
    assert custom("{{ alert._id }} {{ alert['_id'] }}") == "doc-1 doc-1"  # fields, not internals


@pytest.mark.parametrize(
    "template",
    ["{{ ''.__class__.__mro__ }}", "{{ alert.__class__ }}", "{{ alert['__class__'] }}",
     "{{ alert|attr('__class__') }}", "{{ self._TemplateReference__context }}",
     "{% include 'other' %}"],
)
def test_escapes_are_refused_when_saved(template: str) -> None:
    """The classic sandbox escapes are a 422 already when the integration is saved."""
    with pytest.raises(ValidationError) as caught:
        validate_options("custom", {"template": "ok\n" + template})
    error = caught.value.errors()[0]
    assert error["loc"] == ("template",)
    assert error["msg"].startswith("line 2: ")


@pytest.mark.parametrize(
    "template",
    ["{{ alert|attr('_' ~ '_class__') }}", "{{ (alert.items|attr('_' ~ '_self__')) }}",
     "{{ lipsum|attr('_' ~ '_globals__') }}", "{{ alert.pop('Action') }}"],
)
def test_computed_escapes_are_refused_by_the_sandbox(template: str) -> None:
    """What no static check can see is refused while rendering, naming the line."""
    error = refusal("\n" + template)
    assert error.line == 2
    assert "not allowed" in error.message or "unsafe" in error.message \
        or "SecurityError" in error.message or "refused" in error.message


def test_endless_loops_are_stopped_within_the_limit() -> None:
    """A loop of 10^10 iterations stops at the time limit, naming its line; a range beyond
    the sandbox's limit is refused at once."""
    started = time.monotonic()
    error = refusal("start\n{% for i in range(100000) %}{% for j in range(100000) %}"
                    "{% endfor %}{% endfor %}")
    assert time.monotonic() - started < RENDER_TIMEOUT + 1.0
    assert error.line == 2 and "longer than 1 s" in error.message
    assert "Range too big" in refusal("{% for i in range(10**9) %}x{% endfor %}").message
    assert custom("{{ 1 + 1 }}") == "2"  # the sandbox is available again at once


def test_oversize_output_is_refused() -> None:
    """Output beyond 256 KiB is an error, not a huge request."""
    error = refusal("{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}")
    assert f"larger than the limit of {MAX_OUTPUT} bytes" in error.message


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is Linux's")
def test_memory_bombs_fail_in_the_sandbox_process() -> None:
    """A 10 GB string fails inside the sandbox process, which is then replaced."""
    error = refusal("\n\n{{ 'x' * 10**10 }}")
    assert error.line == 3 and "memory" in error.message
    assert custom("{{ action }}") == "Block"


def test_syntax_errors_name_the_line() -> None:
    """Saving a template with a syntax error or an unknown filter is a 422 naming the line."""
    for template, line in [('{"a": 1}\n{{ alert.Action }\n', 2), ("\n\n{{ x|nope }}", 3),
                           ("{% for x in y %}", 1)]:
        with pytest.raises(ValidationError) as caught:
            validate_options("custom", {"template": template})
        error = caught.value.errors()[0]
        assert error["msg"].startswith(f"line {line}: "), error
        assert error["ctx"]["line"] == line


def test_failure_at_delivery_sends_a_visible_fallback() -> None:
    """At delivery a failing template never drops the alert: the alert goes as received,
    wrapped with the reason, and the rendering says it failed."""
    rendered = render("custom", {"template": "ok\n{{ 1 // 0 }}"}, ALERT)
    assert rendered.error is not None and "line 2" in rendered.error
    assert rendered.content_type == "application/json"
    body = json.loads(rendered.body)
    assert body["alert"] == json.loads(ALERT)
    assert "ZeroDivisionError" in body["alertwire_template_error"]


def test_tojson_writes_plain_json() -> None:
    """`tojson` is not HTML-escaped (unlike Jinja's own), and takes an indent."""
    assert custom('{{ "<a & b>"|tojson }}') == '"<a & b>"'
    assert custom("{{ {'a': 1}|tojson(indent=2) }}") == '{\n  "a": 1\n}'
