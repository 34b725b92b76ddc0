"""`custom`: a Jinja2 template the user writes, rendered in the sandbox (`_sandbox.py`).

The template sees `alert` (the alert as received, parsed), `summary` (the fields every
template uses: `headline`, `policy`, `action`, `process`, `resource`, `host`, `namespace`,
`pod`, `severity`, `severity_label`, `facts`, `text`, …, also available directly by name)
and `now` (ISO 8601). Autoescaping is off; `tojson` writes JSON. A syntax error is refused
when the integration is saved, naming the line; a failure while rendering an alert is
refused by the preview, and at delivery time replaced by a visible fallback
(see `templates.render`).

Limits: alertwire cannot know the destination's, so the template decides what to send (the
`truncate` filter, `summary.text`, `alert.part` of a digest part, …). alertwire's own limits
(`_sandbox.py`): a template of at most 64 KiB, rendering of at most 1 s, output of at most
256 KiB. Beyond them the preview refuses with the reason, and a delivery sends the fallback:
the alert as received wrapped with the reason (`alertwire_template_error`), never nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from alertwire.domain.templates import _sandbox
from alertwire.domain.templates._base import (
    JSON,
    Rendered,
    Template,
    TemplateOptions,
    TemplateRenderError,
)
from alertwire.domain.templates._summary import parse_alert, summarize_value

_MEDIA_TYPE = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;[^\r\n]*)?$"


class CustomOptions(TemplateOptions):
    template: Annotated[str, Field(min_length=1, description=(
        "Jinja2 source, e.g. `{\"text\": {{ headline|tojson }}, \"alert\": "
        "{{ alert|tojson }}}`."))]
    content_type: Annotated[str, Field(max_length=200, pattern=_MEDIA_TYPE)] = JSON

    @field_validator("template")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            _sandbox.check(value)
        except TemplateRenderError as exc:
            if exc.line is None:
                raise PydanticCustomError("template", "{reason}", {"reason": exc.message}) \
                    from None
            raise PydanticCustomError("template_syntax", "line {line}: {reason}",
                                      {"line": exc.line, "reason": exc.message}) from None
        return value


def context_for(alert: Any) -> dict[str, Any]:
    summary = summarize_value(alert).as_dict()
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {**summary, "summary": summary, "alert": alert, "now": now}


def render(options: CustomOptions, body: bytes) -> Rendered:
    """Raises TemplateRenderError (with the template's line) when the template fails."""
    output = _sandbox.render(options.template, context_for(parse_alert(body)))
    return Rendered(options.content_type, output.encode("utf-8", "replace"))


TEMPLATE = Template("custom", "Your own Jinja2 template (sandboxed).", CustomOptions, render)
