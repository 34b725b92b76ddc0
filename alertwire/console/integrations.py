"""Settings → Integrations: the list, Add webhook, Test Connection, Connect, edit, Delete
Channel and the signing secret (SPEC §2).

Test Connection on a form not saved yet answers a sealed *test ticket* along with the result:
the configuration's fingerprint and the result. Saving the form with it records that test
for the saved integration, so Connect does not send the test payload a second time; a
ticket only counts for the exact configuration it tested.
"""

from __future__ import annotations

import hmac
import json
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from alertwire.api.deps import Services, ServicesDep
from alertwire.api.integrations import check_target, connect_integration, secret_out, test_and_record
from alertwire.console.forms import (
    FormState,
    field_errors,
    integration_values,
    read_integration,
    template_options,
    validate,
)
from alertwire.console.pages import ConsoleRoute, redirect, render
from alertwire.console.session import ChangeForm, Form, ViewerDep, sealer
from alertwire.delivery.connection_test import run_connection_test
from alertwire.domain.integrations import (
    IntegrationConfig,
    IntegrationCreate,
    TemplatePreview,
    UnsavedTest,
    hide_secrets,
    mask_headers,
    unmask_headers,
    unmask_template_options,
)
from alertwire.domain.signing import generate_secret
from alertwire.domain.templates import TemplateRenderError, describe, preview
from alertwire.errors import AlertwireError, Conflict
from alertwire.store import Integration
from alertwire.store.paging import every

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
PAGE_SIZE = 50
STATUSES = ("draft", "active", "disabled")
TICKET_MAX_AGE = 3600.0


def _template_choices() -> list[dict[str, Any]]:
    """Each destination template with its options (from their JSON Schema) and a starting
    point for the options box: the required ones, with their defaults where they have one."""
    choices = []
    for described in describe():
        schema = described["options_schema"]
        required = schema.get("required", [])
        options = [{"name": name, "required": name in required,
                    "about": spec.get("description") or spec.get("title", "")}
                   for name, spec in schema.get("properties", {}).items()]
        skeleton = {name: schema["properties"][name].get("default", "") for name in required}
        choices.append(described | {"options": options,
                                    "skeleton": json.dumps(skeleton, indent=2) if skeleton else ""})
    return choices


TEMPLATE_CHOICES = _template_choices()


def _config_of(spec: IntegrationConfig) -> IntegrationConfig:
    return IntegrationConfig.model_validate(
        spec.model_dump(include=set(IntegrationConfig.model_fields)))


def _fingerprint(services: Services, config: IntegrationConfig) -> str:
    return services.store.integrations.fingerprint(_config_of(config))


def _ticket(request: Request, fingerprint: str, integration_id: str | None,
            result: dict[str, Any]) -> str:
    return sealer(request).seal("test", {
        "fingerprint": fingerprint, "integration_id": integration_id, "result": result,
        "at": time.time(),
    })


def _ticket_result(request: Request, ticket: str, fingerprint: str,
                   integration_id: str | None) -> dict[str, Any] | None:
    """The successful test result a ticket vouches for, if it is for this configuration."""
    content = sealer(request).unseal("test", ticket) if ticket else None
    if content is None or time.time() - float(content.get("at", 0)) > TICKET_MAX_AGE:
        return None
    if content.get("integration_id") != integration_id:
        return None
    if not hmac.compare_digest(str(content.get("fingerprint")), fingerprint):
        return None
    result = content.get("result")
    return result if isinstance(result, dict) and result.get("ok") is True else None


async def _test_state(services: Services, integration: Integration) -> dict[str, Any]:
    """The latest test, whether it is of the configuration as saved, and whether Connect may go."""
    store = services.store.integrations
    last = await store.latest_test(integration.id)
    current = last is not None and last.config_fingerprint == store.fingerprint(integration.config())
    return {"last_test": last, "last_test_current": current,
            "connectable": current and last is not None and last.ok}


