"""Destination templates (SPEC §6): what an integration sends for an alert.

An integration names a template and its `template_options`; `render` turns the alert's bytes
into the body and content type to send. `raw` returns the bytes untouched. Every other
template summarises the alert (`_summary.py`) and formats it for its destination, within that
destination's limits, cutting visibly ("… 312 more characters") rather than refusing.

A template never rejects an alert at delivery time: if one fails (a custom template's error
or time limit, or a bug), the alert is sent as received, wrapped with the reason
(`fallback`), and `Rendered.error` says so (the request carries it in a header, so the
delivery log shows it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from alertwire.domain.samples import kubearmor_file_integrity_alert
from alertwire.domain.templates import (
    custom,
    elastic,
    github_dispatch,
    jira,
    pagerduty,
    raw,
    servicenow,
    slack,
    splunk_hec,
    teams,
)
from alertwire.domain.templates._base import (
    JSON,
    Rendered,
    Template,
    TemplateOptions,
    TemplateRenderError,
)
from alertwire.domain.templates._summary import Summary, parse_alert, summarize
from alertwire.domain.templates._text import json_bytes

__all__ = [
    "JSON", "TEMPLATES", "Rendered", "Summary", "Template", "TemplateOptions",
    "TemplateRenderError", "describe", "fallback", "names", "preview", "preview_body", "render",
    "secret_options", "summarize", "validate_options",
]

log = logging.getLogger("alertwire.templates")

TEMPLATES: dict[str, Template[Any]] = {
    t.name: t for t in (
        raw.TEMPLATE, slack.TEMPLATE, teams.TEMPLATE, jira.TEMPLATE, servicenow.TEMPLATE,
        splunk_hec.TEMPLATE, elastic.TEMPLATE, pagerduty.TEMPLATE, github_dispatch.TEMPLATE,
        custom.TEMPLATE,
    )
}


# Each template's secret options: those its schema marks `writeOnly` (`_base.SECRET`).
_SECRET_OPTIONS: dict[str, frozenset[str]] = {
    t.name: frozenset(name for name, spec in t.options.model_json_schema()
                      .get("properties", {}).items() if spec.get("writeOnly"))
    for t in TEMPLATES.values()
}


def names() -> tuple[str, ...]:
    return tuple(TEMPLATES)


def secret_options(template: str) -> frozenset[str]:
    """The options of `template` that are secrets (encrypted at rest, masked on read)."""
    return _SECRET_OPTIONS.get(template, frozenset())


def validate_options(template: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options as the template's model reads them (pydantic ValidationError otherwise,
    located at the option's name). Options left out stay out, so defaults can evolve."""
    model = TEMPLATES[template].options.model_validate(dict(options))
    dumped: dict[str, Any] = model.model_dump(mode="json", exclude_unset=True)
    return dumped


def describe() -> list[dict[str, Any]]:
    """Each template's name, description and options as JSON Schema (for forms and docs)."""
    return [{"name": t.name, "description": t.description,
             "options_schema": t.options.model_json_schema()} for t in TEMPLATES.values()]


def fallback(alert_body: bytes, reason: str) -> Rendered:
    """The alert, as received, wrapped with the reason its template could not render it."""
    wrapped = {"alertwire_template_error": reason, "alert": parse_alert(alert_body)}
    return Rendered(JSON, json_bytes(wrapped), error=reason)


def render(template: str, options: Mapping[str, Any], alert_body: bytes, *,
           strict: bool = False) -> Rendered:
    """The body for one alert (or digest, or test payload) given as JSON bytes.

    `strict` (previews) raises TemplateRenderError instead of falling back."""
    if template == "raw":
        return Rendered(JSON, alert_body)  # byte for byte, and the hot path: nothing else
    try:
        spec = TEMPLATES[template]
        return spec.render(spec.options.model_validate(dict(options)), alert_body)
    except TemplateRenderError as exc:
        if strict:
            raise
        reason = f"{template} template failed: {exc}"
        log.warning("%s; sending the alert as received instead", reason)
    except Exception as exc:
        if strict:
            raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from exc
        reason = f"{template} template failed: {type(exc).__name__}: {exc}"
        log.exception("%s; sending the alert as received instead", reason)
    return fallback(alert_body, reason)


def preview_body(rendered: Rendered) -> Any:
    """What a preview shows: the JSON value for JSON bodies, else the text."""
    text = rendered.body.decode("utf-8", "replace")
    if rendered.is_json:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def preview(template: str, options: Mapping[str, Any], alert: Any = None) -> tuple[str, Any]:
    """(content type, body) the template makes of `alert` (None: the sample KubeArmor
    alert), as `POST /integrations/preview` shows it. Raises TemplateRenderError."""
    if alert is None:
        alert = kubearmor_file_integrity_alert()
    rendered = render(template, options, json.dumps(alert).encode(), strict=True)
    return rendered.content_type, preview_body(rendered)
