"""Console forms: what a user typed, turned into the fields the API's JSON would carry, and
validation errors (the domain models') keyed by the field they belong next to."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from alertwire.console.session import Form
from alertwire.domain.filters import FilterError, parse
from alertwire.domain.integrations import DEFAULT_SUCCESS_CODES, mask_template_options
from alertwire.store import Integration, Trigger

M = TypeVar("M", bound=BaseModel)

INTEGRATION_FIELDS = ("name", "method", "url", "success_codes", "test_payload", "description",
                      "headers")


@dataclass
class FormState:
    """The values to show in a form (as text, the way the user typed them) and the errors to
    show next to each field (`""` is the form as a whole)."""

    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    def add_error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, sentence(message))


def sentence(message: str) -> str:
    """`is required` → `Is required` (a message starting with a quoted value stays as is)."""
    return message[:1].upper() + message[1:] if message[:1].islower() else message


def field_errors(exc: ValidationError) -> dict[str, str]:
    """The first message for each top-level field, without pydantic's prefixes."""
    found: dict[str, str] = {}
    for err in exc.errors():
        loc = err.get("loc", ())
        name = str(loc[0]) if loc else ""
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        ctx = err.get("ctx") or {}
        if err.get("type") in ("string_too_short", "too_short") and ctx.get("min_length") == 1:
            message = "choose at least one" if ctx.get("field_type") == "List" else "is required"
        elif err.get("type") == "missing":
            message = "is required"
        elif err.get("type") == "literal_error":
            message = f"must be one of {ctx.get('expected', '')}"
        if name == "template_options" and len(loc) > 1:  # which option
            message = f"{'.'.join(map(str, loc[1:]))} {message}"
        elif name == "redaction_rules" and len(loc) > 1 and isinstance(loc[1], int):
            message = f"rule {loc[1] + 1}: {message}"
        found.setdefault(name, message)
    return found


def validate(model: type[M], data: dict[str, Any], state: FormState) -> M | None:
    """`model` built from `data`, or None with the errors added to `state`."""
    try:
        built = model.model_validate(data)
    except ValidationError as exc:
        for name, message in field_errors(exc).items():
            state.add_error(name, message)
        return None
    return built if not state.errors else None


# ------------------------------------------------------------------------------- integrations

def integration_values(integration: Integration | None, masked_headers: dict[str, str]) -> dict[str, Any]:
    """The form's text for a saved integration (or the defaults for a new one)."""
    if integration is None:
        return {"name": "", "method": "POST", "url": "",
                "success_codes": ", ".join(map(str, DEFAULT_SUCCESS_CODES)),
                "test_payload": "", "description": "", "headers": [("", "")],
                "template": "raw", "template_options": "", "redaction_rules": "",
                "fallback": ""}
    return {
        "name": integration.name, "method": integration.method, "url": integration.url,
        "success_codes": ", ".join(map(str, integration.success_codes)),
        "test_payload": "" if integration.test_payload is None
        else json.dumps(integration.test_payload, indent=2),
        "description": integration.description or "",
        "headers": list(masked_headers.items()) or [("", "")],
        "template": integration.template,
        "template_options": json.dumps(mask_template_options(
            integration.template, integration.template_options), indent=2, ensure_ascii=False)
        if integration.template_options else "",
        "redaction_rules": json.dumps([r.model_dump() for r in integration.redaction_rules],
                                      indent=2, ensure_ascii=False)
        if integration.redaction_rules else "",
        "fallback": integration.fallback_id or "",
    }