async def _edit_page(request: Request, services: Services, integration: Integration,
                     state: FormState | None = None, status_code: int = 200,
                     ticket: str = "") -> Response:
    store = services.store.integrations
    if state is None:
        state = FormState(values=integration_values(integration, mask_headers(integration.headers)))
    return render(
        request, "integration_form.html", status_code=status_code, integration=integration,
        state=state, ticket=ticket, templates=TEMPLATE_CHOICES,
        fallbacks=await _fallback_choices(services, integration.id),
        used_by=await store.triggers_using(integration.id),
        recent=(await services.store.deliveries.page(integration_id=integration.id, limit=5))[0],
        paused_until=integration.circuit_open_until
        if (integration.circuit_open_until or 0) > time.time() else None,
        **await _test_state(services, integration),
    )


async def _new_page(request: Request, services: Services, state: FormState,
                    status_code: int = 200, ticket: str = "") -> Response:
    return render(request, "integration_form.html", status_code=status_code, integration=None,
                  state=state, ticket=ticket, templates=TEMPLATE_CHOICES, used_by=[], recent=[],
                  fallbacks=await _fallback_choices(services, None), last_test=None,
                  last_test_current=False, connectable=False, paused_until=None)


async def _fallback_choices(services: Services, own_id: str | None) -> list[tuple[str, str]]:
    """(id, name) of the integrations this one may fall back to (not itself)."""
    return [(i.id, i.name) for i in await every(services.store.integrations.page)
            if i.id != own_id]


@router.get("/integrations")
async def integrations_page(
    request: Request, services: ServicesDep, viewer: ViewerDep,
    search: Annotated[str, Query(max_length=200)] = "", status: str = "",
    cursor: str | None = None,
) -> Response:
    store = services.store.integrations
    items, next_cursor = await store.page(
        search=search.strip() or None, status=status if status in STATUSES else None,
        limit=PAGE_SIZE, cursor=cursor)
    tests = await store.latest_tests([i.id for i in items])
    rows = [
        {"integration": i, "test": tests.get(i.id),
         "current": i.id in tests
         and tests[i.id].config_fingerprint == store.fingerprint(i.config())}
        for i in items
    ]
    return render(request, "integrations.html", rows=rows, search=search, status=status,
                  statuses=STATUSES, next_cursor=next_cursor, paged=cursor is not None)


@router.get("/integrations/new")
async def new_integration_page(request: Request, services: ServicesDep,
                               viewer: ViewerDep) -> Response:
    return await _new_page(request, services, FormState(values=integration_values(None, {})))


@router.post("/integrations/new")
async def create_integration(request: Request, services: ServicesDep, form: ChangeForm) -> Response:
    data, state = read_integration(form)
    ticket = form.get("ticket")
    spec = validate(IntegrationCreate, data, state)
    integration = None
    if spec is not None:
        try:
            check_target(services, spec.url)
            integration = await services.store.integrations.create(spec)
        except AlertwireError as exc:
            state.add_error(exc.field or "", exc.message)
    if integration is None:
        return await _new_page(request, services, state, status_code=422, ticket=ticket)
    await _record_ticket(request, services, integration, ticket, None)
    return await _after_save(request, services, integration, form.get("action"),
                             f"Saved {integration.name} as a draft.")


async def _record_ticket(request: Request, services: Services, integration: Integration,
                         ticket: str, ticket_for: str | None) -> None:
    """Record the test a ticket vouches for as the saved integration's latest test."""
    store = services.store.integrations
    fingerprint = store.fingerprint(integration.config())
    result = _ticket_result(request, ticket, fingerprint, ticket_for)
    if result is not None:
        await store.record_test(integration.id, fingerprint, True, result)


async def _after_save(request: Request, services: Services, integration: Integration,
                      action: str, saved: str) -> Response:
    if action == "connect":
        try:
            integration = await connect_integration(services, integration.id)
            message = f"Connected {integration.name}: matching alerts are delivered to it now."
        except Conflict as exc:
            message = f"{saved} Not connected: {exc.message}."
    else:
        message = saved
    return redirect(request, f"/integrations/{integration.id}", message)


