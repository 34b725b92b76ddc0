"""Triggers: Create Trigger (from the alert filter), Test Filter, list, enable/disable, edit,
delete (SPEC §4)."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from alertwire.api.deps import Services, ServicesDep
from alertwire.console.alerts import integration_names
from alertwire.console.forms import (
    FormState,
    filter_error,
    read_trigger,
    sentence,
    trigger_values,
    validate,
)
from alertwire.console.pages import ConsoleRoute, format_time, redirect, render
from alertwire.console.session import ChangeForm, PostedForm, ViewerDep
from alertwire.console.views import COLUMNS, alert_cells, caret_line
from alertwire.domain.filters import FilterError
from alertwire.domain.triggers import Matcher, TriggerSpec
from alertwire.errors import AlertwireError
from alertwire.store import Trigger

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
FREQUENCIES = (("realtime", "As it happens"), ("daily", "Daily digest"),
               ("weekly", "Weekly digest"), ("monthly", "Monthly digest"))
THREAT_LEVELS = (("", "Any"), ("high", "High (Severity 7–10)"),
                 ("medium", "Medium (Severity 4–6)"), ("low", "Low (Severity 1–3)"))
# Suggestions for the time zone input; the server validates whatever is typed.
TIMEZONES = sorted(available_timezones())


async def _form_page(request: Request, services: Services, trigger: Trigger | None,
                     state: FormState, status_code: int = 200) -> Response:
    integrations, _ = await services.store.integrations.page(limit=500)
    error = filter_error(state.values["filter"])
    return render(
        request, "trigger_form.html", status_code=status_code, trigger=trigger, state=state,
        integrations=integrations, frequencies=FREQUENCIES, threat_levels=THREAT_LEVELS,
        timezones=TIMEZONES,
        caret=caret_line(state.values["filter"], error.position) if error else None,
    )


@router.get("/triggers")
async def triggers_page(request: Request, services: ServicesDep, viewer: ViewerDep,
                        cursor: str | None = None) -> Response:
    items, next_cursor = await services.store.triggers.page(limit=100, cursor=cursor)
    return render(request, "triggers.html", triggers=items,
                  integrations=await integration_names(services),
                  frequencies=dict(FREQUENCIES), next_cursor=next_cursor,
                  paged=cursor is not None)


@router.get("/triggers/new")
async def new_trigger_page(
    request: Request, services: ServicesDep, viewer: ViewerDep,
    filter: Annotated[str, Query(max_length=4096)] = "",
) -> Response:
    return await _form_page(request, services, None,
                            FormState(values=trigger_values(None, filter.strip())))


@router.post("/triggers/new")
async def create_trigger(request: Request, services: ServicesDep, form: ChangeForm) -> Response:
    data, state = read_trigger(form)
    spec = validate(TriggerSpec, data, state)
    if spec is not None:
        try:
            created = await services.store.triggers.create(spec)
        except AlertwireError as exc:
            state.add_error(exc.field or "", exc.message)
    if spec is None or state.errors:
        return await _form_page(request, services, None, state, 422)
    return redirect(request, "/triggers", f"Created trigger {created.name}.")


@router.post("/triggers/test-filter")
async def test_filter(services: ServicesDep, form: PostedForm) -> Response:
    """Test Filter: how many stored alerts match, and the newest of them."""
    text = form.get("filter")
    level = form.get("threat_level") or None
    if level not in (None, "high", "medium", "low"):
        return JSONResponse({"error": "threat level must be high, medium or low"}, 422)
    try:
        matcher = Matcher.compile(text, level)
    except FilterError as exc:
        before, at, after = caret_line(text, exc.position)
        return JSONResponse({"error": sentence(str(exc)), "position": exc.position,
                             "expected": exc.expected, "before": before, "at": at,
                             "after": after}, status_code=422)
    matched, total, sample = await services.store.alerts.count_matching(matcher)
    return JSONResponse({
        "matched": matched, "total": total, "columns": [title for title, _ in COLUMNS],
        "sample": [{"id": a.id, "received_at": format_time(a.received_at),
                    "cells": [c.text for c in alert_cells(a.parsed())]} for a in sample],
    })


@router.get("/triggers/{trigger_id}")
async def trigger_page(request: Request, services: ServicesDep, viewer: ViewerDep,
                       trigger_id: str) -> Response:
    trigger = await services.store.triggers.get(trigger_id)
    return await _form_page(request, services, trigger, FormState(values=trigger_values(trigger)))


@router.post("/triggers/{trigger_id}")
async def save_trigger(request: Request, services: ServicesDep, form: ChangeForm,
                       trigger_id: str) -> Response:
    trigger = await services.store.triggers.get(trigger_id)
    data, state = read_trigger(form)
    spec = validate(TriggerSpec, trigger.fields() | data, state)
    if spec is not None:
        try:
            saved = await services.store.triggers.update(trigger_id, spec)
        except AlertwireError as exc:
            state.add_error(exc.field or "", exc.message)
    if spec is None or state.errors:
        return await _form_page(request, services, trigger, state, 422)
    return redirect(request, "/triggers", f"Saved trigger {saved.name}.")


async def _set_enabled(request: Request, services: Services, trigger_id: str,
                       enabled: bool) -> Response:
    trigger = await services.store.triggers.get(trigger_id)
    fields: dict[str, Any] = trigger.fields() | {"enabled": enabled}
    try:
        await services.store.triggers.update(trigger_id, TriggerSpec.model_validate(fields))
    except ValueError as exc:  # e.g. its only channel was deleted: edit it first
        return redirect(request, f"/triggers/{trigger_id}",
                        f"Cannot change {trigger.name} as it is: {exc}. Edit it below.")
    verb = "Enabled" if enabled else "Disabled"
    return redirect(request, "/triggers", f"{verb} trigger {trigger.name}.")


@router.post("/triggers/{trigger_id}/enable")
async def enable_trigger(request: Request, services: ServicesDep, form: ChangeForm,
                         trigger_id: str) -> Response:
    return await _set_enabled(request, services, trigger_id, True)


@router.post("/triggers/{trigger_id}/disable")
async def disable_trigger(request: Request, services: ServicesDep, form: ChangeForm,
                          trigger_id: str) -> Response:
    return await _set_enabled(request, services, trigger_id, False)


@router.get("/triggers/{trigger_id}/delete")
async def confirm_delete(request: Request, services: ServicesDep, viewer: ViewerDep,
                         trigger_id: str) -> Response:
    trigger = await services.store.triggers.get(trigger_id)
    return render(request, "confirm_delete.html", title="Delete trigger", thing=trigger.name,
                  cancel="/triggers", action=f"/triggers/{trigger_id}/delete",
                  button="Delete trigger",
                  consequences=["Alerts matching it are no longer delivered through it; "
                                "deliveries already made stay in the log."])


@router.post("/triggers/{trigger_id}/delete")
async def delete_trigger(request: Request, services: ServicesDep, form: ChangeForm,
                         trigger_id: str) -> Response:
    trigger = await services.store.triggers.get(trigger_id)
    await services.store.triggers.delete(trigger_id)
    return redirect(request, "/triggers", f"Deleted trigger {trigger.name}.")
