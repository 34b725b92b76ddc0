"""Redaction (SPEC §8): the default rules, the deployment's rules (edited as rows), and what
they make of a sample alert before anything is saved."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from markupsafe import Markup, escape
from pydantic import ValidationError

from alertwire.api.deps import Services, ServicesDep
from alertwire.console.forms import FormState
from alertwire.console.pages import ConsoleRoute, redirect, render
from alertwire.console.session import ChangeForm, Form, ViewerDep
from alertwire.domain.redaction import (
    REDACTED,
    Finding,
    RedactionRule,
    default_rules,
    redactor_for,
)
from alertwire.domain.samples import falco_alert_with_secrets
from alertwire.errors import NotFound
from alertwire.store.paging import every

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
BLANK_ROWS = 3


def _rows(rules: list[dict[str, str]]) -> list[dict[str, str]]:
    return rules + [{"name": "", "field": "", "pattern": ""}] * BLANK_ROWS


def read_rules(form: Form, state: FormState) -> list[RedactionRule] | None:
    """The rows of the form as rules (blank rows skipped); None if one is invalid, with
    the error shown at its row."""
    rows = [(n, f, p) for n, f, p in zip(form.getlist("rule_name"), form.getlist("rule_field"),
                                         form.getlist("rule_pattern"), strict=False)
            if n.strip() or f.strip() or p]
    state.values["rules"] = [{"name": n, "field": f, "pattern": p} for n, f, p in rows]
    rules: list[RedactionRule] = []
    for index, (name, field, pattern) in enumerate(rows):
        try:
            rules.append(RedactionRule(name=name.strip() or None, field=field.strip() or None,
                                       pattern=pattern or None))
        except ValidationError as exc:
            message = exc.errors()[0]["msg"].removeprefix("Value error, ")
            state.add_error(f"rule-{index}", f"Rule {index + 1}: {message}")
    return None if state.errors else rules


def _highlighted(value: Any) -> Markup:
    text = escape(json.dumps(value, indent=2, ensure_ascii=False))
    return Markup(str(text).replace(REDACTED, f'<mark class="redacted">{REDACTED}</mark>'))


async def _page(request: Request, services: Services, state: FormState, *,
                preview: tuple[Any, list[Finding]] | None = None,
                status_code: int = 200) -> Response:
    integrations = await every(services.store.integrations.page)
    return render(
        request, "redaction.html", status_code=status_code, state=state,
        rows=_rows(state.values["rules"]), defaults=default_rules(), integrations=integrations,
        preview=None if preview is None else {
            "alert": _highlighted(preview[0]), "findings": preview[1]},
    )


@router.get("/redaction")
async def redaction_page(request: Request, services: ServicesDep, viewer: ViewerDep,
                         integration: str = "") -> Response:
    rules = [{"name": r.name or "", "field": r.field or "", "pattern": r.pattern or ""}
             for r in await services.store.redaction.rules()]
    state = FormState(values={"rules": rules, "integration": integration,
                              "alert": json.dumps(falco_alert_with_secrets(), indent=2)})
    return await _page(request, services, state)


@router.post("/redaction")
async def redaction_action(request: Request, services: ServicesDep, form: ChangeForm) -> Response:
    """`action=preview` shows what the rules in the form do to the alert in the form;
    `action=save` makes them the deployment's rules."""
    state = FormState(values={"integration": form.get("integration"), "alert": form.get("alert")})
    rules = read_rules(form, state)
    if rules is None:
        return await _page(request, services, state, status_code=422)
    if form.get("action") == "save":
        await services.store.redaction.replace(rules)
        return redirect(request, "/redaction",
                        f"Redaction rules saved: {len(rules)} rule{'' if len(rules) == 1 else 's'} "
                        "beside the defaults, applied to everything sent from now on.")
    try:
        alert = json.loads(form.get("alert") or "null")
    except ValueError as exc:
        state.add_error("alert", f"The sample alert is not JSON: {exc}")
        return await _page(request, services, state, status_code=422)
    own: tuple[RedactionRule, ...] = ()
    if state.values["integration"]:
        try:
            own = tuple((await services.store.integrations.get(
                state.values["integration"])).redaction_rules)
        except NotFound:
            state.add_error("integration", "That integration no longer exists.")
            return await _page(request, services, state, status_code=422)
    return await _page(request, services, state,
                       preview=redactor_for((*rules, *own)).findings(alert))