@router.post("/integrations/preview")
async def preview_form(form: ChangeForm) -> JSONResponse:
    """The integration form's live preview: its template and options rendered for the
    sample KubeArmor alert, or what is wrong (with the line, for a custom template)."""
    return _preview(form, None)


@router.post("/integrations/{integration_id}/preview")
async def preview_edited(services: ServicesDep, form: ChangeForm,
                         integration_id: str) -> JSONResponse:
    """The edit form's preview: secret options left masked stand for the saved ones."""
    return _preview(form, await services.store.integrations.get(integration_id))


def _preview(form: Form, saved: Integration | None) -> JSONResponse:
    options, problem = template_options(form)
    if problem:
        return JSONResponse({"ok": False, "error": f"Template options {problem}"}, 422)
    template = form.get("template") or "raw"
    hidden: dict[str, str] = {}
    if saved is not None:
        shown = options
        options = unmask_template_options(template, shown, saved.template,
                                          saved.template_options)
        hidden = {str(options[k]): str(shown[k]) for k in options if options[k] != shown[k]}
    try:
        spec = TemplatePreview(template=template, template_options=options)
        content_type, body = preview(spec.template, spec.template_options)
        body = hide_secrets(body, hidden)
    except ValidationError as exc:
        errors = field_errors(exc)
        return JSONResponse({"ok": False, "errors": errors,
                             "error": "; ".join(f"{k}: {v}" for k, v in errors.items())}, 422)
    except TemplateRenderError as exc:
        return JSONResponse({"ok": False, "error": str(exc), "line": exc.line}, 422)
    return JSONResponse({"ok": True, "content_type": content_type, "body": body})


@router.post("/integrations/test")
async def test_new(request: Request, services: ServicesDep, form: ChangeForm) -> Response:
    """Test Connection for the Add webhook form (signed with a throwaway secret)."""
    data, state = read_integration(form)
    config = validate(UnsavedTest, data, state)
    if config is None:
        return JSONResponse({"ok": False, "errors": state.errors}, status_code=422)
    redactor = await services.store.redaction.redactor(config.redaction_rules)
    result = await run_connection_test(services.http, config, secrets=[generate_secret()],
                                       timeout=services.settings.delivery_timeout,
                                       redactor=redactor)
    ticket = _ticket(request, _fingerprint(services, config), None, result) if result["ok"] else ""
    return JSONResponse({**result, "ticket": ticket, "recorded": False})


@router.get("/integrations/{integration_id}")
async def integration_page(request: Request, services: ServicesDep, viewer: ViewerDep,
                           integration_id: str) -> Response:
    return await _edit_page(request, services, await services.store.integrations.get(integration_id))


def _edited(form_data: dict[str, Any], integration: Integration) -> dict[str, Any]:
    """The form's fields over the saved ones (limits are not on the form), with
    masked header values and secret template options the user left alone replaced by the
    stored secrets."""
    data = integration.fields() | form_data
    data["headers"] = unmask_headers(form_data["headers"], integration.headers)
    if "template_options" in form_data:
        data["template_options"] = unmask_template_options(
            form_data["template"], form_data["template_options"], integration.template,
            integration.template_options)
    return data


@router.post("/integrations/{integration_id}/test")
async def test_edited(request: Request, services: ServicesDep, form: ChangeForm,
                      integration_id: str) -> Response:
    """Test Connection for the edit form. Unchanged, it is the saved integration's test and is
    recorded; changed, it answers a ticket that saving the form records."""
    integration = await services.store.integrations.get(integration_id)
    form_data, state = read_integration(form)
    config = validate(UnsavedTest, _edited(form_data, integration), state)
    if config is None:
        return JSONResponse({"ok": False, "errors": state.errors}, status_code=422)
    fingerprint = _fingerprint(services, config)
    if fingerprint == services.store.integrations.fingerprint(integration.config()):
        record = await test_and_record(services, integration)
        return JSONResponse({**record.result, "ticket": "", "recorded": True})
    result = await run_connection_test(
        services.http, config, secrets=integration.signing_secrets(time.time()),
        timeout=services.settings.delivery_timeout,
        redactor=await services.store.redaction.redactor(config.redaction_rules))
    ticket = _ticket(request, fingerprint, integration.id, result) if result["ok"] else ""
    return JSONResponse({**result, "ticket": ticket, "recorded": False})