def read_integration(form: Form) -> tuple[dict[str, Any], FormState]:
    """The API fields of an integration form, and the form state to show it again."""
    rows = list(zip(form.getlist("header_name"), form.getlist("header_value"), strict=False))
    state = FormState(values={
        "name": form.get("name"), "method": form.get("method") or "POST",
        "url": form.get("url"), "success_codes": form.get("success_codes"),
        "test_payload": form.get("test_payload"), "description": form.get("description"),
        "headers": rows or [("", "")],
        "template": form.get("template") or "raw",
        "template_options": form.get("template_options"),
        "redaction_rules": form.get("redaction_rules"),
        "fallback": form.get("fallback"),
    })
    data: dict[str, Any] = {
        "name": form.get("name"), "method": form.get("method") or "POST",
        "url": form.get("url").strip(),
        "description": form.get("description").strip() or None,
    }
    codes = [c for c in re.split(r"[\s,]+", form.get("success_codes")) if c]
    if all(c.isdigit() for c in codes):
        data["success_codes"] = [int(c) for c in codes]
    else:
        bad = next(c for c in codes if not c.isdigit())
        state.add_error("success_codes", f"{bad!r} is not a status code: list numbers "
                                         "separated by commas, e.g. 200, 204")
    payload = form.get("test_payload").strip()
    if payload:
        try:
            data["test_payload"] = json.loads(payload)
        except ValueError as exc:
            where = ""
            if isinstance(exc, json.JSONDecodeError):
                where = f" (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            state.add_error("test_payload", f"is not valid JSON{where}")
    else:
        data["test_payload"] = None
    headers: dict[str, str] = {}
    for name, value in rows:
        name = name.strip()
        if not name and not value.strip():
            continue
        if not name:
            state.add_error("headers", "a header value needs a name")
        elif name in headers:
            state.add_error("headers", f"{name!r} is given twice")
        else:
            headers[name] = value
    data["headers"] = headers
    data["template"] = form.get("template") or "raw"
    options, problem = template_options(form)
    if problem:
        state.add_error("template_options", problem)
    else:
        data["template_options"] = options
    if any(name == "fallback" for name, _ in form.pairs):  # absent: left as saved
        data["fallback"] = form.get("fallback") or None
    rules = form.get("redaction_rules").strip()
    try:
        data["redaction_rules"] = json.loads(rules) if rules else []
    except json.JSONDecodeError as exc:
        state.add_error("redaction_rules", f"is not valid JSON (line {exc.lineno}, column "
                                           f"{exc.colno}: {exc.msg})")
    return data, state


def template_options(form: Form) -> tuple[dict[str, Any], str | None]:
    """The template options box: a JSON object, or empty for none; else what is wrong."""
    text = form.get("template_options").strip()
    if not text:
        return {}, None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return {}, f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    if not isinstance(value, dict):
        return {}, "must be a JSON object, e.g. {\"project_key\": \"SEC\"}"
    return value, None


# ----------------------------------------------------------------------------------- triggers

def trigger_values(trigger: Trigger | None, filter_text: str = "") -> dict[str, Any]:
    if trigger is None:
        return {"name": "", "filter": filter_text, "channels": [], "frequency": "realtime",
                "threat_level": "", "timezone": "UTC", "enabled": True,
                "throttle_group_by": "", "throttle_period": ""}
    throttle = trigger.throttle
    return {
        "name": trigger.name, "filter": trigger.filter, "channels": list(trigger.channels),
        "frequency": trigger.frequency, "threat_level": trigger.threat_level or "",
        "timezone": trigger.timezone, "enabled": trigger.enabled,
        "throttle_group_by": ", ".join(throttle.group_by) if throttle else "",
        "throttle_period": throttle.period if throttle else "",
    }


def read_trigger(form: Form) -> tuple[dict[str, Any], FormState]:
    """The API fields of a trigger form. The throttle is two inputs: the group-by fields
    (comma-separated) and the period; both empty means no throttle."""
    values: dict[str, Any] = {
        "name": form.get("name"), "filter": form.get("filter"),
        "channels": form.getlist("channels"), "frequency": form.get("frequency") or "realtime",
        "threat_level": form.get("threat_level"), "timezone": form.get("timezone") or "UTC",
        "enabled": form.get("enabled") == "on",
        "throttle_group_by": form.get("throttle_group_by"),
        "throttle_period": form.get("throttle_period"),
    }
    state = FormState(values=values)
    group_by = [f.strip() for f in values["throttle_group_by"].split(",") if f.strip()]
    period = values["throttle_period"].strip()
    throttle = {"group_by": group_by, "period": period} if group_by or period else None
    if throttle is not None and not period:
        state.add_error("throttle", "give a period (e.g. 10m), or clear the group-by fields "
                                    "for no throttle")
    elif throttle is not None and not group_by:
        state.add_error("throttle", "name the fields to group by (e.g. PolicyName, HostName), "
                                    "or clear the period for no throttle")
    data = {k: v for k, v in values.items() if not k.startswith("throttle_")}
    data.update(threat_level=values["threat_level"] or None,
                timezone=values["timezone"].strip(), throttle=throttle)
    error = filter_error(values["filter"])
    if error is not None:
        state.add_error("filter", str(error))
    return data, state


def filter_error(text: str) -> FilterError | None:
    if not text.strip():
        return None
    try:
        parse(text)
    except FilterError as exc:
        return exc
    return None