@router.post("/integrations/{integration_id}")
async def save_integration(request: Request, services: ServicesDep, form: ChangeForm,
                           integration_id: str) -> Response:
    store = services.store.integrations
    integration = await store.get(integration_id)
    form_data, state = read_integration(form)
    ticket = form.get("ticket")
    spec = validate(IntegrationCreate, _edited(form_data, integration), state)
    if spec is not None:
        fingerprint = _fingerprint(services, spec)
        changed = fingerprint != store.fingerprint(integration.config())
        vouched = _ticket_result(request, ticket, fingerprint, integration.id) is not None
        if integration.status == "active" and changed and not vouched:
            state.add_error("", "This integration is active: run Test Connection with the "
                                "changed configuration before saving it.")
    if spec is not None and not state.errors:
        try:
            check_target(services, spec.url)
            updated = await store.update(integration_id, spec)
        except AlertwireError as exc:
            state.add_error(exc.field or "", exc.message)
    if spec is None or state.errors:
        return await _edit_page(request, services, integration, state, 422, ticket)
    await _record_ticket(request, services, updated, ticket, integration.id)
    return await _after_save(request, services, updated, form.get("action"),
                             f"Saved {updated.name}.")


@router.post("/integrations/{integration_id}/disable")
async def disable_integration(request: Request, services: ServicesDep, form: ChangeForm,
                              integration_id: str) -> Response:
    disabled = await services.store.integrations.set_status(integration_id, "disabled",
                                                            "disabled by a user")
    return redirect(request, f"/integrations/{integration_id}",
                    f"Disabled {disabled.name}: it receives no alerts until connected again.")


@router.post("/integrations/{integration_id}/secret")
async def show_secret(services: ServicesDep, form: ChangeForm, integration_id: str) -> Response:
    """The signing secret, on demand (a POST: it is never in a page's HTML or a URL)."""
    found = secret_out(await services.store.integrations.get(integration_id))
    return JSONResponse(found.model_dump())


@router.post("/integrations/{integration_id}/secret/rotate")
async def rotate_secret(request: Request, services: ServicesDep, form: ChangeForm,
                        integration_id: str) -> Response:
    await services.store.integrations.rotate_secret(integration_id)
    return redirect(request, f"/integrations/{integration_id}",
                    "New signing secret; the previous one keeps signing for 24 hours.")


@router.get("/integrations/{integration_id}/delete")
async def confirm_delete(request: Request, services: ServicesDep, viewer: ViewerDep,
                         integration_id: str) -> Response:
    store = services.store.integrations
    integration = await store.get(integration_id)
    used_by = await store.triggers_using(integration_id)
    return render(request, "confirm_delete.html", title="Delete Channel",
                  thing=integration.name, cancel=f"/integrations/{integration_id}",
                  action=f"/integrations/{integration_id}/delete", button="Delete Channel",
                  consequences=[
                      "Deliveries to it stop, and its delivery log is deleted with it.",
                      *([f"Triggers using it lose this channel: {', '.join(n for _, n in used_by)}."]
                        if used_by else []),
                  ])


@router.post("/integrations/{integration_id}/delete")
async def delete_integration(request: Request, services: ServicesDep, form: ChangeForm,
                             integration_id: str) -> Response:
    store = services.store.integrations
    integration = await store.get(integration_id)
    await store.delete(integration_id, force=True)
    return redirect(request, "/integrations", f"Deleted channel {integration.name}.")
